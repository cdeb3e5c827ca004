"""Prints who the driver acts as for Hadoop: the user, how it authenticated, and whom it
impersonates ("alice (auth:PROXY) via sparkgate/host@REALM (auth:KERBEROS)")."""
from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
ugi = spark.sparkContext._jvm.org.apache.hadoop.security.UserGroupInformation.getCurrentUser()
print("hadoop user: %s" % ugi.toString())
spark.stop()
