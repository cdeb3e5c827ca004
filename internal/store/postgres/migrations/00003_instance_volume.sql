-- +goose Up
-- Where an instance keeps its applications' directories: only instances that share it may
-- adopt each other's local applications.
ALTER TABLE instances ADD COLUMN volume text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE instances DROP COLUMN volume;
