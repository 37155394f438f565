// Package store persists inboxd's data with gorm, on the embedded SQLite
// (pure Go, no cgo) or on PostgreSQL. It implements inbox.Store and
// journal.Reader; the same test suite runs on both dialects.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/inboxd/inboxd/inbox"
)

// Dialect names a database kind.
type Dialect string

// Dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Store is the database.
type Store struct {
	db      *gorm.DB
	dialect Dialect
	// writeMu serializes SQLite writers in this process: SQLite has one
	// writer at a time, and waiting on a mutex beats busy-polling.
	writeMu sync.Mutex
	log     *slog.Logger
}

// Open connects to url: "" means SQLite at dataDir/inboxd.db,
// "sqlite:<path>" a SQLite file, "postgres://..." PostgreSQL.
func Open(ctx context.Context, url, dataDir string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.Default()
	}
	// Prepared statements are cached (an LRU, so that IN lists of many
	// lengths cannot grow it without bound): parsing SQL again for every
	// statement was a quarter of ingest's CPU on SQLite.
	cfg := &gorm.Config{Logger: logger.Discard, SkipDefaultTransaction: true,
		PrepareStmt: true, PrepareStmtMaxSize: 512, PrepareStmtTTL: time.Hour}
	var (
		dial gorm.Dialector
		d    Dialect
	)
	switch {
	case url == "" || strings.HasPrefix(url, "sqlite:"):
		path := strings.TrimPrefix(url, "sqlite:")
		if path == "" {
			if dataDir == "" {
				dataDir = "./data"
			}
			if err := os.MkdirAll(dataDir, 0o750); err != nil {
				return nil, fmt.Errorf("data_dir %q: %w", dataDir, err)
			}
			path = filepath.Join(dataDir, "inboxd.db")
		} else if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("database.url: folder of %q: %w", path, err)
		}
		if err := checkWritable(filepath.Dir(path)); err != nil {
			return nil, err
		}
		if err := registerWords(); err != nil {
			return nil, fmt.Errorf("sqlite: register search function: %w", err)
		}
		dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
			"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=temp_store(MEMORY)&_txlock=immediate"
		dial, d = sqlite.Open(dsn), SQLite
	case strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://"):
		dial, d = postgres.Open(url), Postgres
	default:
		return nil, fmt.Errorf("database.url: must be empty, sqlite:<path> or postgres://...")
	}
	db, err := gorm.Open(dial, cfg)
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", d, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	// Idle connections are kept: a closed connection takes its prepared
	// statements with it, and a busy daemon then spends a fifth of its
	// time re-preparing them (database/sql keeps only 2 idle by default).
	if d == SQLite {
		sqlDB.SetMaxOpenConns(4)
		sqlDB.SetMaxIdleConns(4)
	} else {
		sqlDB.SetMaxOpenConns(poolSize)
		sqlDB.SetMaxIdleConns(poolSize)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
		sqlDB.SetConnMaxLifetime(30 * time.Minute)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("connect to %s database: %w", d, err)
	}
	return &Store{db: db, dialect: d, log: log}, nil
}

// checkWritable fails early, with a clear message, when the SQLite folder
// cannot be written (a read-only mount, wrong owner).
func checkWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".inboxd-write-check-*")
	if err != nil {
		return fmt.Errorf("data_dir %q is not writable: %w", dir, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// poolSize is the PostgreSQL connections for queries; connections held
// for long (leader locks, LISTEN) are reserved on top with Reserve.
const poolSize = 20

// Reserve makes room in the pool for n connections that will be held for
// long (one per leader lock, one for LISTEN), so that they never starve
// the requests. SQLite needs none.
func (s *Store) Reserve(n int) {
	if s.dialect != Postgres {
		return
	}
	if sqlDB, err := s.db.DB(); err == nil {
		sqlDB.SetMaxOpenConns(poolSize + n)
		sqlDB.SetMaxIdleConns(poolSize + n)
	}
}

// Dialect returns the database kind.
func (s *Store) Dialect() Dialect { return s.dialect }

// DB returns the gorm handle (for tools such as the load generator).
func (s *Store) DB() *gorm.DB { return s.db }

// Close closes the database.
func (s *Store) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// Ping checks the database for /readyz.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return classify(sqlDB.PingContext(ctx))
}

// InTx implements inbox.Store.
func (s *Store) InTx(ctx context.Context, fn func(tx inbox.Tx) error) error {
	return s.withTx(ctx, func(t *tx) error { return fn(t) })
}

// withTx runs fn in one transaction; the feature interfaces' InXxxTx
// methods hand the same tx on under their own types.
func (s *Store) withTx(ctx context.Context, fn func(t *tx) error) error {
	if s.dialect == SQLite {
		s.writeMu.Lock()
		defer s.writeMu.Unlock()
	}
	err := s.db.WithContext(ctx).Transaction(func(g *gorm.DB) error {
		return fn(&tx{g: g, s: s})
	})
	return classify(err)
}

// read returns the handle for a query outside a transaction.
func (s *Store) read(ctx context.Context) *gorm.DB { return s.db.WithContext(ctx) }

// classify keeps domain errors and turns lost connections into
// inbox.ErrUnavailable so that webhooks answer 503 and providers retry.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var ie *inbox.Error
	if errors.As(err, &ie) || errors.Is(err, inbox.ErrRetryTx) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if isUnique(err) || isRetryable(err) {
		return inbox.ErrRetryTx
	}
	var ne net.Error
	var ce *pgconn.ConnectError
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &ne), errors.As(err, &ce), errors.Is(err, sql.ErrConnDone),
		errors.Is(err, errBadConn), strings.Contains(err.Error(), "conn closed"),
		strings.Contains(err.Error(), "connection refused"), strings.Contains(err.Error(), "unexpected EOF"):
		return fmt.Errorf("%w: %v", inbox.ErrUnavailable, err)
	case errors.As(err, &pe) && (strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "57P")):
		// Connection exceptions and operator intervention (shutdown).
		return fmt.Errorf("%w: %v", inbox.ErrUnavailable, err)
	case strings.Contains(err.Error(), "disk") && strings.Contains(err.Error(), "full"),
		strings.Contains(err.Error(), "readonly database"):
		return fmt.Errorf("%w: %v", inbox.ErrUnavailable, err)
	}
	return fmt.Errorf("store: %w", err)
}

var errBadConn = errors.New("driver: bad connection")

// isRetryable: PostgreSQL chose this transaction as a deadlock victim or
// a serialization failure; running it again succeeds.
func isRetryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

func isUnique(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	return strings.Contains(err.Error(), "UNIQUE constraint failed")
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
