package testpg

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

func run(t *testing.T, connString, sql string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(ctx) }()
	_, err = conn.Exec(ctx, sql)
	return err
}

// Each Start is a database of its own.
func TestStartIsolates(t *testing.T) {
	a, b := Start(t), Start(t)
	if a == b {
		t.Fatalf("two Starts gave the same database %s", a)
	}
	if err := run(t, a, "CREATE TABLE x (n int)"); err != nil {
		t.Fatal(err)
	}
	if err := run(t, b, "CREATE TABLE x (n int)"); err != nil {
		t.Errorf("the table made in one database is in the other: %v", err)
	}
}

func TestClusterStopStart(t *testing.T) {
	c := NewCluster(t)
	cs := c.ConnString("postgres")
	if err := run(t, cs, "CREATE TABLE kept (n int); INSERT INTO kept VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := run(t, cs, "SELECT 1"); err == nil {
		t.Fatal("a stopped cluster accepted a connection")
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if err := run(t, cs, "SELECT n FROM kept"); err != nil {
		t.Errorf("after a restart: %v", err)
	}
}

func TestWithDatabase(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u@h:5/postgres?sslmode=disable": "postgres://u@h:5/t_1?sslmode=disable",
		"host=h user=u": "host=h user=u dbname=t_1",
	} {
		if got, err := withDatabase(in, "t_1"); err != nil || got != want {
			t.Errorf("withDatabase(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
