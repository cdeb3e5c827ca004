"""Drives an interactive session with the real Python `livy` client (acroz/pylivy):
create, run code, keep state, push a DataFrame in and read it back, as notebooks do.

Usage: pylivy_session.py URL
"""
import sys

import pandas

from livy import LivySession, SessionKind
from livy.models import SessionState, SparkRuntimeError

url = sys.argv[1]

with LivySession.create(url, kind=SessionKind.PYSPARK, spark_conf={"spark.ui.enabled": "false"}, echo=False) as session:
    assert session.state == SessionState.IDLE, session.state
    session.run("x = 6 * 7")
    out = session.run("print(x)")
    assert out.text == "42", out
    frame = pandas.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    session.upload("df", frame)
    back = session.download("df")
    assert back.sort_values("a").reset_index(drop=True).equals(frame), back
    session.run("doubled = df.selectExpr('a * 2 AS a2')")
    assert list(session.download("doubled")["a2"]) == [2, 4, 6]
    try:
        session.run("1/0")
        raise AssertionError("an error output did not raise")
    except SparkRuntimeError as e:
        assert e.ename == "ZeroDivisionError", e

print("pylivy session: ok")
