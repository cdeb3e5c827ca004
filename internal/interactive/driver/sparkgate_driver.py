"""sparkgate's interactive driver: the Spark application of one interactive session.

spark-submit starts it with the session's id, secret and the gateway's URL in its environment.
It creates the SparkSession once, then long-polls the gateway for work and posts results back.
It pulls; the gateway never dials in. When the gateway is unreachable (restarting, say) it keeps
its state and retries, so the session survives a restart of the server.

Threads: statements run in the main thread, one at a time, each in its own Spark job group (so
a signal can interrupt blocking Python and SparkContext's SIGINT handler cancels its jobs); a
poller thread keeps polling while a statement runs, to receive cancels and calls (completion,
add-jar...) at once; a progress thread reports the running statement's job progress.
"""
import ast
import base64
import contextlib
import datetime
import decimal
import io
import json
import os
import queue
import rlcompleter
import signal
import sys
import threading
import time
import traceback
import urllib.error
import urllib.request

URL = os.environ["SPARKGATE_URL"].rstrip("/")
SESSION = os.environ["SPARKGATE_SESSION_ID"]
SECRET = os.environ["SPARKGATE_SECRET"]
POLL_SECONDS = 25
CANCEL_GRACE_SECONDS = 2  # after cancelJobGroup, before interrupting the statement's thread


def call(method, path, body=None, timeout=POLL_SECONDS + 10):
    """One request to the gateway; returns (status, decoded JSON or None)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(URL + path, data=data, method=method,
                                 headers={"X-Sparkgate-Secret": SECRET, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        raw = resp.read()
        return resp.status, (json.loads(raw) if raw else None)


def call_until_answered(method, path, body=None):
    """Retries through a restarting gateway; exits only when the session is gone."""
    wait = 0.2
    while True:
        try:
            return call(method, path, body)
        except urllib.error.HTTPError as e:
            if e.code in (401, 403, 404, 410):
                print("sparkgate driver: the gateway no longer knows this session (%d); exiting" % e.code, file=sys.stderr)
                sys.stderr.flush()
                os._exit(0)
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


def ok_output(text, data=None):
    """A success output; text/plain is always there (clients index it)."""
    out = dict(data or {})
    out["text/plain"] = text
    return {"status": "ok", "data": out}


def table_type(value):
    """Livy's %table column type and JSON value of one Python value."""
    if value is None:
        return "NULL_TYPE", None
    if isinstance(value, bool):
        return "BOOLEAN_TYPE", value
    if isinstance(value, int):
        return "INT_TYPE", value
    if isinstance(value, float):
        return "DOUBLE_TYPE", value
    if isinstance(value, datetime.datetime):
        return "TIMESTAMP_TYPE", str(value)
    if isinstance(value, datetime.date):
        return "DATE_TYPE", str(value)
    if isinstance(value, decimal.Decimal):
        return "DECIMAL_TYPE", str(value)
    if isinstance(value, (list, tuple)):
        return "ARRAY_TYPE", [table_type(v)[1] for v in value]
    if isinstance(value, dict):
        return "MAP_TYPE", {str(k): table_type(v)[1] for k, v in value.items()}
    return "STRING_TYPE", str(value)


def table(value):
    """Livy's application/vnd.livy.table.v1+json of a list of rows (Rows, dicts, lists, values)."""
    rows = value if isinstance(value, (list, tuple)) else [value]
    headers, data = {}, []
    for row in rows:
        if hasattr(row, "asDict"):
            row = row.asDict()
        if not isinstance(row, (list, tuple, dict)):
            row = [row]
        cells = sorted(row.items()) if isinstance(row, dict) else list(enumerate(row))
        out = []
        for name, cell in cells:
            kind, cell = table_type(cell)
            header = headers.setdefault(name, {"name": str(name), "type": kind})
            if kind != "NULL_TYPE" and header["type"] != kind:
                if header["type"] != "NULL_TYPE":
                    raise ValueError("table rows have different types")
                header["type"] = kind
            out.append(cell)
        data.append(out)
    ordered = [headers[k] for k in sorted(headers, key=lambda k: (str(type(k)), k))]
    return {"application/vnd.livy.table.v1+json": {"headers": ordered, "data": data}}


def matplot(value):
    """Livy's %matplot: the current figure of a pyplot module (or a figure) as a PNG."""
    fig = value.gcf() if hasattr(value, "gcf") else value
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return {"image/png": base64.b64encode(buf.getvalue()).decode()}


MAGICS = {"table": table, "json": lambda v: {"application/json": v}, "matplot": matplot}


