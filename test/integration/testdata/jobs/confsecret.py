"""Prints the value of a conf key as the application sees it, and how many processes of this
machine carry that value on their command line (ps shows every command line)."""
import glob
import sys

from pyspark.sql import SparkSession

key = sys.argv[1]
spark = SparkSession.builder.getOrCreate()
value = spark.sparkContext.getConf().get(key, "")
seen = 0
for path in glob.glob("/proc/[0-9]*/cmdline"):
    try:
        if value and value.encode() in open(path, "rb").read():
            seen += 1
    except OSError:
        pass
print("conf %s=%s; on %d command lines" % (key, value, seen))
spark.stop()
