package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// browser starts a headless Chromium (Debian's) for one test, which sends the given headers
// with every request. Without Chromium the test is skipped, unless SPARKGATE_REQUIRE_BROWSER
// is set (as make test does), where it fails.
func browser(t *testing.T, headers map[string]any) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("SPARKGATE_REQUIRE_BROWSER") != "" {
			t.Fatal("chromium is not installed (Debian's chromium); make test installs it")
		}
		t.Skip("no chromium")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.WindowSize(1300, 900))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// the first run starts the browser, and lives as long as it: no timeout here
	err = chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: headers})
		return err
	}))
	if err != nil {
		t.Fatal(err)
	}
	return ctx
}

// run runs browser steps within limit, failing the test with what it was doing.
func run(t *testing.T, ctx context.Context, limit time.Duration, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser, %s: %v", what, err)
	}
}

// value runs one browser action within limit and returns its value.
func value[T any](t *testing.T, ctx context.Context, limit time.Duration, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("browser, %s: %v", what, err)
	}
	return v
}

// until waits for a JavaScript condition to hold.
func until(expression string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[bool](expression, chromedp.WithPollingInterval(100*time.Millisecond))(ctx, t)
		return err
	})
}

func css(selector string) chromedp.CSS { return chromedp.CSS(selector) }

// screenshot saves the page for a person to look at, in .cache/ui-screenshots.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png := value(t, ctx, 20*time.Second, "screenshot", chromedp.FullScreenshot(100))
	dir, _ := filepath.Abs("../../.cache/ui-screenshots")
	os.MkdirAll(dir, 0o755)
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// The web UI in a real headless Chromium, on real Spark, behind --auth basic: a batch appears
// in the list by itself and reaches success, its page shows its log's tail; a session's page
// runs spark.range(5).show() and a %table statement and shows the table, cancels a running
// statement, and stops the session.
func TestWebUI(t *testing.T) {
	home := sparkHome(t)
	t.Parallel()
	s := startServer(t, serverOpts{sparkHome: home, args: []string{"--auth", "basic", "--csrf-protection",
		"--htpasswd", htpasswdFile(t, map[string]string{"alice": "alice-pw"})}})
	ctx := browser(t, map[string]any{"Authorization": "Basic " + basicHeader("alice", "alice-pw")})
	alice := as("alice")

	run(t, ctx, 30*time.Second, "open the lists", chromedp.Navigate(s.url("/")), chromedp.WaitVisible(css(`#batches-rows`)))
	r := s.do("POST", "/batches", fmt.Sprintf(`{"file":%q,"args":["2"],"name":"pi"}`, filepath.Join(examplesDir(t), "pi.py")), append(alice, "X-Requested-By", "t")...)
	if r.status != 201 {
		t.Fatalf("batch: %d %s", r.status, r.body)
	}
	id := int(r.json(t)["id"].(float64))
	row := fmt.Sprintf(`#batches-rows tr[data-id="%d"]`, id)
	run(t, ctx, sparkTimeout, "see the batch reach success in the list, which refreshes by itself",
		chromedp.WaitVisible(css(row+` [data-state="success"]`)))
	if owner := value(t, ctx, 10*time.Second, "read the row", chromedp.Text(css(row+` td:nth-child(3)`))); owner != "alice" {
		t.Errorf("the row's owner: %q", owner)
	}
	screenshot(t, ctx, "lists")
	run(t, ctx, 30*time.Second, "open the batch and read its log's tail", chromedp.Click(css(row+` a`)),
		chromedp.WaitVisible(css(`#log`)), until(`document.getElementById("log").textContent.includes("Pi is roughly")`))

	r = s.do("POST", "/sessions", `{"kind":"pyspark","conf":{"spark.ui.enabled":"false"}}`, append(alice, "X-Requested-By", "t")...)
	if r.status != 201 {
		t.Fatalf("session: %d %s", r.status, r.body)
	}
	sid := int(r.json(t)["id"].(float64))
	runStatement := func(code string) {
		t.Helper()
		run(t, ctx, 20*time.Second, "run "+code, chromedp.SetValue(css(`#code`), code), chromedp.Click(css(`#run`)),
			until(`document.getElementById("code").value === ""`))
	}
	run(t, ctx, sparkTimeout, "open the session and wait for it to be idle", chromedp.Navigate(s.url(fmt.Sprintf("/ui/sessions/%d", sid))),
		chromedp.WaitVisible(css(`#main [data-state="idle"]`)))
	runStatement("spark.range(5).show()")
	run(t, ctx, sparkTimeout, "see the output", chromedp.WaitVisible(css(`[data-statement="0"][data-state="available"] .output pre`)))
	if text := value(t, ctx, 10*time.Second, "read the output", chromedp.Text(css(`[data-statement="0"] .output pre`))); !strings.Contains(text, "| id|") || !strings.Contains(text, "|  4|") {
		t.Errorf("spark.range(5).show() shows %q", text)
	}
	runStatement("rows = [(i, 'n%d' % i) for i in range(3)]\n%table rows")
	run(t, ctx, sparkTimeout, "see the %table as a table", chromedp.WaitVisible(css(`[data-statement="1"][data-state="available"] .output table`)))
	headers := value(t, ctx, 10*time.Second, "read the table's head", chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-statement="1"] .output th')].map(e => e.textContent)`))
	cells := value(t, ctx, 10*time.Second, "read the table", chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-statement="1"] .output td')].map(e => e.textContent)`))
	if len(headers) != 2 || strings.Join(cells, ",") != "0,n0,1,n1,2,n2" {
		t.Errorf("the %%table: headers %q, cells %q", headers, cells)
	}
	runStatement("import time\ntime.sleep(120)")
	run(t, ctx, sparkTimeout, "cancel the running statement", chromedp.WaitVisible(css(`[data-statement="2"][data-state="running"] button`)),
		chromedp.Click(css(`[data-statement="2"] button`)), chromedp.WaitVisible(css(`[data-statement="2"][data-state="cancelled"]`)))
	screenshot(t, ctx, "session")
	run(t, ctx, sparkTimeout, "stop the session (the UI asks first: yes)", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](`window.confirm = () => true; true`)(ctx, t)
		return err
	}), chromedp.Click(css(`#main .card button.danger`)), chromedp.WaitVisible(css(`#batches-rows`)))
	if r := s.do("GET", fmt.Sprintf("/sessions/%d", sid), "", alice...); r.status != 404 {
		t.Errorf("the session after Stop: %d %s", r.status, r.body)
	}
}
