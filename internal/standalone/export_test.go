package standalone

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// RecordForTest records that the Master accepted driver id for tag, as standalone-submit does.
func RecordForTest(t *testing.T, b *Backend, tag, id string) {
	t.Helper()
	d, err := b.Dir(tag)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(string(d), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := writeRecord(filepath.Join(string(d), recordFile), Record{DriverID: id, SubmittedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
}
