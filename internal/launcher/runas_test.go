package launcher

import "testing"

// With impersonation an application runs as its proxy user's own OS account only when that
// is an account of a person: never root, nobody, a system account, or one that does not exist;
// and only the proxy user sparkgate gave spark-submit counts, not an argument of the user's.
func TestRunAsTheProxyUsersOwnAccountOnlyWhenItIsOne(t *testing.T) {
	cases := []struct {
		accounts bool
		argv     []string
	}{
		{false, []string{"spark-submit", "--proxy-user=root", "job.py"}},
		{true, []string{"spark-submit", "--proxy-user=root", "job.py"}},
		{true, []string{"spark-submit", "--proxy-user=nobody", "job.py"}},
		{true, []string{"spark-submit", "--proxy-user=daemon", "job.py"}},
		{true, []string{"spark-submit", "--proxy-user=no-such-user-of-this-host", "job.py"}},
		{true, []string{"spark-submit", "job.py", "--proxy-user=root"}},
	}
	for _, c := range cases {
		l := &Launcher{cfg: Config{AppUser: "spark-apps", ProxyUserAccounts: c.accounts}}
		if got := l.runAs(c.argv); got != "spark-apps" {
			t.Errorf("proxy users' accounts %v, %q: runs as %q, want the app user", c.accounts, c.argv, got)
		}
	}
}
