package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"strconv"
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
daemon's --config, whose channels and database are then used. With --agents N
it creates N agent users (seed-agent-<k>@example.invalid, serving the channels'
queues, no usable password; reused by later runs) and makes them participant
and owner of the active and inactive conversations, round robin, so that the
journal's agent filter has realistic data; it prints their ids. With --tag NAME
it puts that tag on one conversation in --tag-every (all of them, also those
of earlier runs), for the journal's tag filter (journal --tag). Stop the daemon
first on SQLite, or expect the seeder and the daemon to wait on each other.`

// maxSeedAgents bounds --agents.
const maxSeedAgents = 10_000

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
	events := fs.Bool("events", false, "also add a message.created event per message (the live feeds' replay source)")
	agents := fs.Int("agents", 0, "agent users to create and assign to the active and inactive conversations, round robin (0: no participants)")
	tag := fs.String("tag", "", "a tag to put on a share of the conversations (created if missing; empty: none)")
	tagEvery := fs.Int("tag-every", 10, "with --tag: tag the conversations whose id is a multiple of this (10: a tenth)")
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
	if *tagEvery < 1 || *tagEvery > maxSeedConversations {
		return fmt.Errorf("--tag-every: must be between 1 and %d", maxSeedConversations)
	}
	if *tag != "" {
		n, err := inbox.NormalizeTagName(*tag)
		if err != nil {
			return fmt.Errorf("--tag: %s", inbox.ErrorMessage(err))
		}
		*tag = n
	}
	if *agents < 0 || *agents > maxSeedAgents {
		return fmt.Errorf("--agents: must be between 0 and %d", maxSeedAgents)
	}
	var chans []inbox.ChannelInfo
	if *config != "" {
		cfg, err := daemon.Load(*config, nil)
		if err != nil {
			return err
		}
		chans = cfg.ChannelInfos()
		if *dbURL == "" {
			*dbURL = cfg.Database.URL
			if *dbURL == "" {
				*dbURL = "sqlite:" + filepath.Join(cfg.DataDir, "inboxd.db")
			}
		}
	} else {
		for _, id := range strings.Split(*channels, ",") {
			if id = strings.TrimSpace(id); id != "" {
				chans = append(chans, daemon.ChannelInfo(id, *kind, id, *queue))
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
	agentIDs, err := seedAgents(ctx, st, *agents, chans)
	if err != nil {
		return err
	}
	total := *conversations
	fmt.Fprintf(stdout, "seed: %s database, %d conversations × %d messages over channels %s\n",
		st.Dialect(), total, *messagesPer, strings.Join(ids, ","))
	if len(agentIDs) > 0 {
		fmt.Fprintf(stdout, "agents (user ids, for journal --agent): %s\n", joinIDs(agentIDs))
	}
	start := time.Now()
	last := start
	err = st.Seed(ctx, store.SeedOptions{
		Conversations: total, MessagesPer: *messagesPer, Channels: chans, Batch: *batch, Agents: agentIDs, Events: *events,
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
	if *tag != "" {
		ts := time.Now()
		n, err := st.SeedTags(ctx, *tag, *tagEvery)
		if err != nil {
			return fmt.Errorf("seed tags: %w", err)
		}
		fmt.Fprintf(stdout, "tagged %d conversations %q (one in %d) in %s\n", n, *tag, *tagEvery, time.Since(ts).Round(time.Millisecond))
	}
	rows := total * (2 + *messagesPer)
	fmt.Fprintf(stdout, "seeded %d conversations, %d messages, %d rows (contacts, conversations, messages) in %s: %.0f rows/s, %.0f conversations/s (ANALYZE included)\n",
		total, total**messagesPer, rows, el.Round(time.Millisecond), float64(rows)/el.Seconds(), float64(total)/el.Seconds())
	return nil
}

// seedAgents returns n agent users serving the channels' queues, creating
// those a previous run did not (by email). Their password hash is not a
// hash: nobody logs in as them.
func seedAgents(ctx context.Context, st *store.Store, n int, chans []inbox.ChannelInfo) ([]int64, error) {
	var queues []string
	seen := map[string]bool{}
	for _, c := range chans {
		if !seen[c.Queue] {
			seen[c.Queue] = true
			queues = append(queues, c.Queue)
		}
	}
	ids := make([]int64, 0, n)
	for k := 1; k <= n; k++ {
		email := fmt.Sprintf("seed-agent-%d@example.invalid", k)
		u, _, err := st.Credentials(ctx, email)
		if err != nil {
			return nil, fmt.Errorf("agent %s: %w", email, err)
		}
		if u == nil {
			u = &inbox.User{Email: email, Name: fmt.Sprintf("Seed agent %d", k), Role: inbox.RoleAgent,
				Queues: queues, CreatedAt: time.Now().UTC()}
			if err := st.CreateUser(ctx, u, "!"); err != nil {
				return nil, fmt.Errorf("agent %s: %w", email, err)
			}
		}
		ids = append(ids, u.ID)
	}
	return ids, nil
}

func joinIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ",")
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
