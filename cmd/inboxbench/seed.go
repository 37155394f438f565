package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/inboxd/inboxd/cmd/inboxd/daemon"
	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
)

const seedSummary = `Bulk-loads synthetic contacts, conversations (every status) and messages
directly through the store (store.Seed: multi-row INSERTs in transactions),
after applying migrations. Conversations are spread round robin over the
channels; their ids must match the daemon's config for the journal to show
them, so either name them with --channels (and --kind/--queue) or pass the
daemon's --config, whose channels and database are then used. Stop the daemon
first on SQLite, or expect the seeder and the daemon to wait on each other.`

// maxSeedConversations bounds one seed run (10,000,000 conversations).
const maxSeedConversations = 10_000_000

func seedCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("seed", seedSummary, stderr)
	dbURL := fs.String("database", "", "database: sqlite:<path> or postgres://user@127.0.0.1:5432/db?sslmode=disable (default: the --config's)")
	config := fs.String("config", "", "the daemon's config file: channels (and the database unless --database) come from it")
	conversations := fs.Int("conversations", 100_000, "conversations to add (one contact each)")
	messagesPer := fs.Int("messages-per", 10, "messages per conversation")
	channels := fs.String("channels", "crm", "comma-separated channel ids (ignored with --config)")
	kind := fs.String("kind", "webhook", "kind of the --channels")
	queue := fs.String("queue", "support", "queue of the --channels")
	batch := fs.Int("batch", 500, "conversations per transaction")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *conversations < 1 || *conversations > maxSeedConversations {
		return fmt.Errorf("--conversations: must be between 1 and %d", maxSeedConversations)
	}
	if *messagesPer < 1 || *messagesPer > 1000 {
		return errors.New("--messages-per: must be between 1 and 1000")
	}
	if *batch < 1 || *batch > 5000 {
		return errors.New("--batch: must be between 1 and 5000")
	}
	var chans []inbox.ChannelInfo
	if *config != "" {
		cfg, err := daemon.Load(*config, nil)
		if err != nil {
			return err
		}
		for _, ch := range cfg.Channels {
			chans = append(chans, inbox.ChannelInfo{ID: ch.ID, Kind: ch.Kind, Name: ch.Name, Queue: ch.Queue})
		}
		if *dbURL == "" {
			*dbURL = cfg.Database.URL
			if *dbURL == "" {
				*dbURL = "sqlite:" + filepath.Join(cfg.DataDir, "inboxd.db")
			}
		}
	} else {
		for _, id := range strings.Split(*channels, ",") {
			if id = strings.TrimSpace(id); id != "" {
				chans = append(chans, inbox.ChannelInfo{ID: id, Kind: *kind, Name: id, Queue: *queue})
			}
		}
	}
	if len(chans) == 0 {
		return errors.New("--channels: at least one channel id is required")
	}
	if err := checkDatabaseURL(*dbURL); err != nil {
		return err
	}

	st, err := store.Open(ctx, *dbURL, "", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	ids := make([]string, len(chans))
	for i, c := range chans {
		ids[i] = c.ID
	}
	total := *conversations
	fmt.Fprintf(stdout, "seed: %s database, %d conversations × %d messages over channels %s\n",
		st.Dialect(), total, *messagesPer, strings.Join(ids, ","))
	start := time.Now()
	last := start
	err = st.Seed(ctx, store.SeedOptions{
		Conversations: total, MessagesPer: *messagesPer, Channels: chans, Batch: *batch,
		Progress: func(done int) {
			// One line every 2 s at most: a progress line per batch
			// would flood the terminal at a million rows.
			if now := time.Now(); now.Sub(last) >= 2*time.Second || done == total {
				last = now
				el := now.Sub(start).Seconds()
				rows := float64(done) * float64(2+*messagesPer)
				fmt.Fprintf(stdout, "  %d/%d conversations (%.0f%%), %.0f rows/s\n",
					done, total, 100*float64(done)/float64(total), rows/el)
			}
		},
	})
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	el := time.Since(start)
	rows := total * (2 + *messagesPer)
	fmt.Fprintf(stdout, "seeded %d conversations, %d messages, %d rows (contacts, conversations, messages) in %s: %.0f rows/s, %.0f conversations/s (ANALYZE included)\n",
		total, total**messagesPer, rows, el.Round(time.Millisecond), float64(rows)/el.Seconds(), float64(total)/el.Seconds())
	return nil
}

// checkDatabaseURL accepts SQLite files and PostgreSQL on this machine
// only, like every other target of the tool.
func checkDatabaseURL(raw string) error {
	switch {
	case strings.HasPrefix(raw, "sqlite:") && len(raw) > len("sqlite:"):
		return nil
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		u, err := url.Parse(raw)
		if err != nil {
			return errors.New("--database: not a valid postgres:// URL")
		}
		// A socket directory in ?host= also counts as local.
		if h := u.Query().Get("host"); h != "" && !strings.HasPrefix(h, "/") && !localHost(h) {
			return fmt.Errorf("--database: host %q refused: inboxbench only targets 127.0.0.1 or localhost", h)
		}
		if u.Hostname() != "" && !localHost(u.Hostname()) {
			return fmt.Errorf("--database: host %q refused: inboxbench only targets 127.0.0.1 or localhost", u.Hostname())
		}
		return nil
	case raw == "":
		return errors.New("--database: is required (sqlite:<path> or postgres://...), or pass --config")
	}
	return errors.New("--database: must be sqlite:<path> or postgres://...")
}
