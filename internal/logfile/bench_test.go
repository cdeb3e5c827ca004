package logfile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchLog writes a log of 1 million lines of Spark's length (about 90 MiB).
func benchLog(b *testing.B) (string, int) {
	b.Helper()
	const lines = 1 << 20
	path := filepath.Join(b.TempDir(), "big.log")
	var sb strings.Builder
	for i := range lines {
		fmt.Fprintf(&sb, "26/12/07 03:00:00 INFO Executor: Finished task %d.0 in stage 1.0 (TID %d). 1234 bytes result\n", i, i)
	}
	if err := os.WriteFile(path, []byte(sb.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	return path, lines
}

// BenchmarkLinesPage pages 100 lines at spread offsets of a large log whose index is built.
//
//	go test -run '^$' -bench 'Lines|Tail' -benchmem ./internal/logfile/
func BenchmarkLinesPage(b *testing.B) {
	path, lines := benchLog(b)
	ix := New()
	ix.Lines(path, 0, 1)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		from := (i * 7919) % (lines - 100)
		if got, _, err := ix.Lines(path, from, 100); err != nil || len(got) != 100 {
			b.Fatal(len(got), err)
		}
	}
}

// BenchmarkLinesFirstPage is the first page of a large log: the whole index is built.
func BenchmarkLinesFirstPage(b *testing.B) {
	path, _ := benchLog(b)
	for b.Loop() {
		if got, _, err := New().Lines(path, 0, 100); err != nil || len(got) != 100 {
			b.Fatal(len(got), err)
		}
	}
}

// BenchmarkTail is a view's last 10 lines of a large log.
func BenchmarkTail(b *testing.B) {
	path, _ := benchLog(b)
	for b.Loop() {
		if got, err := Tail(path, 10); err != nil || len(got) != 10 {
			b.Fatal(len(got), err)
		}
	}
}
