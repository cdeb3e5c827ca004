package logfile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLinesPagesAGrowingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.log")
	ix := New()
	appendTo := func(s string) {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(s)
		f.Close()
	}
	check := func(from, size int, want []string, wantTotal int) {
		t.Helper()
		got, total, err := ix.Lines(path, from, size)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) || total != wantTotal {
			t.Errorf("Lines(%d,%d) = %q total %d, want %q total %d", from, size, got, total, want, wantTotal)
		}
	}
	check(0, 10, []string{}, 0) // missing file
	appendTo("")
	check(0, 10, []string{}, 0)
	appendTo("a\nb\n")
	check(0, 10, []string{"a", "b"}, 2)
	appendTo("c") // a line still being written counts
	check(1, 10, []string{"b", "c"}, 3)
	appendTo("c\r\n\nd\n")
	check(0, 100, []string{"a", "b", "cc", "", "d"}, 5)
	check(2, 2, []string{"cc", ""}, 5)
	check(5, 10, []string{}, 5)
	check(9, 10, []string{}, 5)
	tail, _ := Tail(path, 2)
	if fmt.Sprint(tail) != "[ d]" {
		t.Errorf("Tail = %q", tail)
	}
	appendTo("e\n")
	if tail, _ := Tail(path, 2); fmt.Sprint(tail) != "[d e]" {
		t.Errorf("Tail after growth = %q", tail)
	}
}

func TestLinesOverManyChunks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.log")
	var b strings.Builder
	const n = 50000
	for i := range n {
		fmt.Fprintf(&b, "line %d of a long log\n", i)
	}
	os.WriteFile(path, []byte(b.String()), 0o600)
	ix := New()
	got, total, err := ix.Lines(path, 31234, 3)
	if err != nil || total != n {
		t.Fatalf("total %d err %v", total, err)
	}
	want := []string{"line 31234 of a long log", "line 31235 of a long log", "line 31236 of a long log"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %q", got)
	}
}
