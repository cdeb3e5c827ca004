"""Appends a line to DIR/NAME once its SparkSession is up: each line is one run of the
application, which is what the exactly-once tests count.

Usage: marker.py DIR NAME
"""
import os
import sys

from pyspark.sql import SparkSession

directory, name = sys.argv[1], sys.argv[2]
spark = SparkSession.builder.appName("marker").getOrCreate()
spark.range(10).count()
with open(os.path.join(directory, name), "a") as f:
    f.write("ran %d\n" % os.getpid())
spark.stop()
