package access

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/sparkgate/sparkgate/internal/auth"
	"github.com/sparkgate/sparkgate/internal/errkind"
)

func user(name string, groups ...string) auth.Identity {
	return auth.Identity{User: name, Groups: groups}
}

var policy = New(Config{Enabled: true,
	Allowed:    []string{"alice", "bob", "paul", "vera", "mona", "root", "group:staff"},
	Viewers:    []string{"vera", "group:auditors"},
	Modifiers:  []string{"mona"},
	Superusers: []string{"root"},
	Groups:     map[string][]string{"auditors": {"ada"}, "staff": {"ada", "sam"}},
})

// Who may do what to alice's session run as paul.
func TestWhoMayDoWhat(t *testing.T) {
	s := Session{Kind: "session", ID: 7, Owner: "alice", ProxyUser: "paul"}
	cases := []struct {
		who          auth.Identity
		view, modify bool
	}{
		{user("alice"), true, true},            // the owner
		{user("paul"), true, true},             // the proxy user
		{user("bob"), false, false},            // another user
		{user("vera"), true, false},            // a view user
		{user("ada"), true, false},             // a viewer by a static group
		{user("sam", "auditors"), true, false}, // a viewer by the authenticator's group
		{user("mona"), true, true},             // a modify user
		{user("root"), true, true},             // a superuser
		{auth.Identity{}, false, false},        // anonymous
	}
	for _, c := range cases {
		if got := policy.Can(c.who, View, s); got != c.view {
			t.Errorf("%q view = %v, want %v", c.who.User, got, c.view)
		}
		if got := policy.Can(c.who, Modify, s); got != c.modify {
			t.Errorf("%q modify = %v, want %v", c.who.User, got, c.modify)
		}
	}
	if err := policy.Check(user("bob"), Modify, s); errkind.Of(err) != errkind.Forbidden || err.Error() != `user "bob" may not modify session 7` {
		t.Errorf("denial: %v", err)
	}
	// an anonymous request is nobody's owner, even of a session without one
	if policy.Can(auth.Identity{}, View, Session{ID: 1}) {
		t.Error("anonymous views an ownerless session")
	}
}

func TestWhoMayUseTheServer(t *testing.T) {
	for who, want := range map[string]bool{"alice": true, "sam": true, "root": true, "eve": false, "": false} {
		if got := policy.Use(user(who)) == nil; got != want {
			t.Errorf("Use(%q) = %v, want %v", who, got, want)
		}
	}
	if New(Config{}).Use(user("eve")) != nil || !New(Config{}).Can(user("eve"), Modify, Session{Owner: "alice"}) {
		t.Error("access control off refuses someone")
	}
}

func TestImpersonation(t *testing.T) {
	on := New(Config{Enabled: true, Impersonation: true, Superusers: []string{"root"},
		Groups:         map[string][]string{"etl": {"svc_a", "svc_b"}, "analysts": {"ann"}},
		MayImpersonate: map[string][]string{"alice": {"paul"}, "group:analysts": {"group:etl"}, "ops": {"*"}}})
	off := New(Config{Enabled: true})
	cases := []struct {
		p                     *Policy
		who                   auth.Identity
		requested, doAs, want string
		kind                  errkind.Kind
	}{
		{on, user("alice"), "", "", "alice", 0}, // runs as themselves, as Livy
		{on, user("alice"), "alice", "", "alice", 0},
		{on, user("alice"), "paul", "", "paul", 0}, // a rule
		{on, user("alice"), "", "paul", "paul", 0}, // ?doAs=
		{on, user("alice"), "bob", "", "", errkind.Forbidden},
		{on, user("alice"), "paul", "bob", "", errkind.Invalid},
		{on, user("ann"), "svc_b", "", "svc_b", 0}, // group to group
		{on, user("ann"), "paul", "", "", errkind.Forbidden},
		{on, user("ops"), "anyone", "", "anyone", 0},
		{on, user("root"), "hdfs", "", "hdfs", 0}, // a superuser
		{on, auth.Identity{}, "x", "", "x", 0},    // no authentication: unchecked
		{off, user("alice"), "", "", "", 0},
		{off, user("alice"), "alice", "", "", errkind.Invalid}, // not shown as if applied
		{off, user("alice"), "", "alice", "", errkind.Invalid},
	}
	for _, c := range cases {
		got, err := c.p.ProxyUser(c.who, c.requested, c.doAs)
		if got != c.want || (err == nil) != (c.kind == 0) || (err != nil && errkind.Of(err) != c.kind) {
			t.Errorf("%q asking %q/%q: %q, %v; want %q (kind %d)", c.who.User, c.requested, c.doAs, got, err, c.want, c.kind)
		}
	}
}

func TestReadGroups(t *testing.T) {
	path := filepath.Join(t.TempDir(), "groups")
	os.WriteFile(path, []byte("# groups\nanalysts: ann, bob\n\netl:svc_a\n"), 0o600)
	got, err := ReadGroups(path)
	if want := map[string][]string{"analysts": {"ann", "bob"}, "etl": {"svc_a"}}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("= %v, %v; want %v", got, err, want)
	}
	os.WriteFile(path, []byte("no colon here\n"), 0o600)
	if _, err := ReadGroups(path); err == nil {
		t.Error("a line without a colon passed")
	}
}
