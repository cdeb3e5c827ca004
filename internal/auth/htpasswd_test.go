package auth_test

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sparkgate/sparkgate/internal/auth"
	"github.com/sparkgate/sparkgate/internal/auth/authtest"
)

func writeHtpasswd(t *testing.T, path string, users map[string]string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("# users of the test\n\n")
	for user, password := range users {
		hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(user + ":" + string(hash) + "\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

func basic(user, password string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(user, password) }
}

func TestHtpasswdConformance(t *testing.T) {
	path := filepath.Join(t.TempDir(), "htpasswd")
	writeHtpasswd(t, path, map[string]string{"alice": "wonder land", "bob": "builder"})
	h, err := auth.NewHtpasswd(path, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	authtest.Run(t, authtest.Subject{Auth: h, User: "alice", Good: basic("alice", "wonder land"),
		Bad: map[string]func(*http.Request){
			"wrong password":        basic("alice", "wonder"),
			"another user's":        basic("alice", "builder"),
			"unknown user":          basic("carol", "wonder land"),
			"empty password":        basic("alice", ""),
			"user name in the case": basic("Alice", "wonder land"),
		},
		Foreign: func(r *http.Request) { r.Header.Set("Authorization", "Bearer abc") },
	})
}

// The file is the truth: a user removed from it, or whose password changed, is refused
// within a second, though their password was remembered.
func TestHtpasswdFollowsItsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "htpasswd")
	writeHtpasswd(t, path, map[string]string{"alice": "one", "bob": "builder"})
	h, err := auth.NewHtpasswd(path, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	authenticate := func(user, password string) error {
		r, _ := http.NewRequest("GET", "/", nil)
		r.SetBasicAuth(user, password)
		_, err := h.Authenticate(http.Header{}, r)
		return err
	}
	if err := authenticate("alice", "one"); err != nil {
		t.Fatal(err)
	}
	writeHtpasswd(t, path, map[string]string{"alice": "two"})
	deadline := time.Now().Add(5 * time.Second)
	for authenticate("alice", "one") == nil || authenticate("bob", "builder") == nil {
		if time.Now().After(deadline) {
			t.Fatal("the old password or the removed user still pass 5 s after the file changed")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := authenticate("alice", "two"); err != nil {
		t.Errorf("the new password: %v", err)
	}
}

func TestHtpasswdRefusesWhatItCannotTrust(t *testing.T) {
	cases := map[string]string{
		"an MD5 hash":   "alice:$apr1$abcdefgh$0123456789abcdefghijkl\n",
		"a SHA-1 hash":  "alice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n",
		"plain text":    "alice:password\n",
		"no colon":      "alice\n",
		"a user twice":  "alice:$2y$05$" + strings.Repeat("a", 53) + "\nalice:$2y$05$" + strings.Repeat("a", 53) + "\n",
		"an empty user": ":$2y$05$" + strings.Repeat("a", 53) + "\n",
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "htpasswd")
			os.WriteFile(path, []byte(content), 0o600)
			if _, err := auth.NewHtpasswd(path, time.Minute); err == nil {
				t.Error("accepted")
			}
		})
	}
	if _, err := auth.NewHtpasswd(filepath.Join(t.TempDir(), "missing"), time.Minute); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing file: %v", err)
	}
}
