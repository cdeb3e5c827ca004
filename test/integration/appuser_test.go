package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// osUser creates an OS user of the test's own (no home directory, no login shell), removed when
// the test ends. Creating users needs root: without it the test is skipped, unless
// SPARKGATE_REQUIRE_SPARK is set, where it fails.
func osUser(t *testing.T) *user.User { return osUserOf(t, true) }

// osUserOf creates an OS user: a system one (a uid under 1000), or a person's; extra are more
// useradd options.
func osUserOf(t *testing.T, system bool, extra ...string) *user.User {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("SPARKGATE_REQUIRE_SPARK") != "" {
			t.Fatal("this test creates an OS user and runs applications as it: run it as root")
		}
		t.Skip("this test creates an OS user and runs applications as it: it runs as root only")
	}
	b := make([]byte, 4)
	rand.Read(b)
	name := "sparkgate-app-" + hex.EncodeToString(b)
	args := append(append([]string{}, extra...), "-M", "-s", "/usr/sbin/nologin", name)
	if system {
		args = append([]string{"-r"}, args...)
	}
	if out, err := exec.Command("useradd", args...).CombinedOutput(); err != nil {
		t.Fatalf("useradd %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", "-f", name).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v: %s", name, err, out)
		}
	})
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// appUserDataDir is a data directory whose parents an application's OS user may pass through
// (to the driver program, and its own working directory), as --app-user requires; the
// sparkgate binary, which runs the application's first step as that user, is made executable
// by it too.
func appUserDataDir(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	for _, dir := range []string{base, filepath.Dir(base), filepath.Dir(binPath)} {
		if err := os.Chmod(dir, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(base, "data")
}

// pythonOf is a Python the OS user u can run: $PYSPARK_PYTHON when it can, else the system's
// python3 (Spark puts its own pyspark on the path). --app-user requires Spark, Java and Python
// to be readable and executable by the applications' user; a Python under /root is not.
func pythonOf(t *testing.T, u *user.User) string {
	t.Helper()
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	for _, python := range []string{os.Getenv("PYSPARK_PYTHON"), "/usr/bin/python3"} {
		if python == "" {
			continue
		}
		cmd := exec.Command(python, "-c", "pass")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		if err := cmd.Run(); err == nil {
			return python
		}
		t.Logf("%s cannot run %s; trying another Python", u.Username, python)
	}
	t.Skipf("no Python that %s can run", u.Username)
	return ""
}

// User code of a server with --app-user runs as that OS user, in a directory of its own: it
// cannot change the driver program, read the store, forge another application's outcome,
// read another application's log, the htpasswd file or the gateway's ticket cache, nor get
// root back; and a pyspark session still works end to end as that user, with a file added to
// it and one uploaded to it (which it downloads from the gateway).
func TestAppUserKeepsUserCodeAwayFromTheGateway(t *testing.T) {
	home := sparkHome(t)
	app := osUser(t)
	dataDir := appUserDataDir(t)
	secrets := t.TempDir()
	ccache := filepath.Join(secrets, "gateway.ccache")
	if err := os.WriteFile(ccache, []byte("the gateway's ticket"), 0o600); err != nil {
		t.Fatal(err)
	}
	htpasswd := htpasswdFile(t, map[string]string{"alice": "wonder land"})
	s := startServer(t, serverOpts{sparkHome: home, dataDir: dataDir,
		args: []string{"--app-user", app.Username, "--auth", "basic", "--htpasswd", htpasswd},
		env:  []string{"KRB5CCNAME=FILE:" + ccache, "PYSPARK_PYTHON=" + pythonOf(t, app)}})
	s.authorize = func(r *http.Request) { r.SetBasicAuth("alice", "wonder land") }
	if strings.Contains(s.output(), "users' code runs on this host as the gateway's own OS user") {
		t.Error("a server with --app-user warns that users' code runs as the gateway's user")
	}

	first := s.createBatch(fmt.Sprintf(`{"file":%q}`, testdata(t, "jobs/ok.py")))
	if st := s.waitState(first, sparkTimeout, "success", "dead"); st != "success" {
		t.Fatalf("a batch run as %s ended %s:\n%s", app.Username, st, strings.Join(s.allLog(first, 1000), "\n"))
	}
	other := appDir(t, s, first)
	otherExit, err := os.ReadFile(filepath.Join(other, "exit.json"))
	if err != nil {
		t.Fatal(err)
	}
	drivers, _ := filepath.Glob(filepath.Join(dataDir, "driver", "sparkgate_driver-*.py"))
	if len(drivers) != 1 {
		t.Fatalf("driver programs: %v", drivers)
	}
	driver, _ := os.ReadFile(drivers[0])

	id := s.createBatch(fmt.Sprintf(`{"file":%q,"args":[%q,%q,%q,%q]}`, testdata(t, "jobs/reach.py"), dataDir, other, htpasswd, ccache))
	s.waitState(id, sparkTimeout, "success", "dead")
	log := strings.Join(s.allLog(id, 1000), "\n")
	if !strings.Contains(log, fmt.Sprintf("uid=%s cwd=%s", app.Uid, filepath.Join(dataDir, "app-work"))) {
		t.Errorf("the job does not run as %s (uid %s) in a directory of its own under app-work:\n%s", app.Username, app.Uid, log)
	}
	if !strings.Contains(log, "CapEff:\t0000000000000000") {
		t.Errorf("the job has capabilities:\n%s", log)
	}
	for _, reach := range []string{"relative-driver", "driver", "driver-dir", "store", "data-dir-list", "other-exit", "other-log",
		"htpasswd", "ticket-cache", "ticket-of-environment", "setuid-root"} {
		if !strings.Contains(log, "reach "+reach+": denied") {
			t.Errorf("user code was not denied %s:\n%s", reach, log)
		}
	}
	if b, _ := os.ReadFile(drivers[0]); !bytes.Equal(b, driver) {
		t.Error("the driver program was changed")
	}
	if b, _ := os.ReadFile(filepath.Join(other, "exit.json")); !bytes.Equal(b, otherExit) {
		t.Errorf("another application's exit.json was changed: %s", b)
	}
	if planted, _ := filepath.Glob(filepath.Join(dataDir, "driver", "*evil*")); len(planted) > 0 {
		t.Errorf("user code planted %v", planted)
	}

	r := s.do("POST", "/sessions", `{"kind":"pyspark","conf":{"spark.ui.enabled":"false"}}`)
	if r.status != 201 {
		t.Fatalf("POST /sessions = %d %s", r.status, r.body)
	}
	sid := int(r.json(t)["id"].(float64))
	waitFor(t, sparkTimeout, "the session to be idle", func() bool { return s.sessionState(sid) == "idle" })
	if got := textOf(t, s.runStatement(sid, `{"code":"1+1"}`)); got != "2" {
		t.Errorf("1+1 = %q", got)
	}
	if got := textOf(t, s.runStatement(sid, `{"code":"import os\nos.getuid()"}`)); got != app.Uid {
		t.Errorf("the session's code runs as uid %q, want %s's %s", got, app.Username, app.Uid)
	}
	// uploads and whitelisted files live on the gateway's side: the driver downloads them
	addAndUseFiles(t, s, sid)
	if r := s.do("DELETE", fmt.Sprintf("/sessions/%d", sid), ""); r.status != 200 {
		t.Errorf("DELETE /sessions/%d = %d %s", sid, r.status, r.body)
	}
}

// A server that authenticates its users but runs their code as its own OS user says so once
// at start; and --app-user is refused at start by a gateway that cannot switch users.
func TestUserCodeAsTheGatewaysUserIsWarnedOf(t *testing.T) {
	t.Parallel()
	htpasswd := htpasswdFile(t, map[string]string{"alice": "wonder land"})
	s := startServer(t, serverOpts{sparkHome: testdata(t, "stubspark"), args: []string{"--auth", "basic", "--htpasswd", htpasswd}})
	const warning = "users' code runs on this host as the gateway's own OS user"
	if n := strings.Count(s.output(), warning); n != 1 {
		t.Errorf("the warning is printed %d times, want once:\n%s", n, s.output())
	}
	open := startServer(t, serverOpts{sparkHome: testdata(t, "stubspark")})
	if strings.Contains(open.output(), warning) {
		t.Errorf("a server without authentication warns:\n%s", open.output())
	}
}

// --app-user needs CAP_SETUID, CAP_SETGID and CAP_KILL: a gateway without them stops at start
// and says which it lacks.
func TestAppUserIsRefusedWithoutTheCapabilities(t *testing.T) {
	app := osUser(t)
	dataDir := appUserDataDir(t)
	uid, _ := strconv.Atoi(app.Uid)
	gid, _ := strconv.Atoi(app.Gid)
	// a server that is not refused serves until the timeout ends it
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, "serve", "--addr", freeAddr(t), "--data-dir", dataDir, "--app-user", "nobody")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "lacks CAP_SETUID, CAP_SETGID, CAP_KILL") {
		t.Errorf("a gateway without the capabilities started with --app-user (%v):\n%s", err, out)
	}
	if _, err := os.Stat(dataDir); err == nil {
		t.Error("the refused server made its data directory")
	}
}

