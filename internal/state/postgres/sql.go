package postgres

// The package's statements; %[1]s is the schema (see Backend.sql).
const (
	sqlInsertRun = `INSERT INTO %[1]s.runs (workspace, id, runbook, version, dry_run, journal_version, info, started)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`

	sqlInsertRecord = `INSERT INTO %[1]s.records
(workspace, run_id, seq, time, type, step, attempt, message, status, digest, vals, run)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`

	sqlSetOutcome = `UPDATE %[1]s.runs SET status = $3, ended = $4 WHERE workspace = $1 AND id = $2`

	sqlRunVersion = `SELECT journal_version FROM %[1]s.runs WHERE workspace = $1 AND id = $2`

	sqlRecords = `SELECT seq, time, type, step, attempt, message, status, digest, vals, run
FROM %[1]s.records WHERE workspace = $1 AND run_id = $2 ORDER BY seq`

	sqlRuns = `SELECT id, runbook, version, started, ended, status, dry_run, journal_version
FROM %[1]s.runs WHERE workspace = $1 ORDER BY started DESC, id DESC`

	sqlHolder = `SELECT lock_id, run_id, host, who, pid, started, backend_pid
FROM %[1]s.locks WHERE workspace = $1`

	// A holder row whose advisory lock is free is stale: overwrite it.
	sqlSetHolder = `INSERT INTO %[1]s.locks (workspace, lock_id, run_id, host, who, pid, started, backend_pid)
VALUES ($1, $2, $3, $4, $5, $6, $7, pg_backend_pid())
ON CONFLICT (workspace) DO UPDATE SET lock_id = EXCLUDED.lock_id, run_id = EXCLUDED.run_id,
host = EXCLUDED.host, who = EXCLUDED.who, pid = EXCLUDED.pid, started = EXCLUDED.started,
backend_pid = EXCLUDED.backend_pid`

	sqlDropHolder = `DELETE FROM %[1]s.locks WHERE workspace = $1 AND lock_id = $2`
)

// Statements on PostgreSQL's own catalogs, the same in every schema.
const (
	sqlTryLock = `SELECT pg_try_advisory_lock($1)`
	sqlUnlock  = `SELECT pg_advisory_unlock($1)`

	// A bigint advisory key shows in pg_locks as its high and low 32 bits
	// in classid and objid, with objsubid 1. Advisory locks are per
	// database.
	sqlLockPID = `SELECT pid FROM pg_locks
WHERE locktype = 'advisory' AND granted AND objsubid = 1
AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
AND classid::bigint = $1 AND objid::bigint = $2`

	// Our session must commit durably even where the server's default is
	// synchronous_commit = off (local, remote_write and stronger settings
	// are kept), and must not be ended for idling while a step runs long
	// (idle_session_timeout, PostgreSQL 14 and later).
	sqlSessionSettings = `SELECT set_config('synchronous_commit', 'on', false)
WHERE current_setting('synchronous_commit') = 'off'
UNION ALL
SELECT set_config('idle_session_timeout', '0', false)
WHERE current_setting('server_version_num')::int >= 140000`

	sqlTerminate = `SELECT pg_terminate_backend($1)`
)
