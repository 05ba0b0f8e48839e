// Package postgres is the state backend a team shares: journals and run
// history in PostgreSQL, with one lock per workspace so that two applies
// never run at once. It mirrors Terraform's pg backend: a connection
// string (conn_str) and a schema (schema_name, here "runbook") that holds
// every workspace, each workspace locked by a session-level advisory lock.
//
// Unlike Terraform, which rewrites a whole state document per workspace,
// a journal is append-only, one record per transition, so each record is
// a row (records, keyed by workspace, run and seq), an Append is a few
// INSERTs, and Read is one index scan. A runs table holds each run's
// summary, its outcome kept current by Append in the same transaction, so
// List reads one row per run instead of replaying journals. Values and
// the run header are stored as bytea, byte for byte: values may be sealed
// ciphertext, and jsonb would reorder keys and rewrite escapes.
//
// Durability and group commit: Append returns after COMMIT, which flushes
// the WAL (synchronous_commit is forced on in our session if the server
// turned it off). As in the local backend, one committer per journal takes
// every record queued meanwhile and sends them in one pipelined batch,
// which PostgreSQL runs as one implicit transaction: one commit, one WAL
// flush, for all the appends of parallel steps.
//
// Locking: pg_try_advisory_lock on a key derived from schema and workspace,
// held by a session (one dedicated connection) until Journal.Close. An
// advisory lock, as Terraform uses, because PostgreSQL releases it when the
// session ends: a runbook that crashes or is killed never leaves the
// workspace locked, which a lock row would. All of a journal's writes go
// through that same session, so a write can only succeed while the lock is
// held: if PostgreSQL restarts, or an operator force-unlocks, the session
// is gone and the next Append fails; it never writes unlocked. The locks
// table only describes the holder (run, host, user, pid, lock ID), for the
// error a refused run prints and for ForceUnlock; a row whose session no
// longer holds the lock is stale and the next holder overwrites it. The one
// case PostgreSQL cannot settle is a machine that vanished with its TCP
// connection half-open: its session, and lock, live until TCP gives up on
// it, maybe hours later; ForceUnlock ends it. Session-level locks need a
// direct connection or a session-pooling proxy, not PgBouncer's
// transaction pooling.
//
// The tables are created and later changed by numbered SQL migrations
// embedded in the binary, run by tern (pgx's own migrator) on New; a schema
// migrated by a newer runbook is refused with state.ErrNewerFormat.
//
// The connection string may hold a password. Errors name the server as
// host:port/database and never include the connection string; as a last
// guard, every error this package returns has the password masked.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/runbook-dev/runbook/internal/state"
	"github.com/runbook-dev/runbook/internal/state/local"
)

// Defaults for Config.
const (
	DefaultSchema    = "runbook"
	DefaultWorkspace = "default"
)

// Bounds on waits that no caller's context covers: a commit runs for its
// callers after some may have stopped waiting, and Close must return even
// when the server is gone. connectTimeout applies when the connection
// string sets none, so that an unreachable server fails a command rather
// than hanging it.
const (
	commitTimeout  = 2 * time.Minute
	releaseTimeout = 10 * time.Second
	connectTimeout = 15 * time.Second
)

const prefix = "state backend postgres:"

// Config says where the state lives.
type Config struct {
	// ConnString is a libpq connection URL or keyword/value string. It may
	// hold a password; no error shows it.
	ConnString string
	// SchemaName holds the tables: DefaultSchema when empty. It must be a
	// plain lower-case identifier, since it is spliced into SQL.
	SchemaName string
	// Workspace separates histories and locks within the schema:
	// DefaultWorkspace when empty.
	Workspace string
	// LockTimeout, when positive, makes Create and Open wait up to that
	// long for a held workspace lock instead of failing at once.
	LockTimeout time.Duration
}