// With --impersonation and authentication on, an application runs as its proxy user's own OS
// account when there is one (a person's, uid 1000 or more), as Hadoop's LinuxContainerExecutor
// does; the application of a user without one runs as --app-user.
func TestImpersonatedUsersRunAsTheirOwnOSAccount(t *testing.T) {
	app := osUser(t)
	person := osUserOf(t, false)
	dataDir := appUserDataDir(t)
	htpasswd := htpasswdFile(t, map[string]string{person.Username: "own account", "carol": "no account"})
	s := startServer(t, serverOpts{sparkHome: testdata(t, "stubspark"), dataDir: dataDir,
		args: []string{"--app-user", app.Username, "--impersonation", "--auth", "basic", "--htpasswd", htpasswd}})
	for _, c := range []struct{ user, password, runsAs string }{
		{person.Username, "own account", person.Username},
		{"carol", "no account", app.Username},
	} {
		r := s.do("POST", "/batches", fmt.Sprintf(`{"file":%q}`, testdata(t, "jobs/printenv.py")),
			"Authorization", "Basic "+basicHeader(c.user, c.password))
		if r.status != 201 {
			t.Fatalf("POST /batches as %s = %d %s", c.user, r.status, r.body)
		}
		id := int(r.json(t)["id"].(float64))
		s.authorize = func(r *http.Request) { r.SetBasicAuth(c.user, c.password) }
		s.waitState(id, sparkTimeout, "success", "dead")
		log := strings.Join(s.allLog(id, 1000), "\n")
		if !strings.Contains(log, "\nUSER="+c.runsAs+"\n") {
			t.Errorf("the batch of %s does not run as %s:\n%s", c.user, c.runsAs, log)
		}
	}
}

