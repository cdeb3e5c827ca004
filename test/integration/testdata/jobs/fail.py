"""A job that raises: its batch must end dead, never success."""
from pyspark.sql import SparkSession

spark = SparkSession.builder.appName("fail").getOrCreate()
spark.sparkContext.parallelize([1, 2, 3]).count()
raise RuntimeError("this job fails on purpose")
