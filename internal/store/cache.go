package store

import "sync"

// DecodeCache decodes stored records, remembering recent ones by their exact bytes: the same
// bytes always decode to the same session, so the cache needs no invalidation and can never
// serve a stale record. Hot reads (a replayed PUT, a polled GET) skip JSON decoding.
type DecodeCache struct {
	mu      sync.Mutex
	entries map[string]*Session
}

// decodeCacheSize bounds the cache (records are a few hundred bytes).
const decodeCacheSize = 8192

// Decode returns the session stored as raw; the caller owns the returned copy.
func (c *DecodeCache) Decode(raw []byte) (*Session, error) {
	c.mu.Lock()
	sess, ok := c.entries[string(raw)]
	c.mu.Unlock()
	if !ok {
		var err error
		if sess, err = DecodeRecord(raw); err != nil {
			return nil, err
		}
		c.mu.Lock()
		if c.entries == nil {
			c.entries = make(map[string]*Session)
		}
		if len(c.entries) >= decodeCacheSize {
			for k := range c.entries { // evict an arbitrary entry
				delete(c.entries, k)
				break
			}
		}
		c.entries[string(raw)] = sess
		c.mu.Unlock()
	}
	cp := *sess
	return &cp, nil
}
