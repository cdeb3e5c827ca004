"""Estimates pi with a Monte Carlo sample: the classic first Spark job.

Usage: spark-submit pi.py [partitions]
"""
import random
import sys
from operator import add

from pyspark.sql import SparkSession

if __name__ == "__main__":
    partitions = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    n = 100000 * partitions
    spark = SparkSession.builder.appName("PythonPi").getOrCreate()

    def inside(_):
        x, y = random.random() * 2 - 1, random.random() * 2 - 1
        return 1 if x * x + y * y <= 1 else 0

    count = spark.sparkContext.parallelize(range(n), partitions).map(inside).reduce(add)
    print("Pi is roughly %f" % (4.0 * count / n))
    spark.stop()
