package livy

import (
	"bytes"
	"testing"

	"github.com/sparkgate/sparkgate/internal/errkind"
)

// Every create body: decoding and validating never panics, every refusal is a client error,
// and what is accepted has a canonical form that decodes and validates again to the same
// canonical form (LIVY-782 compares replays by it).
func FuzzCreateBodies(f *testing.F) {
	for _, seed := range []string{
		`{"file":"/a.py","args":["1",2,true],"conf":{"spark.x":"1"},"driverMemory":"1g","numExecutors":2}`,
		`{"kind":"pyspark","name":"n","conf":{"k":1},"idleTimeout":"10m","heartbeatTimeoutInSecond":5}`,
		`{"file":"/a.py","file":"/b.py"}`, `{"FILE":"/a.py"}`, `{"name":"-5"}`, "{\"name\":\"\u202e\"}",
		`{"driverMemory":"99999999999999999999g"}`, `[]`, `null`, "\xff", `{"conf":{"a":{"b":1}}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var batch CreateBatchRequest
		checkCreate(t, body, &batch, batch.Validate, func() []byte { return batch.Canonical() }, func(b []byte) (func() error, func() []byte) {
			var again CreateBatchRequest
			return func() error { return decodeValid(b, &again, again.Validate) }, func() []byte { return again.Canonical() }
		})
		var session CreateInteractiveRequest
		checkCreate(t, body, &session, session.Validate, func() []byte { return session.Canonical() }, func(b []byte) (func() error, func() []byte) {
			var again CreateInteractiveRequest
			return func() error { return decodeValid(b, &again, again.Validate) }, func() []byte { return again.Canonical() }
		})
	})
}

func decodeValid(body []byte, v any, validate func() error) error {
	if err := Decode(bytes.NewReader(body), v); err != nil {
		return err
	}
	return validate()
}

func checkCreate(t *testing.T, body []byte, v any, validate func() error, canonical func() []byte,
	again func([]byte) (func() error, func() []byte)) {
	t.Helper()
	if err := decodeValid(body, v, validate); err != nil {
		if k := errkind.Of(err); k != errkind.Invalid {
			t.Fatalf("%q refused with kind %d, not as a client error: %v", body, k, err)
		}
		return
	}
	first := canonical()
	check, second := again(first)
	if err := check(); err != nil {
		t.Fatalf("the canonical form %s of accepted %q is refused: %v", first, body, err)
	}
	if !bytes.Equal(first, second()) {
		t.Fatalf("canonical form changes: %s, then %s", first, second())
	}
}

// A statement body: never a panic, every refusal a client error.
func FuzzStatementBodies(f *testing.F) {
	for _, seed := range []string{`{"code":"1+1"}`, `{"code":"x","kind":"sql"}`, `{"code":1}`, `{"kind":"r"}`, `{}`, "\x00"} {
		f.Add([]byte(seed), "pyspark")
	}
	f.Fuzz(func(t *testing.T, body []byte, sessionKind string) {
		var req CreateStatementRequest
		err := Decode(bytes.NewReader(body), &req)
		if err == nil {
			_, err = StatementKind(sessionKind, req.Kind)
		}
		if err != nil && errkind.Of(err) != errkind.Invalid {
			t.Fatalf("%q refused with kind %d: %v", body, errkind.Of(err), err)
		}
	})
}
