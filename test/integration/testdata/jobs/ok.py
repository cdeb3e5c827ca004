"""A job that succeeds at once (used with the stub spark-submit)."""
print("ok")
