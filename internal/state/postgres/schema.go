package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/tern/v2/migrate"

	"github.com/runbook-dev/runbook/internal/state"
)

// migrations are tern's numbered files (001_name.sql, ...), templates in
// which {{.schema}} is the schema. A file, once released, never changes: a
// change to the tables is a new file.
//
//go:embed migrations/*.sql
var migrations embed.FS

// migrate creates the schema if need be and runs the migrations it has
// not had, recording its version in SCHEMA.schema_version. tern takes an
// advisory lock of its own while it migrates, so runbooks starting at once
// on a new database do not trip over each other.
func (b *Backend) migrate(ctx context.Context) (err error) {
	c, err := b.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil { // tern may not have released its session lock
			_ = c.Conn().Close(context.Background())
		}
		c.Release()
	}()
	if err := b.createSchema(ctx, c.Conn()); err != nil {
		return err
	}
	m, err := migrate.NewMigrator(ctx, c.Conn(), b.schema+".schema_version")
	if err != nil {
		return err
	}
	m.Data["schema"] = b.schema
	files, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	if err := m.LoadMigrations(files); err != nil {
		return err
	}
	current, err := b.checkVersion(ctx, m)
	if err != nil || current {
		return err
	}
	return m.Migrate(ctx)
}

// createSchema creates the schema unless it exists. It looks first
// because CREATE SCHEMA IF NOT EXISTS wants the CREATE privilege on the
// database even when the schema is there, which a role granted only the
// schema lacks. The transaction's advisory lock keeps two first runs from
// both creating it.
func (b *Backend) createSchema(ctx context.Context, conn *pgx.Conn) error {
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockKey("schema", b.schema)); err != nil {
			return err
		}
		var exists bool
		err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1)", b.schema).Scan(&exists)
		if err != nil || exists {
			return err
		}
		_, err = tx.Exec(ctx, "CREATE SCHEMA "+b.schema)
		return err
	})
}

// checkVersion reports whether the schema is up to date, and refuses one
// that a newer runbook has migrated past what this one knows.
func (b *Backend) checkVersion(ctx context.Context, m *migrate.Migrator) (bool, error) {
	v, err := m.GetCurrentVersion(ctx)
	if err != nil {
		return false, err
	}
	known := int32(len(m.Migrations))
	if v > known {
		return false, fmt.Errorf("schema %s is at version %d, and this runbook knows versions up to %d: %w",
			b.schema, v, known, state.ErrNewerFormat)
	}
	return v == known, nil
}
