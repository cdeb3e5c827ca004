"""Drives sparkgate with the real Python `livy` client (acroz/pylivy), as its users would.

Usage: pylivy_batch.py URL PI_FILE
Exits non-zero, with a message, on the first contract violation.
"""
import sys

from livy import LivyBatch
from livy.client import LivyClient
from livy.models import SessionState, Version

url, pi = sys.argv[1], sys.argv[2]

client = LivyClient(url)
try:
    version = client.server_version()
    assert version == Version("0.9.0"), version
    assert not client.legacy_server(), "a 0.9 server must not read as legacy"

    batch = LivyBatch.create(url, file=pi, args=["2"], name="pylivy-pi", spark_conf={"spark.ui.enabled": "false"})
    batch.wait()
    assert batch.state == SessionState.SUCCESS, batch.state
    log = batch.log()
    assert any("Pi is roughly" in line for line in log), log[-20:]

    assert any(b.batch_id == batch.batch_id for b in client.list_batches())
    got = client.get_batch(batch.batch_id)
    assert got.state == SessionState.SUCCESS and got.app_id is None and len(got.log) == 10, got
    page = client.get_batch_log(batch.batch_id, from_=0, size=5)
    assert page.from_ == 0 and len(page.lines) == 5 and page.total >= len(log), page
    tail = client.get_batch_log(batch.batch_id)
    assert tail.lines[-1] == log[-1], (tail.lines[-1:], log[-1:])
    assert client.get_batch(12345) is None, "an unknown batch must read as None (404)"
    client.delete_batch(batch.batch_id)
    assert client.get_batch(batch.batch_id) is None, "a deleted batch must be gone"
finally:
    client.close()

print("pylivy: ok")
