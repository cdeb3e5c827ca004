"""The real Python Kerberos clients against a sparkgate with --auth kerberos, each requiring
mutual authentication (the server must prove it holds the service key with an AP-REP):
requests-kerberos and requests-gssapi on GET /sessions, the Python livy client on a batch, and
sparkmagic's own Kerberos auth and Livy client on an interactive session that runs a statement.

Run with KRB5_CONFIG and KRB5CCNAME of a user who ran kinit.
Usage: kerberos_clients.py URL PI_PY USER
"""
import json
import sys
import time

import requests
import requests_gssapi
import requests_kerberos

from livy import LivyBatch

url, pi, user = sys.argv[1:4]

# requests-kerberos, as sparkmagic configures it: mutual authentication REQUIRED
r = requests.get(url + "/sessions", auth=requests_kerberos.HTTPKerberosAuth(mutual_authentication=requests_kerberos.REQUIRED))
assert r.status_code == 200, (r.status_code, r.text)

# requests-gssapi, REQUIRED as well
r = requests.get(url + "/sessions", auth=requests_gssapi.HTTPSPNEGOAuth(mutual_authentication=requests_gssapi.REQUIRED))
assert r.status_code == 200, (r.status_code, r.text)

# without a ticket for the right service, no way in
r = requests.get(url + "/sessions")
assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Negotiate", (r.status_code, r.headers)

batch = LivyBatch.create(url, file=pi, args=["2"], auth=requests_kerberos.HTTPKerberosAuth(mutual_authentication=requests_kerberos.REQUIRED))
batch.wait()
assert batch.state.name == "SUCCESS", batch.state

# sparkmagic: its Kerberos auth class and the HTTP client its kernels use
from sparkmagic.auth.kerberos import Kerberos
from sparkmagic.livyclientlib.endpoint import Endpoint
from sparkmagic.livyclientlib.livyreliablehttpclient import LivyReliableHttpClient

auth = Kerberos()
assert auth.mutual_authentication == requests_kerberos.REQUIRED, auth.mutual_authentication
client = LivyReliableHttpClient.from_endpoint(Endpoint(url, auth))
session = client.post_session({"kind": "pyspark", "conf": {"spark.ui.enabled": "false"}})
sid = session["id"]
assert session["owner"] == user, session
for _ in range(240):
    state = client.get_session(sid)["state"]
    if state not in ("not_started", "starting"):
        break
    time.sleep(1)
assert state == "idle", state
statement = client.post_statement(sid, {"code": "print(6 * 7)"})
for _ in range(120):
    statement = client.get_statement(sid, statement["id"])
    if statement["state"] == "available":
        break
    time.sleep(0.5)
assert statement["output"]["data"]["text/plain"].strip() == "42", json.dumps(statement)
client.delete_session(sid)
print("kerberos clients: ok")
