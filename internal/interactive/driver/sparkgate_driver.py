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
import http.client
import io
import json
import os
import queue
import re
import rlcompleter
import shutil
import signal
import ssl
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

# Set by configure() from the environment spark-submit passes on.
URL = SESSION = SECRET = KIND = WORK_DIR = CA_FILE = None
# How long the driver keeps trying to reach a gateway that gives no answer at all before it
# exits (Livy's driver: livy.rsc.server.idle-timeout). Any HTTP answer counts as contact.
GATEWAY_TIMEOUT_SECONDS = 15 * 60
POLL_SECONDS = 25
# The largest output, as JSON, that the gateway keeps of a statement; a larger one is cut.
MAX_OUTPUT_BYTES = 1 << 20
CANCEL_GRACE_SECONDS = 2  # after cancelJobGroup, before interrupting the statement's thread


class GatewayError(Exception):
    def __init__(self, code):
        super().__init__("gateway answered %d" % code)
        self.code = code


_connections = threading.local()  # one kept-alive connection per thread
_last_contact = time.monotonic()  # when a gateway last answered any request of this driver


def configure(environ):
    """Reads the driver's settings from its environment."""
    global URL, SESSION, SECRET, KIND, WORK_DIR, GATEWAY_TIMEOUT_SECONDS, CA_FILE, MAX_OUTPUT_BYTES
    URL = environ["SPARKGATE_URL"].rstrip("/")
    SESSION = environ["SPARKGATE_SESSION_ID"]
    SECRET = read_secret(environ)
    KIND = environ.get("SPARKGATE_SESSION_KIND", "pyspark")
    WORK_DIR = environ.get("SPARKGATE_WORK_DIR")
    CA_FILE = environ.get("SPARKGATE_CA_FILE")
    GATEWAY_TIMEOUT_SECONDS = float(environ.get("SPARKGATE_GATEWAY_TIMEOUT_SECONDS", GATEWAY_TIMEOUT_SECONDS))
    MAX_OUTPUT_BYTES = int(environ.get("SPARKGATE_MAX_OUTPUT_BYTES", MAX_OUTPUT_BYTES))


def read_secret(environ):
    """The secret this driver authenticates with: read from its file, which is removed at
    once, so that no other process of this OS user finds it (an environment is readable in
    /proc); a driver in the cluster gets it in its environment from the cluster manager."""
    path = environ.get("SPARKGATE_SECRET_FILE")
    if not path:
        return environ["SPARKGATE_SECRET"]
    with open(path) as f:
        secret = f.read().strip()
    os.remove(path)
    return secret


def connect(target, timeout):
    """A connection to the gateway: over TLS for https://, trusting SPARKGATE_CA_FILE (the
    system's CAs when unset), the certificate's name checked."""
    if target.scheme == "https":
        return http.client.HTTPSConnection(target.netloc, timeout=timeout, context=ssl.create_default_context(cafile=CA_FILE))
    return http.client.HTTPConnection(target.netloc, timeout=timeout)


def call(method, path, body=None, timeout=POLL_SECONDS + 10):
    """One request to the gateway; returns (status, decoded JSON or None)."""
    target = urllib.parse.urlsplit(URL)
    conn = getattr(_connections, "conn", None)
    if conn is None:
        conn = _connections.conn = connect(target, timeout)
    data = None if body is None else json.dumps(body).encode()
    try:
        conn.request(method, target.path + path, body=data,
                     headers={"X-Sparkgate-Secret": SECRET, "Content-Type": "application/json"})
        resp = conn.getresponse()
        raw = resp.read()
    except BaseException:
        conn.close()
        _connections.conn = None
        raise
    global _last_contact
    _last_contact = time.monotonic()
    if resp.status >= 400:
        raise GatewayError(resp.status)
    return resp.status, (json.loads(raw) if raw else None)


