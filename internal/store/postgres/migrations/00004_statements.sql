-- +goose Up
-- Statements of interactive sessions; they go with their session.
CREATE TABLE statements (
    session_kind text   NOT NULL DEFAULT 'session' CHECK (session_kind = 'session'),
    session_id   bigint NOT NULL,
    id           bigint NOT NULL,
    record       json   NOT NULL,
    PRIMARY KEY (session_id, id),
    FOREIGN KEY (session_kind, session_id) REFERENCES sessions (kind, id) ON DELETE CASCADE
);

-- +goose Down
DROP TABLE statements;
