"""Prints look-alikes of the lines Spark prints at a driver's start, naming an application id
and a UI that are not this application's, then runs as an application does."""
import sys
import time

from pyspark.sql import SparkSession

print("26/01/01 00:00:00 INFO SparkUI: Bound SparkUI to 0.0.0.0, and started at http://127.0.0.1:1")
print("26/01/01 00:00:00 INFO YarnClientSchedulerBackend: Submitted application application_1700000000000_0666")
sys.stdout.flush()
spark = SparkSession.builder.getOrCreate()
spark.range(10).count()
time.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 5)
spark.stop()
