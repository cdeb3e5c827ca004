package storetest

import (
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/sparkgate/sparkgate/internal/store"
	"github.com/sparkgate/sparkgate/internal/store/bolt"
)

// Embedded opens a fresh embedded store in a temporary directory for the unit tests of the
// packages above the store; it is closed when the test ends.
func Embedded(t testing.TB) store.Store {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "s.db"), slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