def fetch(path):
    """Downloads a file of the gateway's disk (this driver runs in the cluster, which cannot
    read it) into a directory of its own, and returns the local copy's path."""
    target = urllib.parse.urlsplit(URL)
    conn = connect(target, POLL_SECONDS + 10)
    try:
        conn.request("GET", target.path + "/driver/sessions/%s/files?%s" % (SESSION, urllib.parse.urlencode({"path": path})),
                     headers={"X-Sparkgate-Secret": SECRET})
        resp = conn.getresponse()
        if resp.status != 200:
            raise GatewayError(resp.status)
        parent = WORK_DIR if WORK_DIR and os.path.isdir(WORK_DIR) else None  # not in the cluster
        local = os.path.join(tempfile.mkdtemp(prefix="sparkgate-file-", dir=parent),
                             os.path.basename(path.rstrip("/")) or "file")
        with open(local, "wb") as out:
            shutil.copyfileobj(resp, out)
        return local
    finally:
        conn.close()


def exit_driver(code, why):
    print("sparkgate driver: %s; exiting" % why, file=sys.stderr)
    sys.stderr.flush()
    os._exit(code)


def call_until_answered(method, path, body=None):
    """Retries through a restarting gateway; exits when the session is gone, or when no gateway
    has answered for GATEWAY_TIMEOUT_SECONDS."""
    wait = 0.2
    while True:
        try:
            return call(method, path, body)
        except GatewayError as e:
            if e.code in (401, 403, 404, 410):
                exit_driver(0, "the gateway no longer knows this session (%d)" % e.code)
            if e.code < 500:
                raise
        except (http.client.HTTPException, OSError, TimeoutError):
            silent = time.monotonic() - _last_contact
            if silent > GATEWAY_TIMEOUT_SECONDS:
                exit_driver(1, "no gateway answered at %s for %d s (the limit is %d s)" % (URL, silent, GATEWAY_TIMEOUT_SECONDS))
        time.sleep(wait)
        wait = min(wait * 2, 5)


def error_output(e):
    """Livy's error output: the user's frames only, not the driver's."""
    frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == "<stdin>"]
    tb = traceback.format_list(frames) + traceback.format_exception_only(type(e), e)
    return {"status": "error", "ename": type(e).__name__, "evalue": str(e), "traceback": tb}