class PythonInterpreter:
    """Runs Python statements in one namespace, answering as Livy's REPL does."""

    def __init__(self, namespace):
        self.ns = namespace

    def run(self, code):
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                value, data = self._execute(code)
            text = out.getvalue() + (repr(value) if value is not None else "")
            return ok_output(text.rstrip(), data)
        except BaseException as e:  # noqa: B902 - a statement may raise anything, SystemExit included
            return error_output(e)

    def _execute(self, code):
        """Runs code: its lines up to a %magic line, then the magic on an expression. Returns
        the last expression's value and the magic's mime data."""
        lines = code.split("\n")
        magic_at = next((i for i, line in enumerate(lines) if line.lstrip().startswith("%")), None)
        body = "\n".join(lines if magic_at is None else lines[:magic_at])
        value = self._exec(body)
        if magic_at is None:
            return value, None
        name, _, expr = lines[magic_at].strip()[1:].partition(" ")
        magic = MAGICS.get(name)
        if magic is None:
            raise ValueError("unknown magic %%%s (sparkgate knows %s)" % (name, ", ".join("%" + m for m in MAGICS)))
        if "\n".join(lines[magic_at + 1:]).strip():
            raise ValueError("%%%s must be the last line of a statement" % name)
        return None, magic(eval(compile(expr.strip() or "None", "<stdin>", "eval"), self.ns))

    def _exec(self, code):
        tree = ast.parse(code, "<stdin>", mode="exec")
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        exec(compile(tree, "<stdin>", "exec"), self.ns)
        return eval(compile(last, "<stdin>", "eval"), self.ns) if last is not None else None

    def complete(self, code, cursor):
        text = code[:cursor]
        start = len(text)
        while start > 0 and (text[start - 1].isalnum() or text[start - 1] in "._"):
            start -= 1
        word = text[start:]
        completer = rlcompleter.Completer(self.ns)
        found, state = [], 0
        while state < 1000:
            c = completer.complete(word, state)
            if c is None:
                break
            found.append(c.rstrip("(").rstrip())
            state += 1
        return sorted(set(found))

    def interrupt(self, main_thread_busy):
        # A signal reaches the main thread even in a blocking call; SparkContext's SIGINT
        # handler cancels its jobs and raises KeyboardInterrupt.
        if main_thread_busy():
            os.kill(os.getpid(), signal.SIGINT)


class SQLInterpreter:
    """Runs Spark SQL, answering with Livy's application/json table."""

    def __init__(self, spark):
        self.spark = spark

    def run(self, code):
        try:
            df = self.spark.sql(code)
            rows = [list(r) for r in df.collect()]
            return ok_output("", {"application/json": {"schema": df.schema.jsonValue(), "data": rows}})
        except BaseException as e:  # noqa: B902
            return error_output(e)

    def complete(self, code, cursor):
        return []

    def interrupt(self, main_thread_busy):
        if main_thread_busy():
            os.kill(os.getpid(), signal.SIGINT)


