-- +goose Up
-- Each unfinished session is supervised by one server instance, which holds a lease.
CREATE TABLE instances (
    id          text        PRIMARY KEY,
    addr        text        NOT NULL DEFAULT '',
    lease_until timestamptz NOT NULL
);
ALTER TABLE sessions ADD COLUMN supervisor text;
CREATE INDEX sessions_supervised ON sessions (kind, supervisor) WHERE NOT terminal;

-- +goose Down
DROP INDEX sessions_supervised;
ALTER TABLE sessions DROP COLUMN supervisor;
DROP TABLE instances;
