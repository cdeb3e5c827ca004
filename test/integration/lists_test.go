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

// Livy's paging with negative numbers, which clients send: size=-1 is every item (a page at
// most), from=-1 a log's tail and a list's start. They were 400s.
func TestNegativePagingAsLivy(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{sparkHome: testdata(t, "stubspark")})
	for range 2 {
		if r := s.do("POST", "/batches", fmt.Sprintf(`{"file":%q}`, testdata(t, "jobs/ok.py"))); r.status != 201 {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
	}
	waitFor(t, time.Minute, "the batches to end", func() bool {
		return s.do("GET", "/batches?state=success", "").json(t)["total"].(float64) == 2
	})
	for _, query := range []string{"?size=-1", "?from=-1", "?from=-1&size=-1"} {
		r := s.do("GET", "/batches"+query, "")
		if r.status != 200 {
			t.Fatalf("GET /batches%s = %d %s", query, r.status, r.body)
		}
		if page := r.json(t); len(page["sessions"].([]any)) != 2 || page["from"].(float64) != 0 {
			t.Errorf("GET /batches%s = %s, want both batches from 0", query, r.body)
		}
	}
	whole := s.do("GET", "/batches/0/log?size=-1", "")
	if whole.status != 200 {
		t.Fatalf("GET log?size=-1 = %d %s", whole.status, whole.body)
	}
	page := whole.json(t)
	total, lines := page["total"].(float64), page["log"].([]any)
	if total < 2 || float64(len(lines)) != total || page["from"].(float64) != 0 {
		t.Fatalf("GET log?size=-1 = %s, want every line from 0", whole.body)
	}
	tail := s.do("GET", "/batches/0/log?from=-1&size=1", "").json(t)
	if got := tail["log"].([]any); len(got) != 1 || got[0] != lines[len(lines)-1] || tail["from"].(float64) != total-1 {
		t.Errorf("GET log?from=-1&size=1 = %v, want the last line %q", tail, lines[len(lines)-1])
	}
	if r := s.do("GET", "/sessions?size=-1", ""); r.status != 200 {
		t.Errorf("GET /sessions?size=-1 = %d %s", r.status, r.body)
	}
}