// The deployment docs/security.md describes: the gateway runs as an OS user of its own with
// only CAP_SETUID, CAP_SETGID and CAP_KILL (systemd's AmbientCapabilities, here setpriv's). The
// job it runs as --app-user has no capability left (an ambient one would survive exec), cannot
// get root or the gateway's user back, is denied the gateway's files; a DELETE ends an
// application of the other user, and its working directory goes when its batch is purged.
func TestAnUnprivilegedGatewayWithCapabilitiesRunsApplicationsAsAppUser(t *testing.T) {
	home := sparkHome(t)
	gateway := osUser(t)
	app := osUser(t)
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("setpriv (util-linux) is needed to start the gateway with ambient capabilities")
	}
	dataDir := appUserDataDir(t)
	uid, _ := strconv.Atoi(gateway.Uid)
	gid, _ := strconv.Atoi(gateway.Gid)
	if err := os.Mkdir(dataDir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dataDir, uid, gid); err != nil {
		t.Fatal(err)
	}
	caps := "+setuid,+setgid,+kill"
	s := startServer(t, serverOpts{sparkHome: home, dataDir: dataDir, args: []string{"--app-user", app.Username, "--retain-finished", "2s"},
		env:    []string{"PYSPARK_PYTHON=" + pythonOf(t, app), "HOME=" + dataDir},
		prefix: []string{"setpriv", "--reuid=" + gateway.Uid, "--regid=" + gateway.Gid, "--clear-groups", "--inh-caps=" + caps, "--ambient-caps=" + caps}})

	first := s.createBatch(fmt.Sprintf(`{"file":%q}`, testdata(t, "jobs/ok.py")))
	if st := s.waitState(first, sparkTimeout, "success", "dead"); st != "success" {
		t.Fatalf("a batch ended %s:\n%s", st, strings.Join(s.allLog(first, 1000), "\n"))
	}
	other := appDir(t, s, first)
	id := s.createBatch(fmt.Sprintf(`{"file":%q,"args":[%q,%q,%q,%q]}`, testdata(t, "jobs/reach.py"), dataDir, other,
		filepath.Join(dataDir, "sparkgate.db"), filepath.Join(dataDir, "sparkgate.db")))
	s.waitState(id, sparkTimeout, "success", "dead")
	tag := appDirOf(t, s, "batch", id)
	log := strings.Join(s.allLog(id, 1000), "\n")
	if !strings.Contains(log, fmt.Sprintf("uid=%s cwd=%s", app.Uid, filepath.Join(dataDir, "app-work", tag))) ||
		!strings.Contains(log, "CapEff:\t0000000000000000") {
		t.Errorf("the job does not run as %s (uid %s), without capabilities, in its own directory:\n%s", app.Username, app.Uid, log)
	}
	for _, reach := range []string{"driver", "driver-dir", "store", "data-dir-list", "other-exit", "other-log", "setuid-root"} {
		if !strings.Contains(log, "reach "+reach+": denied") {
			t.Errorf("user code was not denied %s:\n%s", reach, log)
		}
	}

	sleeper := s.createBatch(fmt.Sprintf(`{"file":%q}`, testdata(t, "jobs/sleep.py")))
	waitFor(t, sparkTimeout, "the sleeping job to run", func() bool {
		return strings.Contains(strings.Join(processesOf(app.Uid), "\n"), "sleep.py")
	})
	if r := s.do("DELETE", fmt.Sprintf("/batches/%d", sleeper), ""); r.status != 200 {
		t.Fatalf("DELETE = %d %s", r.status, r.body)
	}
	waitFor(t, sparkTimeout, "the deleted application's processes to end", func() bool { return len(processesOf(app.Uid)) == 0 })

	work := filepath.Join(dataDir, "app-work", tag)
	waitFor(t, sparkTimeout, "the purged batch's working directory to be removed", func() bool {
		_, err := os.Lstat(work)
		return os.IsNotExist(err)
	})
}

// processesOf lists the command lines of the live processes of the user of uid.
func processesOf(uid string) []string {
	var found []string
	statuses, _ := filepath.Glob("/proc/[0-9]*/status")
	for _, p := range statuses {
		b, err := os.ReadFile(p)
		if err != nil || !strings.Contains(string(b), "\nUid:\t"+uid+"\t") || strings.Contains(string(b), "\nState:\tZ") {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join(filepath.Dir(p), "cmdline"))
		found = append(found, strings.ReplaceAll(string(cmdline), "\x00", " "))
	}
	return found
}

// An --app-user in the gateway's own group would read what the gateway keeps group-readable
// (the applications' logs): the server refuses it at start.
func TestAppUserInTheGatewaysGroupIsRefused(t *testing.T) {
	app := osUserOf(t, true, "-g", strconv.Itoa(os.Getgid()))
	dataDir := appUserDataDir(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, binPath, "serve", "--addr", freeAddr(t), "--data-dir", dataDir, "--app-user", app.Username).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "is in the gateway's group") {
		t.Errorf("an app user in the gateway's group was accepted (%v):\n%s", err, out)
	}
}