// Backend is one workspace of a schema. Read and List use a connection
// pool; each open Journal has a connection of its own, holding the lock.
type Backend struct {
	pool        *pgxpool.Pool
	connConfig  *pgx.ConnConfig // for the journals' lock sessions
	schema      string
	workspace   string
	lockTimeout time.Duration
	key         int64  // the workspace's advisory lock key
	server      string // host:port/database, for messages
	password    string // masked in every error
	// beforeCommit, when set by a test, runs before each journal commit,
	// so a test can hold the committer and watch appends queue up.
	beforeCommit func()
}

var _ state.Backend = (*Backend)(nil)

// errParse does not wrap pgx's error: that quotes the connection string,
// and its password masking is, in pgx's words, best effort.
var errParse = errors.New(prefix + " cannot parse the connection string (not shown, as it may hold a password): " +
	"expected a postgres:// URL or keyword=value pairs")

// New connects to the server and creates or upgrades the schema.
func New(ctx context.Context, cfg Config) (*Backend, error) {
	cfg = cfg.withDefaults()
	if err := cfg.check(); err != nil {
		return nil, err
	}
	poolCfg, err := pgxpool.ParseConfig(cfg.ConnString)
	if err != nil {
		return nil, errParse
	}
	tune(poolCfg.ConnConfig)
	b := &Backend{
		connConfig:  poolCfg.ConnConfig,
		schema:      cfg.SchemaName,
		workspace:   cfg.Workspace,
		lockTimeout: cfg.LockTimeout,
		key:         lockKey("workspace", cfg.SchemaName, cfg.Workspace),
		server:      describe(&poolCfg.ConnConfig.Config),
		password:    poolCfg.ConnConfig.Password,
	}
	if b.pool, err = pgxpool.NewWithConfig(ctx, poolCfg); err != nil {
		return nil, b.fail("opening a connection pool", err)
	}
	if err := b.migrate(ctx); err != nil {
		b.pool.Close()
		return nil, b.fail("preparing schema "+b.schema, err)
	}
	return b, nil
}

func (c Config) withDefaults() Config {
	if c.SchemaName == "" {
		c.SchemaName = DefaultSchema
	}
	if c.Workspace == "" {
		c.Workspace = DefaultWorkspace
	}
	return c
}

var identifier = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

func (c Config) check() error {
	switch {
	case c.ConnString == "":
		return errors.New(prefix + " no connection string")
	case !identifier.MatchString(c.SchemaName):
		return fmt.Errorf("%s schema name %q: want lower-case letters, digits and '_', not starting with a digit, at most 63", prefix, c.SchemaName)
	case len(c.Workspace) > 200 || !utf8.ValidString(c.Workspace) || strings.ContainsRune(c.Workspace, 0):
		return fmt.Errorf("%s workspace %.40q: want valid UTF-8 without NUL, at most 200 bytes", prefix, c.Workspace)
	}
	return nil
}

// tune fills in what the connection string left unset: a connect timeout,
// and a name operators can spot in pg_stat_activity.
func tune(c *pgx.ConnConfig) {
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = connectTimeout
	}
	if c.RuntimeParams == nil {
		c.RuntimeParams = map[string]string{}
	}
	if c.RuntimeParams["application_name"] == "" {
		c.RuntimeParams["application_name"] = "runbook"
	}
}

func describe(c *pgconn.Config) string {
	return net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port))) + "/" + c.Database
}

// fail gives err the package's prefix and masks the password in it. A
// failure to connect names the server, the part of the connection string
// that is safe to show.
func (b *Backend) fail(op string, err error) error {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		cause := errors.Unwrap(ce)
		if cause == nil {
			cause = ce
		}
		err = fmt.Errorf("%s cannot connect to %s: %w", prefix, b.server, cause)
	} else {
		err = fmt.Errorf("%s %s: %w", prefix, op, err)
	}
	return mask(err, b.password)
}

// masked hides a secret in an error's message; errors.Is and errors.As
// still see the error it wraps.
type masked struct {
	err    error
	secret string
}

