package store

import (
	"errors"
	"testing"
)

func TestStatementTransitions(t *testing.T) {
	out := []byte(`{"status":"ok"}`)
	for _, tc := range []struct {
		name      string
		from      StatementState
		started   int64
		tr        Transition
		want      StatementState
		conflict  bool
		completed int64
		start     int64
	}{
		{"a result makes a waiting statement available", StatementWaiting, 0, Complete(out, 5, 9), StatementAvailable, false, 9, 5},
		{"a result makes a running statement available", StatementRunning, 3, Complete(out, 5, 9), StatementAvailable, false, 9, 3},
		{"a result ends a cancelling statement cancelled", StatementCancelling, 3, Complete(out, 5, 9), StatementCancelled, false, 9, 3},
		{"a result for a cancelled statement is dropped", StatementCancelled, 0, Complete(out, 5, 9), StatementCancelled, true, 0, 0},
		{"a result for an available statement is dropped", StatementAvailable, 3, Complete(out, 5, 9), StatementAvailable, true, 0, 3},
		{"cancel of a waiting statement no driver took", StatementWaiting, 0, Cancel(false, 7), StatementCancelled, false, 7, 0},
		{"cancel of a waiting statement a driver took", StatementWaiting, 0, Cancel(true, 7), StatementCancelling, false, 0, 0},
		{"cancel of a running statement", StatementRunning, 3, Cancel(false, 7), StatementCancelling, false, 0, 3},
		{"cancel of a cancelling statement", StatementCancelling, 3, Cancel(false, 7), StatementCancelling, true, 0, 3},
		{"cancel of an available statement", StatementAvailable, 3, Cancel(true, 7), StatementAvailable, true, 0, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &Statement{State: tc.from, Started: tc.started}
			err := st.Update(&UpdateStatementParams{Transition: tc.tr})
			if errors.Is(err, ErrStateConflict) != tc.conflict || (!tc.conflict && err != nil) {
				t.Fatalf("err = %v, conflict wanted: %v", err, tc.conflict)
			}
			if st.State != tc.want || st.Completed != tc.completed || st.Started != tc.start {
				t.Errorf("statement = %s completed %d started %d; want %s, %d, %d", st.State, st.Completed, st.Started, tc.want, tc.completed, tc.start)
			}
			if tc.want == StatementAvailable && !tc.conflict && (string(st.Output) != string(out) || st.Progress != 1) {
				t.Errorf("output %s progress %v", st.Output, st.Progress)
			}
		})
	}
}
