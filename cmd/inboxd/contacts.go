package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/inboxd/inboxd/cmd/inboxd/daemon"
	"github.com/inboxd/inboxd/inbox/privacy"
)

// contacts runs "inboxd contacts export|erase": a person's data, found
// by email (every contact with that address) or by channel and id, read
// or erased in the database directly, so it works while the daemon runs
// (like user add). Export prints a JSON array, one export per contact;
// erase prints what it deleted. Both are recorded in the audit log.
func contacts(ctx context.Context, verb string, args []string, stdout io.Writer) error {
	fs, path := flags("contacts " + verb)
	email := fs.String("email", "", "every contact with this email address")
	channel := fs.String("channel", "", "the contact's channel (with --id)")
	id := fs.String("id", "", "the contact's id on the channel (with --channel)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := load(*path)
	if err != nil {
		return err
	}
	st, err := daemon.OpenStore(ctx, cfg, daemon.NewLogger(cfg, os.Stderr))
	if err != nil {
		return err
	}
	defer st.Close()
	m := privacy.New(privacy.Options{Store: st, Logger: daemon.NewLogger(cfg, io.Discard)})
	found, err := m.FindContacts(ctx, privacy.Lookup{Email: *email, ChannelID: *channel, ExternalID: *id})
	if err != nil {
		return fmt.Errorf("give --email E, or --channel C --id X: %w", err)
	}
	if len(found) == 0 {
		return errors.New("no contact matches")
	}
	if verb == "export" {
		out := make([]*privacy.Export, 0, len(found))
		for _, c := range found {
			x, err := m.ExportCLI(ctx, c.ID)
			if err != nil {
				return fmt.Errorf("export contact %d: %w", c.ID, err)
			}
			out = append(out, x)
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	for _, c := range found {
		er, err := m.EraseCLI(ctx, c.ID)
		if err != nil {
			return fmt.Errorf("erase contact %d: %w", c.ID, err)
		}
		n := er.Counts
		fmt.Fprintf(stdout, "erased contact %d (channel %s): %d conversations, %d messages, %d attachments, %d registered contacts, %d widget visitors\n",
			c.ID, c.ChannelID, n.Conversations, n.Messages, n.Attachments, n.RegisteredContacts, n.Visitors)
	}
	return nil
}
