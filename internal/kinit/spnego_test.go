package kinit

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jcmturner/goidentity/v6"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/service"
	"github.com/jcmturner/gokrb5/v8/spnego"

	"github.com/sparkgate/sparkgate/internal/auth/krbtest"
	"github.com/sparkgate/sparkgate/internal/yarn"
)

// A ResourceManager that requires SPNEGO, as a kerberized YARN's does, answers the gateway's
// client when it carries the SPNEGO transport (with the body of a kill intact), and refuses
// it without; the service sees the launch principal.
func TestResourceManagerOverSPNEGO(t *testing.T) {
	kdc := krbtest.Start(t)
	serviceKeytab, err := keytab.Load(kdc.ServiceKeytab(t, krbtest.Service))
	if err != nil {
		t.Fatal(err)
	}
	principal := "sparkgate/localhost@" + krbtest.Realm
	launchKeytab := kdc.ServiceKeytab(t, principal)
	var seen []string
	rm := httptest.NewServer(spnego.SPNEGOKRB5Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := goidentity.FromHTTPRequestContext(r)
		body, _ := io.ReadAll(r.Body)
		seen = append(seen, r.Method+" "+id.UserName()+"@"+id.Domain()+" "+string(body))
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"apps":{"app":[{"id":"application_1_0001","state":"RUNNING"}]}}`)
	}), serviceKeytab, service.DecodePAC(false)))
	defer rm.Close()
	base := strings.Replace(rm.URL, "127.0.0.1", "localhost", 1) // the service is HTTP/localhost

	if _, err := yarn.NewResourceManager(base, nil).Apps(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("without SPNEGO: %v, want a 401", err)
	}
	transport, err := NewSPNEGO(principal, launchKeytab, kdc.Config, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer transport.Close()
	client := yarn.NewResourceManager(base, transport)
	apps, err := client.Apps(context.Background(), nil)
	if err != nil || len(apps) != 1 || apps[0].ID != "application_1_0001" {
		t.Fatalf("Apps over SPNEGO: %v, %v", apps, err)
	}
	if err := client.Kill(context.Background(), "application_1_0001"); err != nil {
		t.Fatalf("Kill over SPNEGO: %v", err)
	}
	want := []string{"GET sparkgate/localhost@" + krbtest.Realm + " ", "PUT sparkgate/localhost@" + krbtest.Realm + ` {"state":"KILLED"}`}
	if strings.Join(seen, "|") != strings.Join(want, "|") {
		t.Errorf("the RM saw %q, want %q", seen, want)
	}

	if _, err := NewSPNEGO(principal, kdc.ServiceKeytab(t, "other/localhost@"+krbtest.Realm), kdc.Config, nil); err == nil {
		t.Error("a login from a keytab without the principal's keys succeeded")
	}
}
