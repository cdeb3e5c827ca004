package launcher

import (
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

// sparkReads is the local file Spark reads for a value Resolve handed it, as Spark's
// Utils.resolveURI has it: a URI with a scheme by its decoded path; a bare path with a
// fragment by its decoded path too; any other bare path as it is; "" for a remote URI.
func sparkReads(v string) string {
	u, err := url.Parse(v)
	switch {
	case err != nil:
		return v // Java falls back to new File(v)
	case u.Scheme == "file" || u.Scheme == "local":
		return filepath.Clean(u.Path)
	case u.Scheme != "":
		return ""
	case u.Fragment != "":
		return filepath.Clean(u.Path)
	}
	return filepath.Clean(v)
}

// Whatever a user writes, a local file Resolve lets through is one Spark reads inside the
// whitelist, and every refusal is a client error.
func FuzzResolve(f *testing.F) {
	l, allowed, secret := newTestLauncher(f, "local[*]")
	for _, seed := range []string{
		allowed + "/job.py", allowed + "/%2e%2e/secret/job.py#x", "file://" + allowed + "/..%2fsecret/job.py",
		allowed + "/job.py#../../x", "local:" + allowed + "/link/job.py", secret + "/job.py", "hdfs:///x",
		"file:" + allowed + "/a b.py", allowed + "/a?b#c", "file:///" + allowed + "/job.py",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		got, err := l.Resolve("file", ref)
		if err != nil {
			if !strings.Contains(err.Error(), "file: ") {
				t.Fatalf("Resolve(%q): %v, not naming the field", ref, err)
			}
			return
		}
		reads := sparkReads(got)
		if reads == "" {
			return // remote
		}
		if reads != allowed && !strings.HasPrefix(reads, allowed+"/") {
			t.Fatalf("Resolve(%q) = %q, which Spark reads as %q, outside %s", ref, got, reads, allowed)
		}
	})
}
