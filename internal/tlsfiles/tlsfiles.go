// Package tlsfiles serves a TLS certificate from its PEM files and follows the files: a
// certificate rotated on disk (by cert-manager, certbot, an operator) is served from the next
// handshake on, without a restart. A pair that does not load keeps the one served before.
package tlsfiles

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// recheck is how often the files are looked at again.
const recheck = time.Second

// Certificate is a key pair read from certFile and keyFile, re-read when either changes.
type Certificate struct {
	certFile, keyFile string
	log               *slog.Logger
	mu                sync.Mutex
	cert              *tls.Certificate
	stamp             [2]fileStamp
	next              time.Time
}

type fileStamp struct {
	mod  time.Time
	size int64
}

// Load reads the pair; an error here stops the start.
func Load(certFile, keyFile string, log *slog.Logger) (*Certificate, error) {
	c := &Certificate{certFile: certFile, keyFile: keyFile, log: log}
	stamp, err := c.stamps()
	if err != nil {
		return nil, err
	}
	if err := c.load(stamp); err != nil {
		return nil, err
	}
	return c, nil
}

// Config is a server TLS configuration (TLS 1.2 at least) serving the certificate.
func (c *Certificate) Config() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: c.get}
}

func (c *Certificate) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := time.Now(); now.After(c.next) {
		c.next = now.Add(recheck)
		if stamp, err := c.stamps(); err == nil && stamp != c.stamp {
			if err := c.load(stamp); err != nil {
				c.log.Error("the TLS certificate's files changed but do not load; serving the previous certificate", "err", err)
			} else {
				c.log.Info("serving the TLS certificate read anew", "cert", c.certFile, "not_after", c.cert.Leaf.NotAfter)
			}
		}
	}
	return c.cert, nil
}

func (c *Certificate) load(stamp [2]fileStamp) error {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("TLS certificate %s and key %s: %w", c.certFile, c.keyFile, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return err
		}
	}
	c.cert, c.stamp = &cert, stamp
	return nil
}

func (c *Certificate) stamps() ([2]fileStamp, error) {
	var s [2]fileStamp
	for i, path := range []string{c.certFile, c.keyFile} {
		fi, err := os.Stat(path)
		if err != nil {
			return s, fmt.Errorf("TLS: %w", err)
		}
		s[i] = fileStamp{fi.ModTime(), fi.Size()}
	}
	return s, nil
}

// CertPool reads the PEM certificates of path into a pool, for a client's RootCAs.
func CertPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA file %s holds no PEM certificate", path)
	}
	return pool, nil
}