class Driver:
    def __init__(self, spark):
        self.spark = spark
        self.sc = spark.sparkContext
        namespace = {"spark": spark, "sc": self.sc, "__name__": "__main__"}
        try:
            from pyspark.sql import SQLContext

            namespace["sqlContext"] = SQLContext(self.sc, spark)
        except Exception:  # removed in some Spark versions; spark is the way anyway
            pass
        self.interpreters = {"pyspark": PythonInterpreter(namespace), "sql": SQLInterpreter(spark)}
        self.statements = queue.Queue()
        self.lock = threading.Lock()
        self.assigned = None  # the statement handed to this driver and not yet answered
        self.running = None  # (statement id, interpreter) while one runs
        self.cancel_seen = None  # the statement id whose cancel the driver acts on

    def interpreter(self, kind):
        interp = self.interpreters.get(kind or "pyspark")
        if interp is None:
            raise ValueError("unsupported statement kind %r" % kind)
        return interp

    def group(self, sid):
        return "sparkgate-statement-%d" % sid

    # --- the main thread: statements, one at a time -----------------------------------------
    def run_statements(self):
        while True:
            stmt = self.statements.get()
            sid = stmt["id"]
            try:
                interp = self.interpreter(stmt.get("kind"))
            except ValueError as e:
                interp, output = None, {"status": "error", "ename": "ValueError", "evalue": str(e), "traceback": []}
            with self.lock:
                self.running = (sid, interp)
            try:
                if interp is not None:
                    self.sc.setJobGroup(self.group(sid), "statement %d" % sid, interruptOnCancel=True)
                    output = interp.run(stmt["code"])
            except KeyboardInterrupt as e:  # a cancel's interrupt landing outside the statement
                output = error_output(e)
            finally:
                with self.lock:
                    self.running = None
            output["execution_count"] = sid
            try:
                json.dumps(output)
            except (TypeError, ValueError) as e:  # %json of a value JSON cannot hold
                output = {"status": "error", "ename": type(e).__name__, "evalue": str(e), "traceback": [],
                          "execution_count": sid}
            sys.stdout.flush()
            call_until_answered("POST", "/driver/sessions/%s/statements/%d" % (SESSION, sid), {"output": output})
            with self.lock:
                if self.assigned == sid:
                    self.assigned = None

    def on_sigint(self, signum, frame):
        """A cancel's interrupt: raised in the statement, ignored between statements."""
        with self.lock:
            running = self.running is not None
        if running:
            raise KeyboardInterrupt()

    def running_id(self):
        with self.lock:
            return self.running[0] if self.running else None

    # --- the poller thread: statements in, cancels and calls at once -------------------------
    def poll(self):
        while True:
            path = "/driver/sessions/%s/next" % SESSION
            with self.lock:
                sid = self.assigned
            if sid is not None:
                path += "?running=%d" % sid
                if self.cancel_seen == sid:
                    path += "&cancelSeen=1"
            status, msg = call_until_answered("GET", path)
            if status == 204 or not msg:
                continue
            if msg["type"] == "statement":
                with self.lock:
                    self.assigned = msg["id"]
                self.statements.put(msg)
            elif msg["type"] == "cancel":
                self.cancel(msg["id"])
            elif msg["type"] == "call":
                threading.Thread(target=self.answer, args=(msg["call"],), daemon=True).start()

    def cancel(self, sid):
        self.cancel_seen = sid
        self.sc.cancelJobGroup(self.group(sid))

        def interrupt_if_still_running():
            with self.lock:
                running = self.running
            if running and running[0] == sid and running[1] is not None:
                running[1].interrupt(lambda: self.running_id() == sid)

        threading.Timer(CANCEL_GRACE_SECONDS, interrupt_if_still_running).start()

    def answer(self, c):
        try:
            op = c["op"]
            if op == "complete":
                result = self.interpreter(c.get("kind")).complete(c.get("code", ""), c.get("cursor", 0))
            elif op == "addJar":
                result = self.add_jar(c["uri"])
            elif op == "addPyFile":
                result = self.sc.addPyFile(c["uri"])
            elif op == "addFile":
                result = self.sc.addFile(c["uri"])
            else:
                raise ValueError("unknown call %r" % op)
            answer = {"result": result}
        except Exception as e:
            answer = {"error": "%s: %s" % (type(e).__name__, e)}
        try:
            call("POST", "/driver/sessions/%s/calls/%s" % (SESSION, c["id"]), answer)
        except Exception:  # the caller stopped waiting; nothing to do
            pass

    def add_jar(self, uri):
        self.sc._jsc.sc().addJar(uri)  # PySpark has no addJar of its own
        scala = self.interpreters.get("spark")
        if scala is not None:
            scala.add_jar(uri)

    # --- the progress thread -----------------------------------------------------------------
    def report_progress(self):
        last = None
        tracker = self.sc.statusTracker()
        while True:
            time.sleep(1)
            sid = self.running_id()
            if sid is None:
                last = None
                continue
            try:
                total = done = 0
                for job in tracker.getJobIdsForGroup(self.group(sid)):
                    info = tracker.getJobInfo(job)
                    for stage in (info.stageIds if info else []):
                        s = tracker.getStageInfo(stage)
                        if s:
                            total += s.numTasks
                            done += s.numCompletedTasks
                progress = round(min(done / total, 0.99), 3) if total else 0.0
                if progress != last and self.running_id() == sid:
                    call("POST", "/driver/sessions/%s/statements/%d" % (SESSION, sid), {"progress": progress})
                    last = progress
            except Exception:  # progress is best effort; the result is what counts
                pass


def main():
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.getOrCreate()
    driver = Driver(spark)
    signal.signal(signal.SIGINT, driver.on_sigint)
    call_until_answered("POST", "/driver/sessions/%s/ready" % SESSION, {"appId": spark.sparkContext.applicationId})
    threading.Thread(target=driver.poll, name="sparkgate-poller", daemon=True).start()
    threading.Thread(target=driver.report_progress, name="sparkgate-progress", daemon=True).start()
    driver.run_statements()


if __name__ == "__main__":
    main()
