"""Unit tests of the driver's output shaping and its gateway retries; no Spark needed.

Run by the Go test TestDriverUnitTests (make test), or alone:
    python3 -m unittest -v test_sparkgate_driver   (in this directory)
"""
import datetime
import decimal
import http.server
import json
import os
import shutil
import tempfile
import threading
import unittest
import urllib.parse
from unittest import mock

import sparkgate_driver as drv


class Row:
    """Stands in for pyspark.sql.Row: what table() relies on is asDict()."""

    def __init__(self, **kw):
        self.kw = kw

    def asDict(self):
        return dict(self.kw)


class TableTest(unittest.TestCase):
    def test_rows_become_livy_table(self):
        out = drv.table([Row(a=1, b="x"), Row(a=None, b="y")])["application/vnd.livy.table.v1+json"]
        self.assertEqual(out["headers"], [{"name": "a", "type": "INT_TYPE"}, {"name": "b", "type": "STRING_TYPE"}])
        self.assertEqual(out["data"], [[1, "x"], [None, "y"]])

    def test_value_types(self):
        cases = [(True, "BOOLEAN_TYPE", True), (1.5, "DOUBLE_TYPE", 1.5),
                 (datetime.date(2026, 12, 1), "DATE_TYPE", "2026-12-01"),
                 (decimal.Decimal("1.10"), "DECIMAL_TYPE", "1.10"), ([1, None], "ARRAY_TYPE", [1, None]),
                 ({"k": 2}, "MAP_TYPE", {"k": 2}), (object, "STRING_TYPE", str(object))]
        for value, kind, cell in cases:
            self.assertEqual(drv.table_type(value), (kind, cell), value)

    def test_mixed_types_in_a_column_are_refused(self):
        with self.assertRaises(ValueError):
            drv.table([[1], ["x"]])


class BoundedOutputTest(unittest.TestCase):
    def size(self, output):
        return len(json.dumps(output).encode())

    def test_an_output_that_fits_is_kept_whole(self):
        out = {"status": "ok", "execution_count": 3, "data": {"text/plain": "x" * 100, "text/html": "<b/>"}}
        self.assertIs(drv.bounded(out, 1024), out)

    def test_a_larger_output_is_cut_to_fit_with_a_note(self):
        for text in ["x" * 100000, "\u00e9\u4e2d\U0001F600\x00" * 20000]:  # 1 to 12 bytes of JSON a character
            out = {"status": "ok", "execution_count": 3, "data": {"text/plain": text, "image/png": "A" * 5000}}
            cut = drv.bounded(out, 4096)
            self.assertLessEqual(self.size(cut), 4096)
            self.assertEqual(list(cut["data"]), ["text/plain"])
            self.assertTrue(cut["data"]["text/plain"].startswith(text[:100]))
            self.assertIn("output cut", cut["data"]["text/plain"])
            self.assertEqual(cut["execution_count"], 3)

    def test_a_larger_error_keeps_the_start_of_its_message(self):
        out = {"status": "error", "ename": "ValueError", "evalue": "bad " * 10000, "traceback": ["line\n"] * 10000}
        cut = drv.bounded(out, 2048)
        self.assertLessEqual(self.size(cut), 2048)
        self.assertEqual((cut["status"], cut["ename"]), ("error", "ValueError"))
        self.assertTrue(cut["evalue"].startswith("bad bad"))


class PythonInterpreterTest(unittest.TestCase):
    def setUp(self):
        self.py = drv.PythonInterpreter({"__name__": "__main__"})

    def test_prints_then_the_last_expression(self):
        self.assertEqual(self.py.run("x = 21\nprint('hi')\nx * 2"), {"status": "ok", "data": {"text/plain": "hi\n42"}})

    def test_an_assignment_prints_nothing(self):
        self.assertEqual(self.py.run("y = 1")["data"]["text/plain"], "")

    def test_magics(self):
        table = self.py.run("rows = [{'a': 1}]\n%table rows")["data"]
        self.assertIn("application/vnd.livy.table.v1+json", table)
        self.assertEqual(table["text/plain"], "")
        self.assertEqual(self.py.run("%json {'k': [1, 2]}")["data"]["application/json"], {"k": [1, 2]})

    def test_bad_magics_are_errors(self):
        unknown = self.py.run("%cobol 1")
        self.assertEqual((unknown["status"], unknown["ename"]), ("error", "ValueError"))
        self.assertIn("%table", unknown["evalue"])
        self.assertIn("last line", self.py.run("%json 1\nx = 2")["evalue"])

    def test_errors_show_the_users_frames_only(self):
        out = self.py.run("def f():\n    return 1/0\nf()")
        self.assertEqual((out["status"], out["ename"], out["evalue"]), ("error", "ZeroDivisionError", "division by zero"))
        self.assertTrue(out["traceback"] and all("sparkgate_driver" not in line for line in out["traceback"]))

    def test_system_exit_is_an_error_not_an_exit(self):
        self.assertEqual(self.py.run("import sys\nsys.exit(3)")["ename"], "SystemExit")

    def test_completion(self):
        self.py.run("import json")
        self.assertIn("json.dumps", self.py.complete("json.dum", 8))


