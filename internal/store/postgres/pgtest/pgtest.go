// Package pgtest gives tests a PostgreSQL database of their own: the server named by
// SPARKGATE_TEST_POSTGRES_URL (make test starts a throwaway one), in a fresh schema per test.
package pgtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
)

// BaseURL returns the test server's URL, skipping the test when there is none, or failing it
// when SPARKGATE_REQUIRE_POSTGRES is set.
func BaseURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("SPARKGATE_TEST_POSTGRES_URL")
	if u == "" {
		if os.Getenv("SPARKGATE_REQUIRE_POSTGRES") != "" {
			t.Fatal("SPARKGATE_TEST_POSTGRES_URL is not set; run through make test")
		}
		t.Skip("SPARKGATE_TEST_POSTGRES_URL is not set: PostgreSQL test skipped (make test sets it)")
	}
	return u
}

// URL returns a URL whose connections use a new, empty schema, dropped when the test ends.
func URL(t testing.TB) string {
	t.Helper()
	base := BaseURL(t)
	schema := fmt.Sprintf("t_%d", rand.Uint64())
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c, err := pgx.Connect(ctx, base); err == nil {
			c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			c.Close(ctx)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Cluster is a PostgreSQL server of one test's own, for tests that stop or restart it.
type Cluster struct {
	URL  string
	t    testing.TB
	bin  string
	data string
	port int
}

// StartCluster starts a throwaway PostgreSQL server (initdb and pg_ctl from the installation
// that make test uses) and stops it when the test ends.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	BaseURL(t)
	pgCtl := os.Getenv("SPARKGATE_TEST_PG_CTL")
	if pgCtl == "" {
		t.Skip("SPARKGATE_TEST_PG_CTL is not set: this test needs the throwaway PostgreSQL of make test")
	}
	dir, err := os.MkdirTemp("", "sparkgate-pg-own-")
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if out, err := exec.Command("chown", "postgres", dir).CombinedOutput(); err != nil {
			t.Fatalf("chown: %v %s", err, out)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	c := &Cluster{t: t, bin: filepath.Dir(pgCtl), data: filepath.Join(dir, "data"), port: port,
		URL: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)}
	c.run("initdb", "-D", c.data, "-A", "trust", "-U", "postgres")
	c.pgCtl("start")
	t.Cleanup(func() {
		c.run("pg_ctl", "-D", c.data, "-m", "immediate", "stop")
		os.RemoveAll(dir)
	})
	return c
}

func (c *Cluster) run(name string, args ...string) {
	c.t.Helper()
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	if os.Geteuid() == 0 {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(c.bin, name)}, args...)...)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		c.t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

func (c *Cluster) pgCtl(action string, extra ...string) {
	c.t.Helper()
	args := append([]string{"-D", c.data, "-l", c.data + ".log", "-w", "-o",
		fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", c.port, filepath.Dir(c.data))}, extra...)
	c.run("pg_ctl", append(args, action)...)
}

// Restart stops the server the hard way (connections are cut) and starts it again.
func (c *Cluster) Restart() {
	c.t.Helper()
	c.pgCtl("restart", "-m", "immediate")
}

// Stop stops the server the hard way; Start starts it again.
func (c *Cluster) Stop() {
	c.t.Helper()
	c.run("pg_ctl", "-D", c.data, "-m", "immediate", "-w", "stop")
}

// Start starts a server that Stop stopped.
func (c *Cluster) Start() {
	c.t.Helper()
	c.pgCtl("start")
}
