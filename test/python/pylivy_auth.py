"""The real Python `livy` client (acroz/pylivy) against a sparkgate with authentication:
wrong credentials raise a 401 with the scheme's challenge, a batch runs with a requests auth
object, and with --session an interactive session too (its driver reaches the gateway by its
own channel, without the user's credentials).

Usage: pylivy_auth.py URL PI_PY basic USER PASSWORD [--session]
       pylivy_auth.py URL PI_PY bearer TOKEN [--session]
"""
import sys

import requests
from requests.auth import AuthBase, HTTPBasicAuth

from livy import LivyBatch, LivySession, SessionKind
from livy.models import SessionState


class Bearer(AuthBase):
    def __init__(self, token):
        self.token = token

    def __call__(self, r):
        r.headers["Authorization"] = "Bearer " + self.token
        return r


args = [a for a in sys.argv[1:] if a != "--session"]
url, pi, scheme = args[:3]
if scheme == "basic":
    good, wrong, challenge = HTTPBasicAuth(args[3], args[4]), HTTPBasicAuth(args[3], args[4] + "x"), "Basic "
else:
    good, wrong, challenge = Bearer(args[3]), Bearer(args[3][:-2] + "xx"), "Bearer "

try:
    LivyBatch.create(url, file=pi, auth=wrong)
    raise AssertionError("wrong credentials created a batch")
except requests.HTTPError as e:
    assert e.response.status_code == 401, e.response.status_code
    assert e.response.headers["WWW-Authenticate"].startswith(challenge), e.response.headers

batch = LivyBatch.create(url, file=pi, args=["2"], auth=good)
batch.wait()
assert batch.state.name == "SUCCESS", batch.state
assert any("Pi is roughly" in line for line in batch.log()), "no result in the batch's log"

if "--session" in sys.argv:
    with LivySession.create(url, kind=SessionKind.PYSPARK, spark_conf={"spark.ui.enabled": "false"}, echo=False, auth=good) as session:
        assert session.state == SessionState.IDLE, session.state
        out = session.run("print(6 * 7)")
        assert out.text == "42", out

print("pylivy with", scheme, "auth: ok")
