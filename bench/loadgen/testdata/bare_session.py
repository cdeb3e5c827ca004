"""The reference for an interactive session's start: the same SparkSession, made by hand."""
from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
print("bare-session: ready", flush=True)
spark.stop()
