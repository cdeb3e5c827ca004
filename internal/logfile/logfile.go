// Package logfile serves pages of lines from append-only log files of any length without
// reading them whole: it keeps, per file, the offsets of the lines it has already seen and
// scans only what was appended since.
package logfile

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"sync"
)

// maxFiles bounds how many files' indexes are cached.
const maxFiles = 4096

// Index caches line offsets of log files. The zero value is not usable; use New.
type Index struct {
	mu    sync.Mutex
	files map[string]*fileIndex
}

type fileIndex struct {
	mu sync.Mutex
	// tail caches the last lines served by Tail, valid while the file keeps tailSize bytes.
	tail     []string
	tailN    int
	tailSize int64
	// newlines holds the offset of every newline seen; line i ends at newlines[i].
	newlines []int64
	scanned  int64 // bytes examined so far
}

// New returns an empty index.
func New() *Index { return &Index{files: map[string]*fileIndex{}} }

func (ix *Index) get(path string) *fileIndex {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	fi := ix.files[path]
	if fi == nil {
		if len(ix.files) >= maxFiles {
			for k := range ix.files { // evict an arbitrary entry; a re-scan is only a cost
				delete(ix.files, k)
				break
			}
		}
		fi = &fileIndex{}
		ix.files[path] = fi
	}
	return fi
}

// Forget drops the cached index of path (for a file that was removed).
func (ix *Index) Forget(path string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	delete(ix.files, path)
}

// refresh brings the index up to the file's current size and returns the number of lines.
func (fi *fileIndex) refresh(f *os.File) (int, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := st.Size()
	if size < fi.scanned { // truncated or replaced: start over
		*fi = fileIndex{}
	}
	if size > fi.scanned {
		buf := make([]byte, min(64<<10, size-fi.scanned))
		for off := fi.scanned; off < size; {
			n, err := f.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
			if n == 0 && err != nil {
				return 0, err
			}
			for i := 0; i < n; {
				j := bytes.IndexByte(buf[i:n], '\n')
				if j < 0 {
					break
				}
				fi.newlines = append(fi.newlines, off+int64(i+j))
				i += j + 1
			}
			off += int64(n)
		}
		fi.scanned = size
	}
	total := len(fi.newlines)
	if fi.lineStart(total) < fi.scanned {
		total++ // a last line still being written
	}
	return total, nil
}

func (fi *fileIndex) lineStart(i int) int64 {
	if i == 0 {
		return 0
	}
	return fi.newlines[i-1] + 1
}

// MaxPageBytes bounds the bytes one page of lines reads and holds, whatever the request: a
// page stops early at this budget (at least one line, cut short if it alone is larger), and
// the caller pages on from where it stopped.
const MaxPageBytes = 8 << 20

// Lines returns lines [from, from+size) of the file at path and its total number of lines.
// A missing file has no lines. A line being written (no newline yet) counts as a line. The
// page holds at most MaxPageBytes of text: fewer lines than asked for when they are longer.
func (ix *Index) Lines(path string, from, size int) ([]string, int, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return []string{}, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	start, stop, count, total, err := ix.get(path).span(f, from, size)
	if err != nil || count == 0 {
		return []string{}, total, err
	}
	buf := make([]byte, min(stop-start, MaxPageBytes))
	n, err := f.ReadAt(buf, start)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, err
	}
	buf = buf[:n]
	lines := []string{}
	for len(buf) > 0 && len(lines) < count {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			if len(lines) == 0 || start+int64(n) == stop {
				lines = append(lines, string(bytes.TrimSuffix(buf, []byte{'\r'}))) // the last line, or one longer than the budget
			}
			break
		}
		lines = append(lines, string(bytes.TrimSuffix(buf[:i], []byte{'\r'})))
		buf = buf[i+1:]
	}
	return lines, total, nil
}

// span brings the index up to date and returns the byte range [start, stop) of lines
// [from, from+size), how many lines that is, and the file's number of lines. Every argument is
// safe: negative or overflowing values select nothing or the rest of the file.
func (fi *fileIndex) span(f *os.File, from, size int) (start, stop int64, count, total int, err error) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	total, err = fi.refresh(f)
	if err != nil || from < 0 || size <= 0 || from >= total {
		return 0, 0, 0, total, err
	}
	count = min(size, total-from) // no from+size: it may overflow
	start, stop = fi.lineStart(from), fi.scanned
	if from+count < total {
		stop = fi.lineStart(from + count)
	}
	return start, stop, count, total, nil
}

// Tail returns the last n lines of the file. A file that has not grown since the last call
// costs one stat; a file the caller knows is final (its writer is gone) costs nothing.
func (ix *Index) Tail(path string, n int, final bool) ([]string, error) {
	fi := ix.get(path)
	if tail, ok := fi.cachedTail(n, -1); ok && final {
		return tail, nil
	}
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return []string{}, nil
	}
	if err != nil {
		return nil, err
	}
	if tail, ok := fi.cachedTail(n, st.Size()); ok {
		return tail, nil
	}
	_, total, err := ix.Lines(path, 0, 0)
	if err != nil {
		return nil, err
	}
	lines, _, err := ix.Lines(path, max(0, total-n), n)
	if err != nil {
		return nil, err
	}
	fi.mu.Lock()
	defer fi.mu.Unlock()
	fi.tail, fi.tailN, fi.tailSize = lines, n, fi.scanned
	return lines, nil
}

// cachedTail returns the cached last n lines if they were read from a file of size bytes
// (any size when size is -1: the caller knows the file is final).
func (fi *fileIndex) cachedTail(n int, size int64) ([]string, bool) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	ok := fi.tail != nil && fi.tailN == n && (size < 0 || fi.tailSize == size)
	return fi.tail, ok
}
