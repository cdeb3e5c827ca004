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
	delete(ix.files, path)
	ix.mu.Unlock()
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

// Lines returns lines [from, from+size) of the file at path and its total number of lines.
// A missing file has no lines. A line being written (no newline yet) counts as a line.
func (ix *Index) Lines(path string, from, size int) ([]string, int, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return []string{}, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	fi := ix.get(path)
	fi.mu.Lock()
	total, err := fi.refresh(f)
	if err != nil {
		fi.mu.Unlock()
		return nil, 0, err
	}
	lines := []string{}
	if from >= total || size <= 0 {
		fi.mu.Unlock()
		return lines, total, nil
	}
	end := min(from+size, total)
	start, stop := fi.lineStart(from), fi.scanned
	if end < total {
		stop = fi.lineStart(end)
	}
	fi.mu.Unlock()

	buf := make([]byte, stop-start)
	if _, err := f.ReadAt(buf, start); err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, err
	}
	for len(buf) > 0 && len(lines) < end-from {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			lines = append(lines, string(buf))
			break
		}
		lines = append(lines, string(bytes.TrimSuffix(buf[:i], []byte{'\r'})))
		buf = buf[i+1:]
	}
	return lines, total, nil
}

// Tail returns the last n lines of the file. A file that has not grown since the last call
// costs one stat; a file the caller knows is final (its writer is gone) costs nothing.
func (ix *Index) Tail(path string, n int, final bool) ([]string, error) {
	if final {
		fi := ix.get(path)
		fi.mu.Lock()
		tail, ok := fi.tail, fi.tail != nil && fi.tailN == n
		fi.mu.Unlock()
		if ok {
			return tail, nil
		}
	}
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return []string{}, nil
	}
	if err != nil {
		return nil, err
	}
	fi := ix.get(path)
	fi.mu.Lock()
	if fi.tail != nil && fi.tailN == n && fi.tailSize == st.Size() {
		tail := fi.tail
		fi.mu.Unlock()
		return tail, nil
	}
	fi.mu.Unlock()
	_, total, err := ix.Lines(path, 0, 0)
	if err != nil {
		return nil, err
	}
	lines, _, err := ix.Lines(path, max(0, total-n), n)
	if err != nil {
		return nil, err
	}
	fi.mu.Lock()
	fi.tail, fi.tailN, fi.tailSize = lines, n, fi.scanned
	fi.mu.Unlock()
	return lines, nil
}
