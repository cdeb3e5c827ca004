package logfile

import (
	"bytes"
	"os"
	"sort"
	"sync"
)

// The index of a file is sparse: a checkpoint (a line's number and where it starts) at the
// first line that starts at least stride bytes after the previous checkpoint. A page is found
// from the nearest checkpoint before it by scanning about stride bytes, and the index costs
// checkpointBytes per stride bytes of file, however many lines those hold.
const (
	baseStride = 16 << 10
	// maxCheckpoints bounds one file's index: at this many checkpoints (a file of 128 MiB),
	// every other one is dropped and the stride doubled, so that a file of any size costs at
	// most maxCheckpoints*checkpointBytes (128 KiB), and a page of it a scan of size/4096 bytes.
	maxCheckpoints  = 8192
	checkpointBytes = 16
	// indexOverhead is what an index costs besides its checkpoints, as the cache counts it.
	indexOverhead = 256
)

type checkpoint struct {
	line   int   // the number of the line that starts at offset
	offset int64 // where it starts
}

type fileIndex struct {
	mu          sync.Mutex
	checkpoints []checkpoint // checkpoints[0] is line 0 at 0
	stride      int64
	shape       shape // of a fresh index
	lines       int   // newlines seen
	lastNewline int64 // offset of the last newline seen, -1 before the first
	scanned     int64 // bytes examined so far
}

// shape is how sparse an index starts and how many checkpoints it keeps at most: baseStride
// and maxCheckpoints, smaller in tests that need many checkpoints in a small file.
type shape struct {
	stride         int64
	maxCheckpoints int
}

func newFileIndex(s shape) *fileIndex {
	return &fileIndex{checkpoints: []checkpoint{{}}, stride: s.stride, shape: s, lastNewline: -1}
}

// cost is what the index holds in memory, for the cache's budget. fi.mu is held, or fi is
// not shared yet.
func (fi *fileIndex) cost() int64 {
	return indexOverhead + int64(cap(fi.checkpoints))*checkpointBytes
}

// snapshot is what a reader of the file needs of its index at one moment: the file's size as
// scanned, its number of lines, and the checkpoint to scan from to a line.
type snapshot struct {
	size  int64
	total int
	near  checkpoint
}

// refresh brings the index up to the file's current size and returns the file's state, with
// the last checkpoint at or before line, and the index's cost.
func (fi *fileIndex) refresh(f *os.File, line int) (snapshot, int64, error) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	st, err := f.Stat()
	if err != nil {
		return snapshot{}, fi.cost(), err
	}
	size := st.Size()
	if size < fi.scanned { // truncated or replaced: start over
		fresh := newFileIndex(fi.shape)
		fi.checkpoints, fi.stride, fi.lines, fi.lastNewline, fi.scanned = fresh.checkpoints, fresh.stride, 0, -1, 0
	}
	if size > fi.scanned {
		chunk := chunks.Get().(*[]byte)
		defer chunks.Put(chunk)
		buf := *chunk
		for fi.scanned < size {
			n, err := f.ReadAt(buf[:min(int64(len(buf)), size-fi.scanned)], fi.scanned)
			if n == 0 && err != nil {
				return snapshot{}, fi.cost(), err
			}
			fi.scan(buf[:n], fi.scanned)
			fi.scanned += int64(n)
		}
	}
	total := fi.lines
	if fi.lastNewline+1 < fi.scanned {
		total++ // a last line still being written
	}
	i := sort.Search(len(fi.checkpoints), func(i int) bool { return fi.checkpoints[i].line > line })
	return snapshot{size: fi.scanned, total: total, near: fi.checkpoints[max(0, i-1)]}, fi.cost(), nil
}

// scan counts the newlines of chunk, which starts at off, and sets checkpoints.
func (fi *fileIndex) scan(chunk []byte, off int64) {
	for len(chunk) > 0 {
		// a newline at p starts a line at p+1, which is a checkpoint from next on
		next := fi.checkpoints[len(fi.checkpoints)-1].offset + fi.stride
		if plain := next - 1 - off; plain > 0 {
			head := chunk[:min(plain, int64(len(chunk)))]
			fi.lines += bytes.Count(head, []byte{'\n'})
			if j := bytes.LastIndexByte(head, '\n'); j >= 0 {
				fi.lastNewline = off + int64(j)
			}
			chunk, off = chunk[len(head):], off+int64(len(head))
			continue
		}
		j := bytes.IndexByte(chunk, '\n')
		if j < 0 {
			return
		}
		fi.lines++
		fi.lastNewline = off + int64(j)
		fi.mark(checkpoint{line: fi.lines, offset: fi.lastNewline + 1})
		chunk, off = chunk[j+1:], off+int64(j+1)
	}
}

// mark adds a checkpoint, thinning the index first when it is full.
func (fi *fileIndex) mark(c checkpoint) {
	if len(fi.checkpoints) >= fi.shape.maxCheckpoints {
		kept := fi.checkpoints[:0]
		for i := 0; i < len(fi.checkpoints); i += 2 {
			kept = append(kept, fi.checkpoints[i])
		}
		fi.checkpoints = kept
		fi.stride *= 2
		if c.offset < kept[len(kept)-1].offset+fi.stride {
			return // too near the last one kept
		}
	}
	fi.checkpoints = append(fi.checkpoints, c)
}
