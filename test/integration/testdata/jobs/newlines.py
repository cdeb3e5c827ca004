"""Prints N empty lines: the most lines a log of N bytes can hold.

Usage: newlines.py N
"""
import sys

from pyspark.sql import SparkSession

spark = SparkSession.builder.appName("newlines").getOrCreate()
n = int(sys.argv[1])
for _ in range(n // (1 << 20)):
    sys.stdout.write("\n" * (1 << 20))
sys.stdout.write("\n" * (n % (1 << 20)))
sys.stdout.flush()
spark.stop()
