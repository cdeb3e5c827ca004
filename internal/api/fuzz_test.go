package api

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/sparkgate/sparkgate/internal/errkind"
)

// A session reference, paging parameters and an idempotency key, whatever a client sends:
// never a panic, every refusal a 400, an id never negative, a page never past its bounds.
func FuzzRequestParameters(f *testing.F) {
	for _, seed := range [][3]string{{"12", "0", "100"}, {"-5", "-1", "99999999999999999999"}, {"nightly etl", "x", ""},
		{"٣", "1e3", "0x10"}, {"0f8fad5b-d9cb-469f-a165-70867728950e", "", "-0"}} {
		f.Add(seed[0], seed[1], seed[2])
	}
	f.Fuzz(func(t *testing.T, ref, from, size string) {
		id, name, err := parseRef(ref)
		if err != nil && errkind.Of(err) != errkind.Invalid {
			t.Fatalf("parseRef(%q): %v, not a 400", ref, err)
		}
		if err == nil && id < 0 {
			t.Fatalf("parseRef(%q) = %d, %q: a negative id", ref, id, name)
		}
		r := httptest.NewRequest("GET", "/batches?"+url.Values{"from": {from}, "size": {size}}.Encode(), nil)
		f, s, err := pageParams(r)
		if err != nil && errkind.Of(err) != errkind.Invalid {
			t.Fatalf("pageParams(%q, %q): %v, not a 400", from, size, err)
		}
		if err == nil && (f < 0 || s < 0 || s > maxPageSize) {
			t.Fatalf("pageParams(%q, %q) = %d, %d", from, size, f, s)
		}
		if _, err := requestIDFrom(http.Header{"Requestid": {ref}}); err != nil && errkind.Of(err) != errkind.Invalid {
			t.Fatalf("requestIDFrom(%q): %v, not a 400", ref, err)
		}
	})
}
