-- Migration 1: runs, their records, and who holds each workspace's lock.
-- {{.schema}} is Config.SchemaName, checked to be a plain identifier.

-- One row per run: the summary List shows. Append keeps status and ended
-- current in the transaction that writes the records, so List reads one
-- row per run instead of replaying every journal.
CREATE TABLE {{.schema}}.runs (
    workspace       text        NOT NULL,
    id              text        NOT NULL,
    runbook         text        NOT NULL,
    version         text        NOT NULL,
    dry_run         boolean     NOT NULL,
    journal_version integer     NOT NULL,
    -- The run header without its variables (those may be secret; the
    -- RunStarted record keeps them), for operators' queries.
    info            jsonb       NOT NULL,
    started         timestamptz NOT NULL,
    ended           timestamptz,
    -- The status of the last RunEnded, '' while open again or never ended.
    status          text        NOT NULL DEFAULT '',
    PRIMARY KEY (workspace, id)
);

CREATE INDEX runs_newest ON {{.schema}}.runs (workspace, started DESC, id DESC);

-- One row per journal record. vals and run are bytea, not jsonb: values
-- may be sealed ciphertext and must come back byte for byte, which jsonb
-- (reordered keys, rewritten escapes) does not promise.
CREATE TABLE {{.schema}}.records (
    workspace text        NOT NULL,
    run_id    text        NOT NULL,
    seq       bigint      NOT NULL CHECK (seq > 0),
    time      timestamptz NOT NULL,
    type      text        NOT NULL,
    step      text        NOT NULL,
    attempt   integer     NOT NULL,
    message   text        NOT NULL,
    status    text        NOT NULL,
    digest    text        NOT NULL,
    vals      bytea,
    run       bytea,
    PRIMARY KEY (workspace, run_id, seq),
    FOREIGN KEY (workspace, run_id) REFERENCES {{.schema}}.runs ON DELETE CASCADE
);

-- Who holds a workspace's advisory lock, for error messages and
-- ForceUnlock. The advisory lock is the lock: a row whose backend_pid no
-- longer holds it is stale, and the next holder overwrites it.
CREATE TABLE {{.schema}}.locks (
    workspace   text        PRIMARY KEY,
    lock_id     text        NOT NULL,
    run_id      text        NOT NULL,
    host        text        NOT NULL,
    who         text        NOT NULL,
    pid         integer     NOT NULL,
    started     timestamptz NOT NULL,
    backend_pid integer     NOT NULL
);
