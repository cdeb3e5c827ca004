// Package httptail reads the end of a log that a cluster's web server serves (a YARN
// NodeManager, a Spark standalone Worker): the caller's request asks the server for the last
// bytes in the server's own terms, and Get holds at most that many, whatever the server sends.
package httptail

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// Get sends a GET for u with c and returns the last limit bytes of the answer's body, and
// whether that is the whole body. A server that ignores the request's bound is read through
// (within c's timeout and ctx), holding no more than limit bytes.
func Get(ctx context.Context, c *http.Client, u string, limit int) (tail []byte, whole bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, false, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, false, fmt.Errorf("%s", resp.Status)
	}
	return last(resp.Body, limit)
}

// last reads r to its end and returns its last limit bytes, and whether that is all of it.
// It holds at most twice limit: past that, it drops all but the last limit bytes (a copy of
// limit bytes per limit bytes read).
func last(r io.Reader, limit int) ([]byte, bool, error) {
	var kept []byte
	whole := true
	chunk := make([]byte, min(max(limit, 1), 64<<10))
	for {
		n, err := r.Read(chunk)
		if len(kept)+n > cap(kept) { // grow by doubling, up to the most it holds
			grown := make([]byte, len(kept), min(max(2*cap(kept), len(kept)+n), 2*limit+len(chunk)))
			copy(grown, kept)
			kept = grown
		}
		kept = append(kept, chunk[:n]...)
		if len(kept) >= 2*limit {
			kept, whole = append(kept[:0], kept[len(kept)-limit:]...), false
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, false, err
		}
	}
	if len(kept) > limit {
		kept, whole = kept[len(kept)-limit:], false
	}
	return kept, whole, nil
}
