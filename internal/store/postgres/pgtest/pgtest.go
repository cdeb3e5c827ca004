// Package pgtest gives tests a PostgreSQL database of their own: the server named by
// SPARKGATE_TEST_POSTGRES_URL (make test starts a throwaway one), in a fresh schema per test.
package pgtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// BaseURL returns the test server's URL, skipping the test when there is none, or failing it
// when SPARKGATE_REQUIRE_POSTGRES is set.
func BaseURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("SPARKGATE_TEST_POSTGRES_URL")
	if u == "" {
		if os.Getenv("SPARKGATE_REQUIRE_POSTGRES") != "" {
			t.Fatal("SPARKGATE_TEST_POSTGRES_URL is not set; run through make test")
		}
		t.Skip("SPARKGATE_TEST_POSTGRES_URL is not set: PostgreSQL test skipped (make test sets it)")
	}
	return u
}

// URL returns a URL whose connections use a new, empty schema, dropped when the test ends.
func URL(t testing.TB) string {
	t.Helper()
	base := BaseURL(t)
	schema := fmt.Sprintf("t_%d", rand.Uint64())
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c, err := pgx.Connect(ctx, base); err == nil {
			c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			c.Close(ctx)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
