package bolt

import (
	"encoding/binary"
	"time"

	"github.com/sparkgate/sparkgate/internal/store"
)

// The key layout of the store file: every bucket and the format of every key, and of the ids
// and counts stored as values. Each format has its encoder and, where anything reads it back,
// its decoder; no other file looks inside a key. Integers are big-endian, so that keys sort
// as their numbers do.

var (
	metaBucket       = []byte("meta")       // countKey -> countValue
	instancesBucket  = []byte("instances")  // instance id -> lease
	statementsBucket = []byte("statements") // session id + statement id -> statement
	// unfinishedBucket indexes the statements that wait, run or are being cancelled (same key,
	// the state as value): the queue and the session's busy state are read from it, not from
	// every statement a long session ever ran.
	unfinishedBucket = []byte("unfinished-statements")
	// statementKeysBucket maps a statement's idempotency key within its session to its id
	// (statementRequestKey -> idKey); a session's keys go with its statements.
	statementKeysBucket = []byte("statement-keys")
)

// buckets of one kind. Records live in "live" while visible and in "deleted" once deleted or
// hidden; "keys" maps scope+requestId to an id; "reservations" maps reserved ids to their
// putKey, and "unusedby" indexes the unused ones by owner, as "activeby" does the sessions
// of "active"; the other buckets are indexes ordered for recovery, retention and expiry.
type buckets struct {
	live, deleted, names, active, finished []byte
	activeBy                               []byte
	keys, keyExpiry                        []byte
	reservations, unusedExpiry, unusedBy   []byte
}

func bucketsOf(k store.Kind) buckets {
	return buckets{
		live:         []byte("sessions:" + string(k)),
		deleted:      []byte("deleted:" + string(k)),
		names:        []byte("names:" + string(k)),
		active:       []byte("active:" + string(k)),
		activeBy:     []byte("activeby:" + string(k)),
		finished:     []byte("finished:" + string(k)),
		keys:         []byte("keys:" + string(k)),
		keyExpiry:    []byte("keyexpiry:" + string(k)),
		reservations: []byte("reservations:" + string(k)),
		unusedExpiry: []byte("unusedexpiry:" + string(k)),
		unusedBy:     []byte("unusedby:" + string(k)),
	}
}

func bucketNames(k store.Kind) [][]byte {
	b := bucketsOf(k)
	return [][]byte{b.live, b.deleted, b.names, b.active, b.activeBy, b.finished, b.keys, b.keyExpiry, b.reservations, b.unusedExpiry, b.unusedBy}
}

// The lengths of an encoded id, time (Unix nanoseconds) and count.
const (
	idLen    = 8
	timeLen  = 8
	countLen = 8
)

// idKey encodes a session id: the key of the live, deleted, active and reservations buckets,
// and the value of the names and keys buckets.
func idKey(id int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(id)) }

// parseIDKey decodes idKey (its first idLen bytes).
func parseIDKey(k []byte) int64 { return int64(binary.BigEndian.Uint64(k)) }

// ownerKey is the key of the unusedBy and activeBy buckets: the owner (its length first, so
// that one owner's keys are a prefix no other owner's start with) and the id.
func ownerKey(owner string, id int64) []byte {
	return append(ownerPrefix(owner), idKey(id)...)
}

func ownerPrefix(owner string) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(owner))), owner...)
}

// nameKey is the key of the names bucket: a live session's name.
func nameKey(name string) []byte { return []byte(name) }

// requestKey is the key of the keys bucket: an idempotency key within its scope. Nothing
// decodes it: the keys' expiry index carries it, as it is, as its payload.
func requestKey(scope, key string) []byte { return []byte(scope + "\x00" + key) }

// instanceKey is the key of the instances bucket: a server instance's id.
func instanceKey(id string) []byte { return []byte(id) }

// countKey is the meta bucket's key of the number of live sessions of a kind.
func countKey(k store.Kind) []byte { return []byte("count:" + string(k)) }

// countValue encodes a count of live sessions.
func countValue(n int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(n)) }

// parseCount decodes countValue; an absent (or malformed) count is 0.
func parseCount(v []byte) int64 {
	if len(v) != countLen {
		return 0
	}
	return int64(binary.BigEndian.Uint64(v))
}

// timeKey encodes a time, the prefix of the finished and expiry keys.
func timeKey(at time.Time) []byte { return binary.BigEndian.AppendUint64(nil, uint64(at.UnixNano())) }

// parseTimeKey decodes timeKey (its first timeLen bytes).
func parseTimeKey(k []byte) time.Time { return time.Unix(0, int64(binary.BigEndian.Uint64(k))) }

// finishedKey is the key of the finished bucket: when a session finished, then its id, so
// that the sessions longest finished come first. finishedKey(t, 0) bounds those finished
// before t.
func finishedKey(at time.Time, id int64) []byte {
	return binary.BigEndian.AppendUint64(timeKey(at), uint64(id))
}

// parseFinishedKey decodes finishedKey.
func parseFinishedKey(k []byte) (at time.Time, id int64) {
	return parseTimeKey(k), parseIDKey(k[timeLen:])
}

// statementKey is the key of the statements and unfinished-statements buckets: the session
// id, then the statement id, so that a session's statements are adjacent and in id order.
func statementKey(sessionID, id int64) []byte {
	return binary.BigEndian.AppendUint64(idKey(sessionID), uint64(id))
}

// statementPrefix is the prefix of the keys of a session's statements.
func statementPrefix(sessionID int64) []byte { return idKey(sessionID) }

// statementRequestKey is the key of the statement-keys bucket: the session id, then the
// statement's scoped idempotency key (store.StatementRequestKey), so that a session's keys
// share its statements' prefix. Nothing decodes it.
func statementRequestKey(sessionID int64, requestKey string) []byte {
	return append(statementPrefix(sessionID), requestKey...)
}

// parseStatementKey decodes statementKey.
func parseStatementKey(k []byte) (sessionID, id int64) {
	return parseIDKey(k), parseIDKey(k[idLen:])
}

// What an entry of an expiry index (keyExpiry, unusedExpiry) is the expiry of.
const (
	expiresKey         byte = 'k' // an idempotency key; the payload is its requestKey
	expiresReservation byte = 'r' // an id reservation; the payload is the id's idKey
)

// expiryKey is the key of an expiry index: when the key or reservation was made, what it is
// (expiresKey or expiresReservation) and, as payload, its key in its own bucket.
func expiryKey(at time.Time, typ byte, payload []byte) []byte {
	return append(append(expiryBound(at), typ), payload...)
}

// expiryBound is the least key of the entries made at or after at: those before it are due.
func expiryBound(at time.Time) []byte { return timeKey(at) }

// parseExpiryKey decodes expiryKey.
func parseExpiryKey(k []byte) (at time.Time, typ byte, payload []byte) {
	return parseTimeKey(k), k[timeLen], k[timeLen+1:]
}
