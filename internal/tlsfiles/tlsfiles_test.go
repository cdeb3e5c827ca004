package tlsfiles_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/tlsfiles"
	"github.com/sparkgate/sparkgate/internal/tlsfiles/tlstest"
)

// A certificate rotated on disk is served from a handshake a second later; a pair that does
// not load (a half-written rotation) keeps the one served before.
func TestACertificateRotatedOnDiskIsServed(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	first, err := tlstest.WriteSelfSigned(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tlsfiles.Load(certFile, keyFile, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	serving := func() string {
		cert, err := c.Config().GetCertificate(nil)
		if err != nil {
			t.Fatal(err)
		}
		return cert.Leaf.SerialNumber.String()
	}
	if got := serving(); got != first.String() {
		t.Fatalf("serving %s, want %s", got, first)
	}
	second, err := tlstest.WriteSelfSigned(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for serving() != second.String() {
		if time.Now().After(deadline) {
			t.Fatal("the rotated certificate is not served 5 s after it was written")
		}
		time.Sleep(100 * time.Millisecond)
	}
	os.WriteFile(keyFile, []byte("not a key"), 0o600)
	time.Sleep(1100 * time.Millisecond)
	if got := serving(); got != second.String() {
		t.Errorf("after a broken rotation: serving %s, want the previous %s", got, second)
	}
	if _, err := tlsfiles.Load(certFile, keyFile, nil); err == nil {
		t.Error("a broken pair loads at start")
	}
}
