"""Tries, from user code, each reach a gateway with --app-user keeps out of it, and prints
"reach NAME: denied (WHY)" or "reach NAME: REACHED" for each. Arguments: the gateway's data
directory, another application's directory, the gateway's htpasswd file, its ticket cache."""
import glob
import os
import sys

data_dir, other_app, htpasswd, ccache = sys.argv[1:5]


def attempt(name, action):
    try:
        action()
    except OSError as e:
        print("reach %s: denied (%s)" % (name, e.__class__.__name__))
        return
    print("reach %s: REACHED" % name)


def change_driver(pattern):
    def change():
        files = glob.glob(pattern)
        if not files:
            raise FileNotFoundError(pattern)
        for path in files:
            with open(path, "a") as f:
                f.write("\nprint('changed by user code')\n")
    return change


def add_to_driver_dir():
    with open(os.path.join(data_dir, "driver", "sparkgate_driver-evil.py"), "w") as f:
        f.write("print('planted by user code')\n")


def read(path):
    def do():
        with open(path, "rb") as f:
            f.read(1)
    return do


def write_other_exit():
    with open(os.path.join(other_app, "exit.json"), "w") as f:
        f.write('{"code":1,"error":"forged by user code"}')


def ticket_of_environment():
    name = os.environ.get("KRB5CCNAME")
    if not name:
        raise PermissionError("KRB5CCNAME is not set")
    read(name.removeprefix("FILE:"))()


print("uid=%d cwd=%s" % (os.getuid(), os.getcwd()))
with open("/proc/self/status") as f:
    print([line.strip() for line in f if line.startswith("CapEff")][0])
attempt("relative-driver", change_driver(os.path.join("..", "driver", "sparkgate_driver-*.py")))
attempt("driver", change_driver(os.path.join(data_dir, "driver", "sparkgate_driver-*.py")))
attempt("driver-dir", add_to_driver_dir)
attempt("store", read(os.path.join(data_dir, "sparkgate.db")))
attempt("data-dir-list", lambda: os.listdir(data_dir))
attempt("other-exit", write_other_exit)
attempt("other-log", read(os.path.join(other_app, "output.log")))
attempt("htpasswd", read(htpasswd))
attempt("ticket-cache", read(ccache))
attempt("ticket-of-environment", ticket_of_environment)
attempt("setuid-root", lambda: os.setuid(0))
