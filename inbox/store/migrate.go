package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

//go:embed migrations
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

func (s *Store) migrations() ([]migration, error) {
	dir := "migrations/" + string(s.dialect)
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		n, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(n)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", e.Name())
		}
		b, err := migrationFS.ReadFile(dir + "/" + e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// LatestVersion is the newest schema version this build knows.
func (s *Store) LatestVersion() int {
	ms, err := s.migrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// SchemaVersion returns the version recorded in the database (0: empty).
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	if err := s.db.WithContext(ctx).Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`).Error; err != nil {
		return 0, classify(err)
	}
	var v *int
	if err := s.db.WithContext(ctx).Raw(`SELECT MAX(version) FROM schema_migrations`).Scan(&v).Error; err != nil {
		return 0, classify(err)
	}
	if v == nil {
		return 0, nil
	}
	return *v, nil
}

// Migrate applies the pending migrations in order, each in a transaction
// with its record. It refuses a database whose schema is newer than this
// build knows. It returns the versions applied.
func (s *Store) Migrate(ctx context.Context) ([]int, error) {
	ms, err := s.migrations()
	if err != nil {
		return nil, err
	}
	if s.dialect == Postgres {
		// Replicas starting together: one migrates, the others wait.
		return s.migrateLocked(ctx, ms)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return s.apply(ctx, s.db, ms)
}

func (s *Store) migrateLocked(ctx context.Context, ms []migration) ([]int, error) {
	conn, err := s.db.DB()
	if err != nil {
		return nil, err
	}
	c, err := conn.Conn(ctx)
	if err != nil {
		return nil, classify(err)
	}
	defer c.Close()
	const key = 7259117 // "inboxd migrations"
	if _, err := c.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, key); err != nil {
		return nil, classify(err)
	}
	defer c.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, key)
	return s.apply(ctx, s.db, ms)
}

func (s *Store) apply(ctx context.Context, db *gorm.DB, ms []migration) ([]int, error) {
	cur, err := s.SchemaVersion(ctx)
	if err != nil {
		return nil, err
	}
	if latest := ms[len(ms)-1].version; cur > latest {
		return nil, fmt.Errorf("database schema version %d is newer than this inboxd knows (%d): upgrade inboxd", cur, latest)
	}
	var applied []int
	for _, m := range ms {
		if m.version <= cur {
			continue
		}
		err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			for _, stmt := range splitSQL(m.sql) {
				if err := tx.Exec(stmt).Error; err != nil {
					return fmt.Errorf("%s: %w", m.name, err)
				}
			}
			return tx.Exec(`INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, time.Now().UTC().Format(time.RFC3339)).Error
		})
		if err != nil {
			return applied, fmt.Errorf("migrate: %w", err)
		}
		applied = append(applied, m.version)
		s.log.Info("migration applied", "version", m.version, "name", m.name)
	}
	return applied, nil
}

// CheckSchema fails when the database is not at this build's version: the
// daemon refuses to start on an unknown newer schema, and asks for
// `inboxd migrate` (or runs it) on an older one.
func (s *Store) CheckSchema(ctx context.Context) error {
	cur, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	latest := s.LatestVersion()
	switch {
	case cur > latest:
		return fmt.Errorf("database schema version %d is newer than this inboxd knows (%d): upgrade inboxd", cur, latest)
	case cur < latest:
		return fmt.Errorf("database schema version %d is older than %d: run `inboxd migrate`", cur, latest)
	}
	return nil
}

// splitSQL splits a migration on semicolons at line ends; migrations hold
// no procedural code.
func splitSQL(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ";\n") {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, strings.TrimSuffix(p, ";"))
		}
	}
	return out
}
