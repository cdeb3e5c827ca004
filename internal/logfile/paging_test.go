package logfile

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeLog(t testing.TB, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "out.log")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// naiveLines is what Lines must answer, computed the slow way.
func naiveLines(content string, from, size int) ([]string, int) {
	all := strings.Split(content, "\n")
	if strings.HasSuffix(content, "\n") || content == "" {
		all = all[:len(all)-1]
	}
	for i := range all {
		all[i] = strings.TrimSuffix(all[i], "\r")
	}
	if from < 0 || size <= 0 || from >= len(all) {
		return []string{}, len(all)
	}
	return all[from : from+min(size, len(all)-from)], len(all)
}

func TestLinesTakesAnyPagingArguments(t *testing.T) {
	path := writeLog(t, "a\nb\nc\nd\n")
	for _, tc := range []struct {
		name       string
		from, size int
		want       []string
	}{
		{"first page", 0, 2, []string{"a", "b"}},
		{"size past the end", 2, 100, []string{"c", "d"}},
		{"size overflows from+size", 1, math.MaxInt, []string{"b", "c", "d"}},
		{"from and size at the maximum", math.MaxInt, math.MaxInt, []string{}},
		{"from past the end", 4, 1, []string{}},
		{"negative from", -1, 2, []string{}},
		{"negative size", 0, -5, []string{}},
		{"most negative size", 1, math.MinInt, []string{}},
		{"zero size", 0, 0, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ix := New()
			got, total, err := ix.Lines(path, tc.from, tc.size)
			if err != nil || total != 4 || !slices.Equal(got, tc.want) {
				t.Errorf("Lines(%d, %d) = %q, %d, %v; want %q, 4", tc.from, tc.size, got, total, err, tc.want)
			}
			// the index stays usable after any request: a tail and a page still answer
			if tail, err := Tail(path, 2); err != nil || !slices.Equal(tail, []string{"c", "d"}) {
				t.Errorf("Tail after Lines(%d, %d) = %q, %v", tc.from, tc.size, tail, err)
			}
		})
	}
}

func TestLinesHoldsAtMostMaxPageBytes(t *testing.T) {
	line := strings.Repeat("x", 1<<20-1) + "\n" // 1 MiB a line
	path := writeLog(t, strings.Repeat(line, 12)+"short\n")
	ix := New()
	got, total, err := ix.Lines(path, 0, math.MaxInt)
	if err != nil || total != 13 {
		t.Fatalf("Lines = %d lines, total %d, %v", len(got), total, err)
	}
	if len(got) != MaxPageBytes>>20 {
		t.Errorf("a page of 1 MiB lines holds %d lines, want %d (MaxPageBytes)", len(got), MaxPageBytes>>20)
	}
	// paging on from where it stopped reaches every line
	rest, _, _ := ix.Lines(path, len(got), math.MaxInt)
	if len(got)+len(rest) != 13 || rest[len(rest)-1] != "short" {
		t.Errorf("the next page has %d lines ending %.10q", len(rest), rest[len(rest)-1])
	}
	// one line longer than the budget comes cut short, never whole
	path = writeLog(t, strings.Repeat("y", MaxPageBytes+10)+"\nz\n")
	got, total, _ = ix.Lines(path, 0, 2)
	if total != 2 || len(got) != 1 || len(got[0]) != MaxPageBytes {
		t.Errorf("a line over the budget: %d lines (first %d bytes), total %d", len(got), len(got[0]), total)
	}
}

// FuzzLines checks Lines and Tail against the naive reading for any content and any paging
// arguments, including those whose sum overflows.
func FuzzLines(f *testing.F) {
	f.Add("a\nb\nc", 0, 2)
	f.Add("a\r\n\n\nb\n", 1, math.MaxInt)
	f.Add("", math.MaxInt, math.MaxInt)
	f.Add("x\n", -1, math.MinInt)
	f.Fuzz(func(t *testing.T, content string, from, size int) {
		path := writeLog(t, content)
		ix := New()
		got, total, err := ix.Lines(path, from, size)
		want, wantTotal := naiveLines(content, from, size)
		if err != nil || total != wantTotal || !slices.Equal(got, want) {
			t.Fatalf("Lines(%q, %d, %d) = %q, %d, %v; want %q, %d", content, from, size, got, total, err, want, wantTotal)
		}
		n := int(uint(size) % 16)
		tail, err := Tail(path, n)
		wantTail, _ := naiveLines(content, max(0, wantTotal-n), n)
		if err != nil || !slices.Equal(tail, wantTail) {
			t.Fatalf("Tail(%q, %d) = %q, %v; want %q", content, n, tail, err, wantTail)
		}
		// a sparse index with checkpoints every few bytes, thinned often, over a file that grew
		// after it was first read, finds every page the naive way does
		sparse := New()
		sparse.shape = shape{stride: 1 + int64(uint(from)%7), maxCheckpoints: 2 + int(uint(size)%4)}
		half := len(content) / 2
		grown := writeLog(t, content[:half])
		sparse.Lines(grown, from, size)
		f, err := os.OpenFile(grown, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(content[half:])
		f.Close()
		pageSize := 1 + int(uint(size)%5)
		for from := range min(wantTotal, 512) + 1 {
			got, total, err := sparse.Lines(grown, from, pageSize)
			want, _ := naiveLines(content, from, pageSize)
			if err != nil || total != wantTotal || !slices.Equal(got, want) {
				t.Fatalf("sparse Lines(%q, %d, %d) = %q, %d, %v; want %q, %d", content, from, pageSize, got, total, err, want, wantTotal)
			}
		}
	})
}
