"""sparkmagic's Basic_Access auth and the Livy client its kernels use, against a sparkgate
with --auth basic (or ldap): the session list with the right password, a 401 with a wrong one.

Usage: sparkmagic_basic.py URL USER PASSWORD
"""
import sys
from types import SimpleNamespace

from sparkmagic.auth.basic import Basic
from sparkmagic.livyclientlib.endpoint import Endpoint
from sparkmagic.livyclientlib.exceptions import HttpClientException
from sparkmagic.livyclientlib.livyreliablehttpclient import LivyReliableHttpClient

url, user, password = sys.argv[1:4]


def client(password):
    auth = Basic(SimpleNamespace(user=user, password=password, url=url))
    return LivyReliableHttpClient.from_endpoint(Endpoint(url, auth))


sessions = client(password).get_sessions()
assert "sessions" in sessions, sessions
try:
    client(password + "x").get_sessions()
    raise AssertionError("a wrong password listed the sessions")
except HttpClientException as e:
    assert "401" in str(e), e
print("sparkmagic Basic_Access: ok")
