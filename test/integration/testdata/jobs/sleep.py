"""Stands for a job that runs a while (the stub spark-submit sleeps for it)."""
import time
time.sleep(30)
