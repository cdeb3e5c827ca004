package integration

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// Lists filter by state, owner and a part of the name (beyond Livy: the UI's filters), among
// what the caller may view, paged among what they keep; a state that is none is a 400.
func TestListFilters(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{sparkHome: testdata(t, "stubspark"),
		args: []string{"--auth", "basic", "--htpasswd", htpasswdFile(t, map[string]string{"alice": "a-pw", "bob": "b-pw"}), "--access-control"}})
	create := func(user, name, job string) {
		r := s.do("POST", "/batches", fmt.Sprintf(`{"file":%q,"name":%q}`, testdata(t, "jobs/"+job), name), "Authorization", "Basic "+basicHeader(user, user[:1]+"-pw"))
		if r.status != 201 {
			t.Fatalf("create %s: %d %s", name, r.status, r.body)
		}
	}
	create("alice", "ETL-orders", "ok.py")
	create("bob", "etl-clicks", "ok.py")
	create("bob", "report", "fail.py")
	s.authorize = func(r *http.Request) { r.SetBasicAuth("bob", "b-pw") }
	waitFor(t, time.Minute, "the batches to end", func() bool {
		return s.do("GET", "/batches?state=success,dead", "").json(t)["total"].(float64) == 2 // bob's two
	})
	for query, want := range map[string][]string{
		"":                                  {"etl-clicks", "report"}, // bob sees his own only
		"?name=etl":                         {"etl-clicks"},
		"?state=dead":                       {"report"},
		"?owner=alice":                      {},
		"?state=success&name=ETL":           {"etl-clicks"},
		"?state=success,dead&from=1&size=1": {"report"},
	} {
		r := s.do("GET", "/batches"+query, "")
		var names []string
		for _, b := range r.json(t)["sessions"].([]any) {
			names = append(names, b.(map[string]any)["name"].(string))
		}
		if fmt.Sprint(names) != fmt.Sprint(want) {
			t.Errorf("GET /batches%s = %v, want %v", query, names, want)
		}
	}
	s.authorize = func(r *http.Request) { r.SetBasicAuth("alice", "a-pw") }
	if r := s.do("GET", "/batches?owner=alice&name=orders", ""); r.json(t)["total"].(float64) != 1 {
		t.Errorf("alice's own: %s", r.body)
	}
	if r := s.do("GET", "/batches?state=finished", ""); r.status != 400 {
		t.Errorf("an unknown state: %d %s, want 400", r.status, r.body)
	}
}
