package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sparkgate/sparkgate/internal/auth"
	"github.com/sparkgate/sparkgate/internal/errkind"
	"github.com/sparkgate/sparkgate/internal/interactive"
	"github.com/sparkgate/sparkgate/internal/launcher/launchertest"
	"github.com/sparkgate/sparkgate/internal/logfile"
	"github.com/sparkgate/sparkgate/internal/store"
	"github.com/sparkgate/sparkgate/internal/store/bolt"
)

// TestKeyedStatementsRunOnce: a statement sent with a requestId (or Idempotency-Key) is made
// once; its repeats answer it (200), a reuse of the key for other code or kind is refused
// (422), and a malformed or missing key (PUT) is a 400 that adds nothing.
func TestKeyedStatementsRunOnce(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := bolt.Open(filepath.Join(t.TempDir(), "s.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sessions := interactive.New(interactive.Config{DataDir: t.TempDir(), InstanceID: "test"}, st, launchertest.New(t.TempDir()), logfile.New(), log)
	if err := sessions.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sessions.Stop)
	srv := httptest.NewServer(New(Config{}, nil, sessions, nil, log))
	t.Cleanup(srv.Close)

	type statement struct {
		ID   int64  `json:"id"`
		Code string `json:"code"`
	}
	do := func(method, path, body string, header map[string]string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp, out
	}
	if resp, body := do("POST", "/sessions", `{"kind":"pyspark"}`, nil); resp.StatusCode != http.StatusCreated {
		t.Fatalf("create session: %d %s", resp.StatusCode, body)
	}

	const key, other = "0f8fad5b-d9cb-469f-a165-70867728950e", "7c9e6679-7425-40de-944b-e07fc1f90ae7"
	for _, tc := range []struct {
		name, method, body string
		header             map[string]string
		status             int
		id                 int64 // the statement answered, when status < 300
		replayed           bool
	}{
		{"PUT needs a key", "PUT", `{"code":"1"}`, nil, 400, 0, false},
		{"a key that is no GUID", "POST", `{"code":"1"}`, map[string]string{"requestId": "my-key"}, 400, 0, false},
		{"two keys that differ", "POST", `{"code":"1"}`, map[string]string{"requestId": key, "Idempotency-Key": other}, 400, 0, false},
		{"first PUT creates", "PUT", `{"code":"spark.sql('INSERT INTO t VALUES (1)')"}`, map[string]string{"requestId": key}, 201, 0, false},
		{"repeated PUT answers it", "PUT", `{"code":"spark.sql('INSERT INTO t VALUES (1)')"}`, map[string]string{"requestId": key}, 200, 0, true},
		{"keyed POST with the alias answers it", "POST", `{"code":"spark.sql('INSERT INTO t VALUES (1)')","kind":"pyspark"}`,
			map[string]string{"Idempotency-Key": `"` + strings.ToUpper(key) + `"`}, 200, 0, true},
		{"the key with other code", "POST", `{"code":"2"}`, map[string]string{"requestId": key}, 422, 0, false},
		{"the key with another kind", "PUT", `{"code":"spark.sql('INSERT INTO t VALUES (1)')","kind":"sql"}`, map[string]string{"requestId": key}, 422, 0, false},
		{"POST without a key runs again", "POST", `{"code":"spark.sql('INSERT INTO t VALUES (1)')"}`, nil, 201, 1, false},
		{"keyed POST creates", "POST", `{"code":"3"}`, map[string]string{"requestId": other}, 201, 2, false},
		{"keyed POST repeated", "POST", `{"code":"3"}`, map[string]string{"requestId": other}, 200, 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(tc.method, "/sessions/0/statements", tc.body, tc.header)
			if resp.StatusCode != tc.status {
				t.Fatalf("%s: %d %s, want %d", tc.method, resp.StatusCode, body, tc.status)
			}
			if tc.status >= 300 {
				var msg struct{ Msg string }
				if json.Unmarshal(body, &msg) != nil || msg.Msg == "" {
					t.Errorf("error body %s, want Livy's {\"msg\": ...}", body)
				}
				return
			}
			var got statement
			if err := json.Unmarshal(body, &got); err != nil || got.ID != tc.id {
				t.Errorf("answered %s, want statement %d", body, tc.id)
			}
			if replayed := resp.Header.Get("Idempotent-Replayed") == "true"; replayed != tc.replayed {
				t.Errorf("Idempotent-Replayed %v, want %v", replayed, tc.replayed)
			}
			if loc := resp.Header.Get("Location"); !strings.HasSuffix(loc, "/statements/"+strconv.FormatInt(tc.id, 10)) {
				t.Errorf("Location %q, want statement %d's", loc, tc.id)
			}
		})
	}
	var list struct {
		Total int `json:"total_statements"`
	}
	_, body := do("GET", "/sessions/0/statements", "", nil)
	if err := json.Unmarshal(body, &list); err != nil || list.Total != 3 {
		t.Errorf("the session has %s, want 3 statements", body)
	}
}

// A statement's key is the authenticated user's: two users sending one GUID have two keys.
func TestStatementKeyIsScopedToTheUser(t *testing.T) {
	const guid = "0f8fad5b-d9cb-469f-a165-70867728950e"
	keyOf := func(user string, header http.Header, required bool) (*store.IdempotencyKey, error) {
		r := httptest.NewRequest("POST", "/sessions/0/statements", nil)
		r.Header = header
		return statementKey(r.WithContext(auth.WithIdentity(r.Context(), auth.Identity{User: user})), required)
	}
	ann, err := keyOf("ann", http.Header{"Requestid": {guid}}, false)
	if err != nil || ann == nil || ann.Scope != "ann" || ann.Key != guid {
		t.Fatalf("ann's key = %+v, %v", ann, err)
	}
	bob, err := keyOf("bob", http.Header{"Idempotency-Key": {guid}}, true)
	if err != nil || bob == nil || bob.Scope != "bob" || *bob == *ann {
		t.Errorf("bob's key = %+v, %v; want his own", bob, err)
	}
	if none, err := keyOf("ann", http.Header{}, false); none != nil || err != nil {
		t.Errorf("a POST without a key = %+v, %v; want none", none, err)
	}
	if _, err := keyOf("ann", http.Header{}, true); errkind.Of(err) != errkind.Invalid {
		t.Errorf("a PUT without a key: %v; want a 400", err)
	}
}
