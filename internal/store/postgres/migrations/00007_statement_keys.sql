-- +goose Up
-- A statement's idempotency key (its scope, the user, and the client's requestId, in one
-- string) as a column of its own, unique within the session: two adds under one key cannot
-- both insert, whatever their interleaving. The key goes with its statement.
ALTER TABLE statements ADD COLUMN request_key text GENERATED ALWAYS AS (record->>'requestKey') STORED;
CREATE UNIQUE INDEX statements_request_key ON statements (session_id, request_key) WHERE request_key IS NOT NULL;

-- +goose Down
DROP INDEX statements_request_key;
ALTER TABLE statements DROP COLUMN request_key;
