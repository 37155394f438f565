// Package storetest opens fresh, migrated stores for tests: a SQLite file
// in a temporary folder, or a throwaway schema on the PostgreSQL server
// named by INBOXD_TEST_POSTGRES_URL.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/inboxd/inboxd/inbox/store"
)

// PostgresEnv names the variable holding the test PostgreSQL URL.
const PostgresEnv = "INBOXD_TEST_POSTGRES_URL"

// Dialects returns the dialects to run a suite on: SQLite always,
// PostgreSQL when its URL is set. Under CI=true a missing URL fails.
func Dialects(t testing.TB) []store.Dialect {
	ds := []store.Dialect{store.SQLite}
	if os.Getenv(PostgresEnv) != "" {
		ds = append(ds, store.Postgres)
	} else if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not set: CI must run the PostgreSQL suite", PostgresEnv)
	}
	return ds
}

// URL returns a database URL for a fresh database of dialect d, dropped
// when the test ends. SQLite: sqlite:<tempdir>/inboxd.db. PostgreSQL: a new
// schema selected through search_path.
func URL(t testing.TB, d store.Dialect) string {
	t.Helper()
	if d == store.SQLite {
		return "sqlite:" + filepath.Join(t.TempDir(), "inboxd.db")
	}
	base := os.Getenv(PostgresEnv)
	if base == "" {
		t.Skipf("%s is not set; skipping the PostgreSQL run", PostgresEnv)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	admin, err := store.Open(context.Background(), base, "", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("connect to %s: %v", PostgresEnv, err)
	}
	if err := admin.DB().Exec(`CREATE SCHEMA ` + schema).Error; err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		admin.DB().Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", PostgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Open returns a fresh migrated store of dialect d, closed at the end of
// the test.
func Open(t testing.TB, d store.Dialect) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), URL(t, d), "", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return s
}
