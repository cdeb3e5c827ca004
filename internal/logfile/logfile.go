// Package logfile serves pages of lines from append-only log files of any length without
// reading them whole: it keeps, per file, a sparse index of where its lines start (a
// checkpoint every so many bytes, so that its size follows the file's bytes, never its number
// of lines) and scans only what was appended since. The indexes of many files are cached
// within a budget of bytes. The last lines of a file are read from its end (Tail), without an
// index.
package logfile

import (
	"bufio"
	"bytes"
	"container/list"
	"errors"
	"io"
	"io/fs"
	"os"
	"sync"
)

// maxCacheBytes bounds the memory of the cached indexes of all files together: the least
// recently used are dropped beyond it (a re-scan is only a cost).
const maxCacheBytes = 32 << 20

// Index caches sparse line indexes of log files. The zero value is not usable; use New.
type Index struct {
	mu     sync.Mutex
	budget int64 // maxCacheBytes, smaller in tests
	shape  shape
	bytes  int64 // what the cached indexes cost, by their own account
	lru    *list.List
	files  map[string]*list.Element // of *entry; the front is the most recently used
}

type entry struct {
	path string
	fi   *fileIndex
	cost int64
}

// New returns an empty index.
func New() *Index {
	return &Index{budget: maxCacheBytes, shape: shape{stride: baseStride, maxCheckpoints: maxCheckpoints},
		lru: list.New(), files: map[string]*list.Element{}}
}

func (ix *Index) get(path string) *entry {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if el := ix.files[path]; el != nil {
		ix.lru.MoveToFront(el)
		return el.Value.(*entry)
	}
	e := &entry{path: path, fi: newFileIndex(ix.shape)}
	ix.files[path] = ix.lru.PushFront(e)
	ix.charge(e, e.fi.cost())
	return e
}

// charge records that e now costs cost bytes and drops the least recently used indexes,
// never e itself, until the cache is within its budget. ix.mu is held.
func (ix *Index) charge(e *entry, cost int64) {
	if el := ix.files[e.path]; el == nil || el.Value != e {
		return // dropped meanwhile: it costs the cache nothing
	}
	ix.bytes += cost - e.cost
	e.cost = cost
	for ix.bytes > ix.budget {
		oldest := ix.lru.Back()
		if oldest == nil || oldest.Value == e {
			return
		}
		ix.drop(oldest)
	}
}

func (ix *Index) drop(el *list.Element) {
	e := el.Value.(*entry)
	ix.lru.Remove(el)
	delete(ix.files, e.path)
	ix.bytes -= e.cost
}

// Forget drops the cached index of path (for a file that was removed).
func (ix *Index) Forget(path string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if el := ix.files[path]; el != nil {
		ix.drop(el)
	}
}

// Cached tells how many files' indexes the cache holds and what they cost in bytes.
func (ix *Index) Cached() (files int, bytes int64) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return len(ix.files), ix.bytes
}

// MaxPageBytes bounds the bytes one page of lines reads and holds, whatever the request: a
// page stops early at this budget (at least one line, cut short if it alone is larger), and
// the caller pages on from where it stopped.
const MaxPageBytes = 8 << 20

// Lines returns lines [from, from+size) of the file at path and its total number of lines.
// A missing file has no lines. A line being written (no newline yet) counts as a line. The
// page holds at most MaxPageBytes of text: fewer lines than asked for when they are longer.
// Every argument is safe: negative or overflowing values select nothing or the rest of the
// file.
func (ix *Index) Lines(path string, from, size int) ([]string, int, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return []string{}, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	e := ix.get(path)
	snap, cost, err := e.fi.refresh(f, from)
	ix.mu.Lock()
	ix.charge(e, cost)
	ix.mu.Unlock()
	if err != nil {
		return nil, 0, err
	}
	if from < 0 || size <= 0 || from >= snap.total {
		return []string{}, snap.total, nil
	}
	count := min(size, snap.total-from) // no from+size: it may overflow
	start, err := skipLines(f, snap.near.offset, snap.size, from-snap.near.line)
	if err != nil {
		return nil, 0, err
	}
	lines, err := readLines(f, start, snap.size, count)
	if err != nil {
		return nil, 0, err
	}
	return lines, snap.total, nil
}

// scanChunk is how much of a file one read scans.
const scanChunk = 64 << 10

// chunks and readers hold the buffers of scans and pages for the next request: a page costs
// the heap its lines only.
var (
	chunks  = sync.Pool{New: func() any { b := make([]byte, scanChunk); return &b }}
	readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, scanChunk) }}
)

// skipLines returns where the line n lines after the one that starts at off starts, reading
// no further than end.
func skipLines(f *os.File, off, end int64, n int) (int64, error) {
	if n == 0 {
		return off, nil
	}
	chunk := chunks.Get().(*[]byte)
	defer chunks.Put(chunk)
	buf := *chunk
	for off < end {
		k, err := f.ReadAt(buf[:min(int64(len(buf)), end-off)], off)
		if k == 0 && err != nil {
			return 0, err
		}
		if c := bytes.Count(buf[:k], []byte{'\n'}); c < n { // the line starts past this chunk
			n -= c
			off += int64(k)
			continue
		}
		for i := 0; i < k; {
			j := bytes.IndexByte(buf[i:k], '\n')
			if j < 0 {
				break
			}
			i += j + 1
			if n--; n == 0 {
				return off + int64(i), nil
			}
		}
		off += int64(k)
	}
	return end, nil
}

// readLines reads up to count lines from start, the file being end bytes long, within
// MaxPageBytes: a line whose newline lies past the budget is left for the next page, unless
// it is the first (then it comes cut short); the file's last line, being written, comes whole
// when it fits.
func readLines(f *os.File, start, end int64, count int) ([]string, error) {
	limit := min(end, start+MaxPageBytes)
	r := readers.Get().(*bufio.Reader)
	defer readers.Put(r)
	r.Reset(io.NewSectionReader(f, start, limit-start))
	defer r.Reset(nil) // the file is closed after this page
	lines := []string{}
	var long []byte // a line longer than the reader's buffer, gathered
	for len(lines) < count {
		part, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, part...)
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		line := part
		if long != nil {
			line, long = append(long, part...), nil
		}
		if err == nil { // a whole line, ended by its newline within the budget
			lines = append(lines, string(bytes.TrimSuffix(line[:len(line)-1], []byte{'\r'})))
			continue
		}
		if len(line) > 0 && (len(lines) == 0 || limit == end) {
			// the last line, or one longer than the budget
			lines = append(lines, string(bytes.TrimSuffix(line, []byte{'\r'})))
		}
		break
	}
	return lines, nil
}