def bounded(output, limit):
    """The output as the gateway keeps it: whole when its JSON fits in limit bytes; else cut
    to fit, with a note saying so: an ok output keeps the start of its text/plain (its other
    representations, which a cut would break, go), an error the start of its evalue."""
    size = len(json.dumps(output).encode())
    if size <= limit:
        return output
    note = "\n[output cut: it was %d bytes, and the gateway keeps %d at most]" % (size, limit)
    if output.get("status") == "ok":
        text = str(output.get("data", {}).get("text/plain", ""))
        cut = {"status": "ok", "data": {}}
        put = lambda t: cut["data"].__setitem__("text/plain", t)
    else:
        text = str(output.get("evalue", ""))
        cut = {"status": "error", "ename": str(output.get("ename", "Error"))[:200], "traceback": []}
        put = lambda t: cut.__setitem__("evalue", t)
    if "execution_count" in output:
        cut["execution_count"] = output["execution_count"]
    keep = min(len(text), limit)  # a character takes 1 to 12 bytes of JSON
    while True:
        put(text[:keep] + note)
        size = len(json.dumps(cut).encode())
        if size <= limit or keep == 0:
            return cut
        keep = min(keep - 1, keep * limit // size)


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


def interrupt_main_thread(main_thread_busy):
    """Interrupts a statement running in the main thread: a signal reaches it even in a
    blocking call, and the driver's SIGINT handler raises KeyboardInterrupt there."""
    if main_thread_busy():
        os.kill(os.getpid(), signal.SIGINT)


class PythonInterpreter:
    """Runs Python statements in one namespace, answering as Livy's REPL does."""

    def __init__(self, namespace):
        self.ns = namespace

    def run(self, code):
        out = io.StringIO()
        try:
            # stdout only: clients parse printed lines (pylivy reads a DataFrame back as JSON
            # lines), and Spark's warnings on stderr would break them; stderr goes to the log.
            with contextlib.redirect_stdout(out):
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

    interrupt = staticmethod(interrupt_main_thread)


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

    interrupt = staticmethod(interrupt_main_thread)


# --- Scala -------------------------------------------------------------------------------------

OUTPUT_DIR_KEY = "spark.repl.class.outputDir"

# Run once after the interpreter starts (as Livy/spark-shell do).
_PRELUDE = """
@transient val spark = org.apache.spark.sql.SparkSession.builder.getOrCreate()
@transient val sc = spark.sparkContext
import spark.implicits._
import spark.sql
import org.apache.spark.sql.functions._
"""


def _err(ename, evalue, traceback):
    return {"status": "error", "ename": ename, "evalue": evalue, "traceback": traceback}


_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
_CARET = re.compile(r"^\s*\^\s*$")
_STACK = re.compile(r"^\s+(?:at |\.\.\. \d+ (?:elided|more))|^Caused by: ")
# First line of a runtime failure as the REPL prints it, e.g.
# "java.lang.RuntimeException: boom" or "scala.MatchError: 3 (of class ...)".
_EXC_LINE = re.compile(r"^([A-Za-z_$][\w$]*(?:\.[\w$]+)+)(?::\s?(.*))?$")


class ScalaInterpreter:
    """Runs Scala statements in the driver's JVM through the Scala REPL's IMain (from Spark's own
    jars: Scala 2.12 on Spark 3.5, 2.13 on 4.x), driven through py4j. Calls are serialised;
    println output is captured by setting Console.out of the calling JVM thread, which is the
    calling Python thread's own (PySpark's pinned thread mode)."""

    def __init__(self, spark, eager=False):
        self.spark = spark
        self._jvm = spark.sparkContext._jvm
        self._intp = None
        self._lock = threading.RLock()
        self.scala_version = None
        if eager:
            with self._lock:
                self._start()

    def warm_up(self):
        """Starts the interpreter (seconds of compiler start-up) before the first Scala
        statement needs it; that statement waits on the lock meanwhile."""
        try:
            with self._lock:
                self._start()
        except Exception as e:  # the first statement will report it
            print("sparkgate driver: Scala interpreter did not start: %s" % e, file=sys.stderr)

    # ------------------------------------------------------------------ setup
    def _start(self):
        if self._intp is not None:
            return
        jvm = self._jvm
        self.scala_version = str(jvm.scala.util.Properties.versionNumberString())
        out_dir = self.spark.sparkContext.getConf().get(OUTPUT_DIR_KEY, None)
        if not out_dir:
            # Without it executors cannot load the compiled classes (closures
            # and case classes fail with ClassNotFoundException).
            out_dir = tempfile.mkdtemp(prefix="sparkgate-repl-")
        os.makedirs(out_dir, exist_ok=True)
        self.output_dir = out_dir

        # Parent loader = the thread's context loader (includes --jars); add
        # those jars to the compile classpath too, java.class.path is covered
        # by -usejavacp.
        loader = jvm.java.lang.Thread.currentThread().getContextClassLoader()
        settings = jvm.scala.tools.nsc.Settings()
        _assign(settings.usejavacp(), True)
        _assign(settings.Yreplclassbased(), True)
        _assign(settings.Yreploutdir(), out_dir)
        extra = self._loader_jars(loader)
        if extra:
            _assign(settings.classpath(), os.pathsep.join(extra))
        getattr(settings, "explicitParentLoader_$eq")(jvm.scala.Option.apply(loader))

        # Two buffers: Console.out of the statement, and the REPL's own writer
        # (result echo "res0: Int = 2", compiler errors, runtime exceptions).
        self._out_buf = jvm.java.io.ByteArrayOutputStream()
        self._out = jvm.java.io.PrintStream(self._out_buf, True, "UTF-8")
        self._rep_buf = jvm.java.io.ByteArrayOutputStream()
        writer = jvm.java.io.PrintWriter(
            jvm.java.io.OutputStreamWriter(self._rep_buf, "UTF-8"), True)
        interp_pkg = jvm.scala.tools.nsc.interpreter
        if self.scala_version.startswith("2.12"):
            intp = interp_pkg.IMain(settings, writer)
            intp.initializeSynchronous()
        else:  # 2.13
            reporter = interp_pkg.shell.ReplReporterImpl(settings, writer)
            intp = interp_pkg.IMain(settings, reporter)
            intp.initializeCompiler()
        self._console = jvm.java.lang.Class.forName("scala.Console$") \
            .getField("MODULE$").get(None)
        self._intp = intp
        res = self._run_locked(_PRELUDE)
        if res["status"] != "ok":
            raise RuntimeError("Scala interpreter prelude failed: %r" % (res,))

    def _loader_jars(self, loader):
        jars = []
        while loader is not None:
            try:
                urls = loader.getURLs()  # only URLClassLoaders have it
            except Exception:
                urls = []
            for u in urls:
                if u.getProtocol() == "file":
                    p = str(self._jvm.java.io.File(u.toURI()).getPath())
                    if os.path.isfile(p) and p not in jars:
                        jars.append(p)
            loader = loader.getParent()
        return jars

    def close(self):
        with self._lock:
            if self._intp is not None:
                self._intp.close()
                self._intp = None

    # -------------------------------------------------------------- execution
    def run(self, code):
        with self._lock:
            try:
                self._start()
            except Exception as e:  # py4j errors included
                return _err(type(e).__name__, str(e), traceback.format_exc().splitlines())
            try:
                return self._run_locked(code)
            except Exception as e:  # the compiler itself failed (a Py4JJavaError)
                if not hasattr(e, "java_exception"):
                    raise
                j = e.java_exception
                return _err(str(j.getClass().getName()), str(j.getMessage()),
                            str(e).splitlines())

    def _interpret(self, code):
        """Interpret on the calling JVM thread with Console.out captured."""
        jvm, intp = self._jvm, self._intp
        thread = jvm.java.lang.Thread.currentThread()
        self._running_thread = thread
        old_loader = thread.getContextClassLoader()
        old_out = jvm.scala.Console.out()
        self._out_buf.reset()
        self._rep_buf.reset()
        self._console.setOutDirect(self._out)
        try:
            thread.setContextClassLoader(intp.classLoader())
            result = str(intp.interpret(code))  # "Success" / "Error" / "Incomplete"
        finally:
            self._running_thread = None
            self._console.setOutDirect(old_out)
            thread.setContextClassLoader(old_loader)
        self._out.flush()
        out = str(self._out_buf.toString("UTF-8"))
        rep = str(self._rep_buf.toString("UTF-8"))
        self._out_buf.reset()
        self._rep_buf.reset()
        return result, out, rep

    def _run_locked(self, code):
        if not _COMMENT.sub("", code).strip():
            return ok_output("")  # the 2.12/2.13 REPLs report these as Incomplete/Error
        result, out, rep = self._interpret(code)
        if result == "Success":
            return ok_output(out + rep)
        if result == "Incomplete":
            return _err("Error", "incomplete statement", (out + rep).splitlines())
        return _error(out, rep, code)

    def interrupt(self, main_thread_busy):
        # A signal would only interrupt py4j's wait in Python; the code runs in the JVM.
        thread = getattr(self, "_running_thread", None)
        if thread is not None and main_thread_busy():
            thread.interrupt()

    def add_jar(self, uri):
        # Jars given at create are on the compiler's classpath; later ones reach the executors
        # (sc.addJar) but not the compiler.
        pass

    # ------------------------------------------------------------- completion
    def complete(self, code, cursor):
        """Completion candidates for `code` at `cursor` ([] on any failure)."""
        try:
            with self._lock:
                names = self._complete_locked(code, cursor)
        except Exception:
            return []
        return list(dict.fromkeys(n for n in names if n))

    def _complete_locked(self, code, cursor):
        self._start()
        intp, pkg = self._intp, self._jvm.scala.tools.nsc.interpreter
        try:
            if self.scala_version.startswith("2.12"):
                cands = pkg.PresentationCompilerCompleter(intp).complete(code, cursor)
                return [str(c) for c in _iter(cands.candidates())]
            comp = pkg.shell.ReplCompletion(intp, pkg.shell.Accumulator())
            cands = comp.complete(code, cursor).candidates()
            return [str(c.name()) for c in _iter(cands)]
        finally:
            self._rep_buf.reset()


def _assign(setting, value):
    """Scala `setting.value = value` (the setter is named value_$eq)."""
    getattr(setting, "value_$eq")(value)


def _error(out, rep, code):
    """Build Livy's error output from what the REPL printed."""
    lines = rep.rstrip().splitlines() or ["unknown error"]
    tb = out.splitlines() + lines
    m = _EXC_LINE.match(lines[0])  # compiler output never starts this way
    if m:
        # Runtime exception: "<class>: <message>" then stack lines.
        msg = [m.group(2) or ""]
        for l in lines[1:]:
            if _STACK.match(l):
                break
            msg.append(l)
        return _err(m.group(1), "\n".join(msg).strip(), tb)
    # Compile error(s): keep the messages, drop carets and echoed source
    # (prefixes like "<console>:19: " or "On line 2: " are cut).
    src = {l.strip() for l in code.splitlines() if l.strip()}
    msg = []
    first = next((i for i, l in enumerate(lines) if "error:" in l), 0)
    for l in lines[first:]:
        if _CARET.match(l) or l.strip() in src:
            continue
        msg.append(l[l.index("error:"):] if "error:" in l else l.strip())
    return _err("Error", "\n".join(msg), tb)


def _iter(scala_seq):
    it = scala_seq.iterator()
    while it.hasNext():
        yield it.next()


def repl_class_dir():
    """Where the Scala interpreter compiles to. Executors load those classes from
    spark.repl.class.outputDir, which Spark reads only when the SparkContext starts, so it is
    set on every session (a Scala statement may come to a pyspark session too)."""
    parent = WORK_DIR
    if not parent or not os.path.isdir(parent):
        parent = None
    return tempfile.mkdtemp(prefix="repl-classes-", dir=parent)


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
        self.interpreters = {"pyspark": PythonInterpreter(namespace), "sql": SQLInterpreter(spark),
                             "spark": ScalaInterpreter(spark, eager=KIND == "spark")}
        self.statements = queue.Queue()
        self.lock = threading.Lock()
        self.assigned = None  # the statement handed to this driver and not yet answered
        self.running = None  # (statement id, interpreter) while one runs
        self.cancel_seen = None  # the statement id whose cancel the driver acts on
        self.answered = {}  # statement id -> output, of the last statements run

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
            output = bounded(output, MAX_OUTPUT_BYTES)
            sys.stdout.flush()
            self.answered[sid] = output
            for old in [k for k in self.answered if k < sid - 100]:
                del self.answered[old]
            try:
                call_until_answered("POST", "/driver/sessions/%s/statements/%d" % (SESSION, sid), {"output": output})
            except GatewayError as e:
                if e.code != 409:
                    raise
                # a gateway that does not know it handed this statement out (the record of the
                # hand-out was lost with another instance) refuses the output; it hands the
                # statement out again, and the poller answers with the output kept above
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
            if msg["type"] == "statement" and msg["id"] in self.answered:
                # A server that lost the record of this statement's run hands it out again:
                # answer with the output it had, never run it twice.
                call_until_answered("POST", "/driver/sessions/%s/statements/%d" % (SESSION, msg["id"]),
                                    {"output": self.answered[msg["id"]]})
            elif msg["type"] == "statement":
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
            elif op in ("addJar", "addPyFile", "addFile"):
                uri = fetch(c["uri"]) if c.get("fetch") else c["uri"]
                if op == "addJar":
                    result = self.add_jar(uri)
                elif op == "addPyFile":
                    result = self.sc.addPyFile(uri)
                else:
                    result = self.sc.addFile(uri)
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
    configure(os.environ)
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.config(OUTPUT_DIR_KEY, repl_class_dir()).getOrCreate()
    driver = Driver(spark)
    signal.signal(signal.SIGINT, driver.on_sigint)
    sc = spark.sparkContext
    call_until_answered("POST", "/driver/sessions/%s/ready" % SESSION,
                        {"appId": sc.applicationId, "sparkUiUrl": sc.uiWebUrl or ""})
    threading.Thread(target=driver.poll, name="sparkgate-poller", daemon=True).start()
    threading.Thread(target=driver.report_progress, name="sparkgate-progress", daemon=True).start()
    # Once the session is idle: a Scala statement in a session of another kind then runs at
    # once instead of waiting for the interpreter to start.
    threading.Thread(target=driver.interpreters["spark"].warm_up, name="sparkgate-scala-warm-up", daemon=True).start()
    driver.run_statements()


if __name__ == "__main__":
    main()
