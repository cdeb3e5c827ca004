package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/launcher/launchertest"

	"github.com/sparkgate/sparkgate/internal/interactive"
	"github.com/sparkgate/sparkgate/internal/logfile"
	"github.com/sparkgate/sparkgate/internal/store/bolt"
)

// BenchmarkStatementRoundTrip is the server's share of a statement's round trip: POST the
// statement, the driver's poll takes it, the driver posts its output at once, and the client
// sees it available (polling every 100µs), all over HTTP on loopback with the embedded store
// (fsync on). A real driver adds its own run time of the code to this.
//
//	go test -run '^$' -bench StatementRoundTrip ./internal/api/
func BenchmarkStatementRoundTrip(b *testing.B) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := bolt.Open(filepath.Join(b.TempDir(), "s.db"), log)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	keeper := launchertest.New(b.TempDir())
	sessions := interactive.New(interactive.Config{DataDir: b.TempDir(), InstanceID: "bench"}, st, keeper, logfile.New(), log)
	if err := sessions.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer sessions.Stop()
	srv := httptest.NewServer(New(Config{}, nil, sessions, nil, log))
	defer srv.Close()
	c := srv.Client()

	do := func(method, path, body, secret string) (int, []byte) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if secret != "" {
			req.Header.Set("X-Sparkgate-Secret", secret)
		}
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, out
	}
	do("POST", "/sessions", `{"kind":"pyspark"}`, "")
	for keeper.Env(interactive.EnvSecret) == "" {
		time.Sleep(time.Millisecond)
	}
	secret := keeper.Env(interactive.EnvSecret)
	do("POST", "/driver/sessions/0/ready", `{"appId":"local-1"}`, secret)

	stop := make(chan struct{})
	driverDone := make(chan struct{})
	go func() { // the driver: answers each statement at once
		defer close(driverDone)
		for {
			select {
			case <-stop:
				return
			default:
			}
			status, body := do("GET", "/driver/sessions/0/next", "", secret)
			if status != http.StatusOK {
				continue
			}
			var msg interactive.Message
			json.Unmarshal(body, &msg)
			do("POST", fmt.Sprintf("/driver/sessions/0/statements/%d", msg.ID),
				`{"output":{"status":"ok","execution_count":0,"data":{"text/plain":"2"}}}`, secret)
		}
	}()

	trips := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		do("POST", "/sessions/0/statements", `{"code":"1+1"}`, "")
		for {
			_, body := do("GET", fmt.Sprintf("/sessions/0/statements/%d", i), "", "")
			if strings.Contains(string(body), `"state":"available"`) {
				break
			}
			time.Sleep(100 * time.Microsecond)
		}
		trips = append(trips, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(trips)
	b.ReportMetric(float64(trips[len(trips)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(trips[len(trips)*99/100].Microseconds()), "p99-µs")
	close(stop)
	do("DELETE", "/sessions/0", "", "") // ends the driver's poll
	<-driverDone
}
