-- +goose Up
-- Who made a reservation, and the owner of every session as a column of its own, each indexed
-- for the bounds of one user: unused reservations, and sessions not finished.
ALTER TABLE reservations ADD COLUMN owner text NOT NULL DEFAULT '';
CREATE INDEX reservations_unused_by_owner ON reservations (kind, owner, created_at) WHERE NOT used;
ALTER TABLE sessions ADD COLUMN owner text GENERATED ALWAYS AS (coalesce(record->>'owner', '')) STORED;
CREATE INDEX sessions_active_by_owner ON sessions (owner) WHERE NOT terminal;

-- +goose Down
DROP INDEX sessions_active_by_owner;
ALTER TABLE sessions DROP COLUMN owner;
DROP INDEX reservations_unused_by_owner;
ALTER TABLE reservations DROP COLUMN owner;
