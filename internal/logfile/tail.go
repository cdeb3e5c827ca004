package logfile

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
)

// MaxTailBytes bounds what Tail reads of a file's end: the last lines of a session's view
// come within it, however long the log or its lines.
const MaxTailBytes = 16 << 10

// Tail returns the last n lines of the file at path (a missing file has none), read from its
// end within MaxTailBytes and without indexing it: fewer lines when they are longer, and a
// last line longer than the budget comes as its last MaxTailBytes bytes.
func Tail(path string, n int) ([]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return []string{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	if n <= 0 || size == 0 {
		return []string{}, nil
	}
	for window := min(size, 4<<10); ; window = min(size, MaxTailBytes, window*4) {
		buf := make([]byte, window)
		k, err := f.ReadAt(buf, size-window)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		text := bytes.TrimSuffix(buf[:k], []byte{'\n'}) // the last line's newline ends no line
		whole := window == size
		if !whole && bytes.Count(text, []byte{'\n'}) < n && window < min(size, MaxTailBytes) {
			continue // the n-th line from the end may start before the window
		}
		lines := bytes.Split(text, []byte{'\n'})
		if !whole && len(lines) > 1 {
			lines = lines[1:] // the first starts before the window
		}
		lines = lines[max(0, len(lines)-n):]
		out := make([]string, len(lines))
		for i, l := range lines {
			out[i] = string(bytes.TrimSuffix(l, []byte{'\r'}))
		}
		return out, nil
	}
}
