-- +goose Up
-- The statement's state as a column of its own, and an index of the unfinished ones: the queue
-- and the session's busy state are read from it, not from every statement a session ran.
ALTER TABLE statements ADD COLUMN state text GENERATED ALWAYS AS (record->>'state') STORED;
CREATE INDEX statements_unfinished ON statements (session_id, id) WHERE state IN ('waiting', 'running', 'cancelling');

-- +goose Down
DROP INDEX statements_unfinished;
ALTER TABLE statements DROP COLUMN state;
