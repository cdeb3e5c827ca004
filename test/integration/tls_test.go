package integration

import (
	"crypto/tls"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/tlsfiles/tlstest"
)

// The API over TLS on real Spark: HSTS and the security headers; plain HTTP refused; a
// session's driver reaches the gateway over https, trusting --tls-ca-file; a certificate
// rotated on disk is served without a restart, and the session goes on.
func TestTLS(t *testing.T) {
	home := sparkHome(t)
	t.Parallel()
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if _, err := tlstest.WriteSelfSigned(cert, key); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, serverOpts{sparkHome: home, caFile: cert, args: []string{"--tls-cert", cert, "--tls-key", key, "--tls-ca-file", cert}})
	r := s.do("GET", "/version", "")
	if r.status != 200 || r.header.Get("Strict-Transport-Security") != "max-age=31536000" ||
		r.header.Get("X-Content-Type-Options") != "nosniff" || r.header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("GET /version over TLS: %d, headers %v", r.status, r.header)
	}
	if resp, err := http.Get("http://" + s.addr + "/version"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("plain HTTP: %d, want 400", resp.StatusCode)
		}
	}
	if r := s.do("POST", "/sessions", `{"kind":"pyspark","conf":{"spark.ui.enabled":"false"}}`); r.status != 201 {
		t.Fatalf("POST /sessions = %d %s", r.status, r.body)
	}
	waitFor(t, sparkTimeout, "the session's driver to come up over https", func() bool { return s.sessionState(0) == "idle" })
	if got := textOf(t, s.runStatement(0, `{"code":"print(6 * 7)"}`)); got != "42" {
		t.Errorf("a statement over TLS: %q", got)
	}

	serving := func() string {
		conn, err := tls.Dial("tcp", s.addr, &tls.Config{InsecureSkipVerify: true}) // which certificate, not whether trusted
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	rotated, err := tlstest.WriteSelfSigned(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the rotated certificate to be served", func() bool { return serving() == rotated.String() })
	s.client = trustingClient(t, cert) // the new certificate, the new trust
	if got := textOf(t, s.runStatement(0, `{"code":"print(6 * 8)"}`)); got != "48" {
		t.Errorf("a statement after the rotation: %q", got)
	}
}
