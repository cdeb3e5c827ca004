package kinit

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/auth/krbtest"
)

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("the cache is %v, want 0600", info.Mode().Perm())
	}
	return info.Sys().(*syscall.Stat_t).Ino
}

// The keeper fills its cache with the launch principal's ticket from a real MIT KDC before
// Start returns, renews it at its interval, and fails to start on a keytab that is not the
// principal's.
func TestKeeperKeepsTheLaunchTicket(t *testing.T) {
	kdc := krbtest.Start(t)
	principal := "sparkgate/localhost@" + krbtest.Realm
	keytab := kdc.ServiceKeytab(t, principal)
	env := append(os.Environ(), "KRB5_CONFIG="+kdc.Config)
	cache := filepath.Join(t.TempDir(), "kerberos", "launch.ccache")
	log := slog.New(slog.DiscardHandler)

	k := New(Config{Principal: principal, Keytab: keytab, Cache: cache, Refresh: 200 * time.Millisecond, Env: env}, log)
	if err := k.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer k.Stop()
	klist := exec.Command("klist", "-c", "FILE:"+cache)
	klist.Env = env
	out, err := klist.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Default principal: "+principal) || !strings.Contains(string(out), "krbtgt/"+krbtest.Realm) {
		t.Fatalf("klist of the kept cache: %v\n%s", err, out)
	}
	if k.CacheEnv() != "KRB5CCNAME=FILE:"+cache {
		t.Errorf("CacheEnv = %q", k.CacheEnv())
	}
	first := inode(t, cache)
	deadline := time.Now().Add(20 * time.Second)
	for inode(t, cache) == first {
		if time.Now().After(deadline) {
			t.Fatal("the ticket was not renewed")
		}
		time.Sleep(50 * time.Millisecond)
	}

	other := kdc.ServiceKeytab(t, "other/localhost@"+krbtest.Realm)
	bad := New(Config{Principal: principal, Keytab: other, Cache: filepath.Join(t.TempDir(), "c"), Env: env}, log)
	if err := bad.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "kinit -k -t") {
		t.Errorf("a keytab without the principal's keys: %v, want kinit's failure", err)
	}
}
