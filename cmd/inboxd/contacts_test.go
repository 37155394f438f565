package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inboxd/inboxd/cmd/inboxd/daemon"
	"github.com/inboxd/inboxd/inbox"
)

// TestContactsExportErase: the command line exports a person's data as
// JSON (by email, every contact with that address) and erases it (by
// channel and id), in a database a daemon could be running on; the other
// customer stays, and both are in the audit log.
func TestContactsExportErase(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "inboxd.yaml")
	yaml := "data_dir: " + filepath.Join(dir, "data") + "\nqueues:\n  - {id: support, name: Support}\n" +
		"channels:\n  - {id: crm, kind: webhook, name: CRM, queue: support, secret: 0123456789abcdef0123}\n" +
		"  - {id: shop, kind: webhook, name: Shop, queue: support, secret: 0123456789abcdef0123}\n"
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cfg, err := daemon.Load(cfgPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := daemon.OpenStore(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	svc := inbox.NewService(inbox.Options{Store: st, Channels: cfg.ChannelInfos()})
	for _, in := range []inbox.Inbound{
		{ChannelID: "crm", ExternalID: "1", Text: "my order wombat-42", Contact: inbox.ContactInfo{ExternalID: "p1", Name: "Pia", Email: "pia@example.org"}},
		{ChannelID: "shop", ExternalID: "2", Text: "also me", Contact: inbox.ContactInfo{ExternalID: "p2", Name: "Pia", Email: "PIA@example.org"}},
		{ChannelID: "crm", ExternalID: "3", Text: "someone else", Contact: inbox.ContactInfo{ExternalID: "q", Name: "Quinn"}},
	} {
		if _, err := svc.Ingest(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	cli := func(args ...string) (string, error) {
		var out, errb bytes.Buffer
		err := run(ctx, append(args, "--config", cfgPath), nil, &out, &errb)
		return out.String(), err
	}

	out, err := cli("contacts", "export", "--email", "pia@example.org")
	if err != nil {
		t.Fatal(err)
	}
	var xs []struct {
		Contact       struct{ Email string }
		Conversations []struct{ Messages []struct{ Text string } }
	}
	if err := json.Unmarshal([]byte(out), &xs); err != nil || len(xs) != 2 || len(xs[0].Conversations) != 1 ||
		xs[0].Conversations[0].Messages[0].Text != "my order wombat-42" {
		t.Fatalf("export: %v\n%s", err, out)
	}
	if _, err := cli("contacts", "export"); err == nil {
		t.Fatal("export without a lookup")
	}
	if _, err := cli("contacts", "erase", "--email", "x@example.org", "--channel", "crm", "--id", "p1"); err == nil {
		t.Fatal("erase with both lookups")
	}
	if _, err := cli("contacts", "erase", "--email", "nobody@example.org"); err == nil || !strings.Contains(err.Error(), "no contact") {
		t.Fatalf("erase of nobody: %v", err)
	}
	out, err = cli("contacts", "erase", "--channel", "crm", "--id", "p1")
	if err != nil || !strings.Contains(out, "1 conversations, 1 messages") {
		t.Fatalf("erase: %v %q", err, out)
	}
	if out, err = cli("contacts", "erase", "--email", "pia@example.org"); err != nil || strings.Count(out, "erased contact") != 1 {
		t.Fatalf("erase the rest: %v %q", err, out)
	}
	if _, err := cli("contacts", "export", "--email", "pia@example.org"); err == nil {
		t.Fatal("the erased person is still found")
	}
	st, err = daemon.OpenStore(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var left struct{ Contacts, Messages, Wombats, Audits int64 }
	st.DB().Raw(`SELECT (SELECT COUNT(*) FROM contacts) AS contacts, (SELECT COUNT(*) FROM messages) AS messages,
		(SELECT COUNT(*) FROM events WHERE payload LIKE '%wombat%') AS wombats,
		(SELECT COUNT(*) FROM audit_log WHERE actor_name = 'command line') AS audits`).Scan(&left)
	if left.Contacts != 1 || left.Messages != 1 || left.Wombats != 0 || left.Audits != 4 {
		t.Fatalf("left: %+v (want Quinn only; 2 exports and 2 erasures audited)", left)
	}
}