func (e *masked) Error() string { return strings.ReplaceAll(e.err.Error(), e.secret, "xxxxx") }
func (e *masked) Unwrap() error { return e.err }

func mask(err error, secret string) error {
	if err == nil || secret == "" {
		return err
	}
	return &masked{err: err, secret: secret}
}

// querier is what the pool and a single connection have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// sql puts the schema into a query: a schema cannot be a parameter, and
// check made sure it needs no quoting.
func (b *Backend) sql(query string) string { return fmt.Sprintf(query, b.schema) }

// Create inserts the new run and its RunStarted record, holding the
// workspace lock until the journal is closed. The journal records info
// with JournalVersion set to state.FormatVersion when zero.
func (b *Backend) Create(ctx context.Context, info *state.RunInfo) (state.Journal, error) {
	if info == nil {
		return nil, errors.New(prefix + " Create needs a RunInfo")
	}
	// The local backend's rule, so that run IDs mean the same everywhere.
	if err := local.ValidRunID(info.ID); err != nil {
		return nil, err
	}
	lk, err := b.acquire(ctx, info.ID)
	if err != nil {
		return nil, err
	}
	j, err := b.create(ctx, lk, info)
	if err != nil {
		return nil, errors.Join(err, lk.release(b))
	}
	return j, nil
}

// create writes the run in one transaction on the lock's session.
func (b *Backend) create(ctx context.Context, lk *wsLock, info *state.RunInfo) (*Journal, error) {
	run := *info // the caller's RunInfo is left as it was
	if run.JournalVersion == 0 {
		run.JournalVersion = state.FormatVersion
	}
	first, err := toRow(&state.Record{Seq: 1, Time: now(), Type: state.RunStarted, Run: &run})
	if err != nil {
		return nil, fmt.Errorf("%s run %s: %w", prefix, run.ID, err)
	}
	summary, err := summaryInfo(&run)
	if err != nil {
		return nil, fmt.Errorf("%s run %s: %w", prefix, run.ID, err)
	}
	err = pgx.BeginFunc(ctx, lk.conn, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, b.sql(sqlInsertRun), b.workspace, run.ID, text(run.Runbook), text(run.Version),
			run.DryRun, run.JournalVersion, summary, first.time)
		if err == nil && tag.RowsAffected() == 0 {
			return fs.ErrExist
		}
		if err == nil {
			_, err = tx.Exec(ctx, b.sql(sqlInsertRecord), first.args(b.workspace, run.ID)...)
		}
		return err
	})
	switch {
	case errors.Is(err, fs.ErrExist):
		return nil, fmt.Errorf("%s run %s in workspace %q: %w", prefix, run.ID, b.workspace, fs.ErrExist)
	case err != nil:
		return nil, b.fail("creating run "+run.ID, err)
	}
	return newJournal(b, run.ID, lk, 2, 1), nil
}

// Open takes the workspace lock and returns the run's records and a
// journal that continues them.
func (b *Backend) Open(ctx context.Context, runID string) (state.Journal, []state.Record, error) {
	if err := b.checkRun(ctx, b.pool, runID); err != nil {
		return nil, nil, err
	}
	lk, err := b.acquire(ctx, runID)
	if err != nil {
		return nil, nil, err
	}
	// Read through the lock's session: nobody else can append now.
	recs, err := b.records(ctx, lk.conn, runID)
	if err != nil {
		return nil, nil, errors.Join(err, lk.release(b))
	}
	return newJournal(b, runID, lk, uint64(len(recs))+1, 0), recs, nil
}

// String names the workspace and where it is, never the password: for
// the command line's messages.
func (b *Backend) String() string {
	return fmt.Sprintf("postgres workspace %q in schema %s on %s", b.workspace, b.schema, b.server)
}

// Close closes the pool. Open journals keep their own connections.
func (b *Backend) Close() error {
	b.pool.Close()
	return nil
}

func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