class Exited(Exception):
    pass


class GatewayRetryTest(unittest.TestCase):
    def setUp(self):
        drv.configure({"SPARKGATE_URL": "http://127.0.0.1:1/", "SPARKGATE_SESSION_ID": "7", "SPARKGATE_SECRET": "s",
                       "SPARKGATE_GATEWAY_TIMEOUT_SECONDS": "30"})
        self.clock = [1000.0]
        patches = [mock.patch.object(drv.time, "monotonic", lambda: self.clock[0]),
                   mock.patch.object(drv.time, "sleep", self.sleep),
                   mock.patch.object(drv.os, "_exit", self.exit),
                   mock.patch.object(drv, "_last_contact", 1000.0)]
        for p in patches:
            p.start()
            self.addCleanup(p.stop)

    def sleep(self, seconds):
        self.clock[0] += seconds

    def exit(self, code):
        raise Exited(code)

    def test_configure_reads_the_environment(self):
        self.assertEqual((drv.URL, drv.SESSION, drv.SECRET, drv.KIND, drv.GATEWAY_TIMEOUT_SECONDS),
                         ("http://127.0.0.1:1", "7", "s", "pyspark", 30.0))

    def test_reads_its_secret_from_a_file_it_then_removes(self):
        work = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, work)
        path = os.path.join(work, "driver.secret")
        with open(path, "w") as f:
            f.write("from-the-file")
        drv.configure({"SPARKGATE_URL": "http://127.0.0.1:1/", "SPARKGATE_SESSION_ID": "7", "SPARKGATE_SECRET_FILE": path})
        self.assertEqual(drv.SECRET, "from-the-file")
        self.assertFalse(os.path.exists(path), "the secret's file is left for others to read")

    def test_gives_up_once_no_gateway_answered_for_the_timeout(self):
        with mock.patch.object(drv, "call", side_effect=ConnectionRefusedError()):
            with self.assertRaises(Exited) as e:
                drv.call_until_answered("GET", "/driver/sessions/7/next")
        self.assertEqual(e.exception.args, (1,))
        self.assertGreater(self.clock[0] - 1000.0, 30)
        self.assertLess(self.clock[0] - 1000.0, 40)

    def test_keeps_trying_through_a_restart(self):
        answers = [ConnectionRefusedError()] * 5 + [(200, {"type": "statement"})]
        with mock.patch.object(drv, "call", side_effect=answers):
            self.assertEqual(drv.call_until_answered("GET", "/x"), (200, {"type": "statement"}))

    def test_a_5xx_is_retried_and_a_forgotten_session_exits_at_once(self):
        with mock.patch.object(drv, "call", side_effect=[drv.GatewayError(503), drv.GatewayError(404)]):
            with self.assertRaises(Exited) as e:
                drv.call_until_answered("GET", "/x")
        self.assertEqual(e.exception.args, (0,))


class FetchTest(unittest.TestCase):
    """A driver in the cluster downloads the gateway's file through its own channel."""

    def gateway(self, status, body=b"", prefix=""):
        """Starts a stand-in gateway answering every GET with status and body; returns what
        it saw of the last request."""
        seen = {}

        class Gateway(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                seen["path"], seen["secret"] = self.path, self.headers.get("X-Sparkgate-Secret")
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = http.server.HTTPServer(("127.0.0.1", 0), Gateway)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.shutdown)
        work = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, work)
        drv.configure({"SPARKGATE_URL": "http://127.0.0.1:%d%s" % (server.server_port, prefix), "SPARKGATE_WORK_DIR": work,
                       "SPARKGATE_SESSION_ID": "7", "SPARKGATE_SECRET": "s3"})
        return seen

    def test_downloads_the_file_with_the_drivers_secret(self):
        seen = self.gateway(200, b"the content", prefix="/gw")
        local = drv.fetch("/data/apps/t/uploads/ab/data file.txt")
        with open(local, "rb") as f:
            self.assertEqual(f.read(), b"the content")
        self.assertEqual(os.path.basename(local), "data file.txt")
        self.assertEqual(seen["secret"], "s3")
        self.assertEqual(urllib.parse.urlsplit(seen["path"]).path, "/gw/driver/sessions/7/files")
        self.assertEqual(urllib.parse.parse_qs(urllib.parse.urlsplit(seen["path"]).query)["path"],
                         ["/data/apps/t/uploads/ab/data file.txt"])

    def test_a_refusal_is_an_error(self):
        self.gateway(404)
        with self.assertRaises(drv.GatewayError):
            drv.fetch("/etc/passwd")


if __name__ == "__main__":
    unittest.main()
