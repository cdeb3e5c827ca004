"""sparkgate's interactive driver: the Spark application of one interactive session.

spark-submit starts it with the session's id, secret and the gateway's URL in its environment.
It creates the SparkSession once, then long-polls the gateway for statements, runs them one at a
time in interpreters that keep their state, and posts the results back. It pulls; the gateway
never dials in. When the gateway is unreachable (restarting, say) it keeps its state and retries,
so the session survives a restart of the server.
"""
import ast
import contextlib
import io
import json
import os
import sys
import time
import traceback
import urllib.error
import urllib.request

URL = os.environ["SPARKGATE_URL"].rstrip("/")
SESSION = os.environ["SPARKGATE_SESSION_ID"]
SECRET = os.environ["SPARKGATE_SECRET"]
POLL_SECONDS = 25


def call(method, path, body=None, timeout=POLL_SECONDS + 10):
    """One request to the gateway; returns (status, decoded JSON or None)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(URL + path, data=data, method=method,
                                 headers={"X-Sparkgate-Secret": SECRET, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        raw = resp.read()
        return resp.status, (json.loads(raw) if raw else None)


def call_until_answered(method, path, body=None):
    """Retries through a restarting gateway; gives up only when the session is gone."""
    wait = 0.2
    while True:
        try:
            return call(method, path, body)
        except urllib.error.HTTPError as e:
            if e.code in (401, 404, 410):
                print("sparkgate driver: the gateway no longer knows this session (%d); exiting" % e.code, file=sys.stderr)
                sys.exit(0)
            if e.code < 500:
                raise
        except (urllib.error.URLError, OSError, TimeoutError):
            pass
        time.sleep(wait)
        wait = min(wait * 2, 5)


def error_output(e):
    """Livy's error output: the user's frames only, not the driver's."""
    frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == "<stdin>"]
    tb = traceback.format_list(frames) + traceback.format_exception_only(type(e), e)
    return {"status": "error", "ename": type(e).__name__, "evalue": str(e), "traceback": tb}


class PythonInterpreter:
    """Runs Python statements in one namespace, answering as Livy's REPL does."""

    def __init__(self, namespace):
        self.ns = namespace

    def run(self, code):
        out = io.StringIO()
        try:
            tree = ast.parse(code, mode="exec")
            last = None
            if tree.body and isinstance(tree.body[-1], ast.Expr):
                last = ast.Expression(tree.body.pop().value)
            with contextlib.redirect_stdout(out):
                exec(compile(tree, "<stdin>", "exec"), self.ns)
                value = eval(compile(last, "<stdin>", "eval"), self.ns) if last is not None else None
            text = out.getvalue() + (repr(value) if value is not None else "")
            return {"status": "ok", "data": {"text/plain": text.rstrip("\n")}}
        except BaseException as e:  # noqa: B902 - a statement may raise anything, SystemExit included
            return error_output(e)


class SQLInterpreter:
    """Runs Spark SQL, answering with Livy's application/json table."""

    def __init__(self, spark):
        self.spark = spark

    def run(self, code):
        try:
            df = self.spark.sql(code)
            rows = [list(r) for r in df.collect()]
            return {"status": "ok", "data": {"application/json": {"schema": df.schema.jsonValue(), "data": rows}}}
        except Exception as e:
            return error_output(e)


def main():
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.getOrCreate()
    sc = spark.sparkContext
    namespace = {"spark": spark, "sc": sc, "__name__": "__main__"}
    try:
        from pyspark.sql import SQLContext

        namespace["sqlContext"] = SQLContext(sc, spark)
    except Exception:  # removed in some Spark versions; spark is the way anyway
        pass
    interpreters = {"pyspark": PythonInterpreter(namespace), "sql": SQLInterpreter(spark)}
    call_until_answered("POST", "/driver/sessions/%s/ready" % SESSION, {"appId": sc.applicationId})

    after = -1
    while True:
        status, stmt = call_until_answered("GET", "/driver/sessions/%s/next?after=%d" % (SESSION, after))
        if status == 204 or stmt is None:
            continue
        interp = interpreters.get(stmt.get("kind") or "pyspark")
        sc.setJobGroup("sparkgate-statement-%d" % stmt["id"], "statement %d" % stmt["id"], interruptOnCancel=True)
        if interp is None:
            output = {"status": "error", "ename": "ValueError", "evalue": "unsupported statement kind %r" % stmt.get("kind"),
                      "traceback": []}
        else:
            output = interp.run(stmt["code"])
        output["execution_count"] = stmt["id"]
        sys.stdout.flush()
        call_until_answered("POST", "/driver/sessions/%s/statements/%d" % (SESSION, stmt["id"]), {"output": output})
        after = stmt["id"]


if __name__ == "__main__":
    main()
