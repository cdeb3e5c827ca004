"""The real Python `livy` client (acroz/pylivy) against a sparkgate with --auth basic: wrong
credentials raise a 401, a batch and an interactive session run with a requests auth object
(the session's driver reaches the gateway by its own channel, without the user's password).

Usage: pylivy_auth.py URL USER PASSWORD PI_PY
"""
import sys

import requests
from requests.auth import HTTPBasicAuth

from livy import LivyBatch, LivySession, SessionKind
from livy.models import SessionState

url, user, password, pi = sys.argv[1:5]
good = HTTPBasicAuth(user, password)

try:
    LivyBatch.create(url, file=pi, auth=HTTPBasicAuth(user, password + "x"))
    raise AssertionError("a wrong password created a batch")
except requests.HTTPError as e:
    assert e.response.status_code == 401, e.response.status_code
    assert e.response.headers["WWW-Authenticate"].startswith("Basic "), e.response.headers

batch = LivyBatch.create(url, file=pi, args=["2"], auth=good)
batch.wait()
assert batch.state.name == "SUCCESS", batch.state
assert any("Pi is roughly" in line for line in batch.log()), "no result in the batch's log"

with LivySession.create(url, kind=SessionKind.PYSPARK, spark_conf={"spark.ui.enabled": "false"}, echo=False, auth=good) as session:
    assert session.state == SessionState.IDLE, session.state
    out = session.run("print(6 * 7)")
    assert out.text == "42", out

print("pylivy with basic auth: ok")
