package logfile

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

// newlines writes a log of n empty lines: the most lines a log of n bytes can hold.
func newlines(t testing.TB, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "empty-lines.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = '\n'
	}
	for written := 0; written < n; written += len(chunk) {
		if _, err := f.Write(chunk[:min(len(chunk), n-written)]); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// heapGrowth is how much more heap is live after do than before it, both after a GC: what do
// left behind (keep holds what the caller keeps alive, such as the index).
func heapGrowth(do func() any) (uint64, any) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	kept := do()
	runtime.GC()
	runtime.ReadMemStats(&after)
	if after.HeapAlloc < before.HeapAlloc {
		return 0, kept
	}
	return after.HeapAlloc - before.HeapAlloc, kept
}

// A log of 32 MiB of empty lines (33 million lines) costs its index a few KiB, not 8 bytes a
// line: what any user's job prints cannot exhaust the server's memory.
func TestIndexMemoryIsBoundedByBytesWhateverTheLines(t *testing.T) {
	const size = 32 << 20
	path := newlines(t, size)
	ix := New()
	grown, kept := heapGrowth(func() any {
		lines, total, err := ix.Lines(path, size-3, 10)
		if err != nil || total != size || !slices.Equal(lines, []string{"", "", ""}) {
			t.Errorf("Lines = %q, total %d, %v; want the last 3 of %d lines", lines, total, err, size)
		}
		return ix
	})
	runtime.KeepAlive(kept)
	t.Logf("the index of %d empty lines holds %d KiB", size, grown>>10)
	if grown > 2<<20 {
		t.Errorf("the index of %d empty lines holds %d KiB of heap, want under 2 MiB", size, grown>>10)
	}
}

// The last lines of a log come from its end: no index of the whole log is built or kept.
func TestTailReadsTheEndOnly(t *testing.T) {
	const size = 32 << 20
	path := newlines(t, size)
	grown, tail := heapGrowth(func() any {
		tail, err := Tail(path, 10)
		if err != nil || len(tail) != 10 {
			t.Errorf("Tail = %q, %v", tail, err)
		}
		return tail
	})
	runtime.KeepAlive(tail)
	t.Logf("the tail of %d empty lines left %d KiB", size, grown>>10)
	if grown > 1<<20 {
		t.Errorf("the tail of %d empty lines left %d KiB of heap behind, want under 1 MiB", size, grown>>10)
	}
}

// The cache holds indexes within its budget of bytes, dropping the least recently used, and
// a file whose index was dropped pages as before.
func TestCacheIsBoundedByBytes(t *testing.T) {
	dir := t.TempDir()
	ix := New()
	ix.shape = shape{stride: 16, maxCheckpoints: 64}
	ix.budget = 4 * (indexOverhead + 64*checkpointBytes)
	var paths []string
	for i := range 20 {
		path := filepath.Join(dir, fmt.Sprintf("%d.log", i))
		if err := os.WriteFile(path, []byte(strings.Repeat(fmt.Sprintf("line of file %d\n", i), 500)), 0o600); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
		if _, _, err := ix.Lines(path, 10, 1); err != nil {
			t.Fatal(err)
		}
		if files, bytes := ix.Cached(); bytes > ix.budget || files == 0 {
			t.Fatalf("after %d files the cache holds %d indexes of %d bytes, over its budget of %d", i+1, files, bytes, ix.budget)
		}
	}
	for i, path := range paths {
		got, total, err := ix.Lines(path, 499, 5)
		if want := []string{fmt.Sprintf("line of file %d", i)}; err != nil || total != 500 || !slices.Equal(got, want) {
			t.Errorf("file %d: %q, %d, %v", i, got, total, err)
		}
	}
	for _, path := range paths {
		ix.Forget(path)
	}
	if files, bytes := ix.Cached(); files != 0 || bytes != 0 {
		t.Errorf("after forgetting every file the cache holds %d indexes of %d bytes", files, bytes)
	}
}

// A file that was truncated and rewritten is read afresh.
func TestLinesOfATruncatedFile(t *testing.T) {
	path := writeLog(t, strings.Repeat("old line\n", 1000))
	ix := New()
	ix.shape = shape{stride: 8, maxCheckpoints: 16}
	if _, total, _ := ix.Lines(path, 900, 1); total != 1000 {
		t.Fatalf("total %d", total)
	}
	os.WriteFile(path, []byte("new\nlines\n"), 0o600)
	if got, total, err := ix.Lines(path, 1, 5); err != nil || total != 2 || !slices.Equal(got, []string{"lines"}) {
		t.Errorf("after truncation: %q, %d, %v", got, total, err)
	}
}

// The last lines come within MaxTailBytes: fewer of them when they are long, the last one cut
// to its end when it alone is longer.
func TestTailWithinItsBudget(t *testing.T) {
	long := strings.Repeat("x", MaxTailBytes/3)
	for _, tc := range []struct {
		name, content string
		n             int
		want          []string
	}{
		{"short lines", "a\nb\r\nc\n", 2, []string{"b", "c"}},
		{"a last line being written", "a\nb", 5, []string{"a", "b"}},
		{"lines that fit", strings.Repeat("y\n", 5000) + long + "\n" + long + "\n", 2, []string{long, long}},
		{"fewer lines when long", strings.Repeat(long+"\n", 10), 10, []string{long, long}},
		{"a line over the budget", "z\n" + strings.Repeat("w", MaxTailBytes+100) + "\n", 2, []string{strings.Repeat("w", MaxTailBytes-1)}},
		{"none asked", "a\n", 0, []string{}},
		{"an empty file", "", 3, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Tail(writeLog(t, tc.content), tc.n)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("Tail(%d) = %d lines %.40q, %v; want %d lines %.40q", tc.n, len(got), got, err, len(tc.want), tc.want)
			}
		})
	}
	if got, err := Tail(filepath.Join(t.TempDir(), "missing"), 3); err != nil || len(got) != 0 {
		t.Errorf("a missing file: %q, %v", got, err)
	}
}

// Pages of several files read at once, while one grows, through a cache too small for them
// all: each answer is right (run with -race).
func TestConcurrentPagesThroughASmallCache(t *testing.T) {
	dir := t.TempDir()
	ix := New()
	ix.shape = shape{stride: 32, maxCheckpoints: 8}
	ix.budget = 2 * (indexOverhead + 8*checkpointBytes)
	var paths []string
	for i := range 6 {
		path := filepath.Join(dir, fmt.Sprintf("%d.log", i))
		var b strings.Builder
		for j := range 300 {
			fmt.Fprintf(&b, "%d\n", j)
		}
		os.WriteFile(path, []byte(b.String()), 0o600)
		paths = append(paths, path)
	}
	growing, err := os.OpenFile(paths[0], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer growing.Close()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for k := range 200 {
				from := (k*37 + g) % 300
				got, total, err := ix.Lines(paths[(k+g)%len(paths)], from, 3)
				if err != nil || total < 300 || len(got) == 0 || got[0] != fmt.Sprint(from) {
					t.Errorf("Lines(%d) = %q, %d, %v", from, got, total, err)
					return
				}
			}
		})
	}
	for j := 300; j < 400; j++ {
		fmt.Fprintf(growing, "%d\n", j)
	}
	wg.Wait()
	if got, total, _ := ix.Lines(paths[0], 399, 1); total != 400 || !slices.Equal(got, []string{"399"}) {
		t.Errorf("the grown file: %q of %d", got, total)
	}
}
