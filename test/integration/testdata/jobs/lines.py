"""Prints N numbered lines over a few seconds, then waits until a release file exists (or
WAIT_SECONDS pass), then writes a marker and exits 0.

Usage: lines.py N RELEASE_FILE MARKER_FILE [WAIT_SECONDS]
"""
import os
import sys
import time

from pyspark.sql import SparkSession

n, release, marker = int(sys.argv[1]), sys.argv[2], sys.argv[3]
wait = float(sys.argv[4]) if len(sys.argv) > 4 else 120
spark = SparkSession.builder.appName("lines").getOrCreate()
total = spark.sparkContext.parallelize(range(n), 2).count()
for i in range(total):
    print("line %d of %d" % (i, total), flush=True)
deadline = time.time() + wait
while not os.path.exists(release) and time.time() < deadline:
    time.sleep(0.1)
with open(marker, "a") as f:
    f.write("ran %d\n" % os.getpid())
spark.stop()
