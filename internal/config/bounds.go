package config

import (
	"flag"
	"fmt"

	"github.com/sparkgate/sparkgate/internal/interactive"
)

// Bounds are what one user, or one session, may hold of the gateway at once: beyond them a
// request gets 429 and changes nothing.
type Bounds struct {
	MaxActivePerUser        int
	MaxReservationsPerUser  int
	MaxStatementsPerSession int
	MaxStatementOutputBytes int64
	MaxSessionUploadBytes   int64
}

func (b *Bounds) flags(fs *flag.FlagSet) {
	fs.IntVar(&b.MaxActivePerUser, "max-active-per-user", 100, "unfinished batches and sessions one user may have at once, on every instance together (anonymous clients share one bound; 0: no bound)")
	fs.IntVar(&b.MaxReservationsPerUser, "max-reservations-per-user", 1000, "ids one user may hold reserved (POST /{batches,sessions}/id) and not yet used, of each kind (0: no bound)")
	fs.IntVar(&b.MaxStatementsPerSession, "max-statements-per-session", 10000, "statements one interactive session may run (0: no bound)")
	fs.Int64Var(&b.MaxStatementOutputBytes, "max-statement-output-bytes", interactive.DefaultMaxOutputBytes, "largest output of a statement the gateway keeps; a larger one is cut, its text/plain kept up to the bound and a note saying so")
	fs.Int64Var(&b.MaxSessionUploadBytes, "max-session-upload-bytes", interactive.DefaultMaxSessionUploadBytes, "bytes of uploaded files one interactive session may hold (each file also within --max-upload-bytes)")
}

func (b *Bounds) validate(maxUploadBytes int64) []error {
	var errs []error
	if b.MaxActivePerUser < 0 || b.MaxReservationsPerUser < 0 || b.MaxStatementsPerSession < 0 {
		errs = append(errs, fmt.Errorf("max-active-per-user, max-reservations-per-user and max-statements-per-session must not be negative (0: no bound), not %d, %d and %d",
			b.MaxActivePerUser, b.MaxReservationsPerUser, b.MaxStatementsPerSession))
	}
	if b.MaxStatementOutputBytes < 1024 {
		errs = append(errs, fmt.Errorf("max-statement-output-bytes must be at least 1024, not %d", b.MaxStatementOutputBytes))
	}
	if b.MaxSessionUploadBytes < maxUploadBytes {
		errs = append(errs, fmt.Errorf("max-session-upload-bytes (%d) must be at least max-upload-bytes (%d)", b.MaxSessionUploadBytes, maxUploadBytes))
	}
	return errs
}
