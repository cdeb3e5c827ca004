-- +goose Up
-- Ids come from one sequence per session kind; uniqueness of names, request keys and
-- reservations is enforced here, by constraints, never by a process.
CREATE SEQUENCE batch_ids MINVALUE 0 START 0;
CREATE SEQUENCE session_ids MINVALUE 0 START 0;

CREATE TABLE sessions (
    kind        text        NOT NULL,
    id          bigint      NOT NULL,
    name        text,
    -- false once deleted, or hidden past retention for the sake of an idempotency key
    visible     boolean     NOT NULL,
    terminal    boolean     NOT NULL,
    finished_at timestamptz,
    -- the whole record, byte for byte as store.Session encodes it (json, not jsonb, keeps it verbatim)
    record      json        NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE UNIQUE INDEX sessions_live_name ON sessions (kind, name) WHERE visible AND name IS NOT NULL;
CREATE INDEX sessions_active ON sessions (kind, id) WHERE NOT terminal;
CREATE INDEX sessions_finished ON sessions (kind, finished_at) WHERE terminal;
CREATE INDEX sessions_visible ON sessions (kind, id) WHERE visible;

CREATE TABLE request_keys (
    kind       text        NOT NULL,
    scope      text        NOT NULL,
    key        text        NOT NULL,
    session_id bigint      NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (kind, scope, key)
);
CREATE INDEX request_keys_created ON request_keys (kind, created_at);

CREATE TABLE reservations (
    kind       text        NOT NULL,
    id         bigint      NOT NULL,
    put_key    text        NOT NULL,
    created_at timestamptz NOT NULL,
    used       boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (kind, id)
);
CREATE INDEX reservations_created ON reservations (kind, used, created_at);

-- +goose Down
DROP TABLE reservations;
DROP TABLE request_keys;
DROP TABLE sessions;
DROP SEQUENCE session_ids;
DROP SEQUENCE batch_ids;
