package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
)

func TestConsoleUsersAndTokens(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		us, err := f.st.Users(ctx)
		if err != nil || len(us) != 3 || us[0].Name != "Anna" || us[1].Name != "Bob" || us[2].Name != "Olga" {
			t.Fatalf("users: %v %+v", err, us)
		}
		if len(us[0].Queues) != 1 || us[0].Queues[0] != "support" {
			t.Fatalf("anna's queues: %+v", us[0].Queues)
		}
		exp := f.now.Add(time.Hour)
		for _, tk := range []struct{ hash, kind, name string }{
			{"h-session", store.TokenSession, "login"}, {"h-api-1", store.TokenAPI, "crm sync"}, {"h-api-2", store.TokenAPI, "backup"},
		} {
			if err := f.st.CreateToken(ctx, f.anna.ID, tk.hash, tk.kind, tk.name, f.now, exp); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.st.CreateToken(ctx, f.bob.ID, "h-bob", store.TokenAPI, "bob's", f.now, time.Time{}); err != nil {
			t.Fatal(err)
		}
		toks, err := f.st.APITokens(ctx, f.anna.ID)
		if err != nil || len(toks) != 2 || toks[0].Name != "backup" || toks[1].Name != "crm sync" {
			t.Fatalf("anna's tokens: %v %+v", err, toks)
		}
		if !toks[0].ExpiresAt.Equal(exp) || !toks[0].LastUsedAt.IsZero() {
			t.Fatalf("token times: %+v", toks[0])
		}
		bobs, _ := f.st.APITokens(ctx, f.bob.ID)
		if len(bobs) != 1 || !bobs[0].ExpiresAt.IsZero() {
			t.Fatalf("bob's tokens: %+v", bobs)
		}
		// Anna cannot revoke Bob's token; she can revoke her own.
		if err := f.st.DeleteAPIToken(ctx, f.anna.ID, bobs[0].ID); inbox.ErrorCode(err) != inbox.ENotFound {
			t.Fatalf("delete another's token: %v", err)
		}
		if err := f.st.DeleteAPIToken(ctx, f.anna.ID, toks[0].ID); err != nil {
			t.Fatalf("delete: %v", err)
		}
		if u, _, _ := f.st.UserByToken(ctx, "h-api-2", f.now); u != nil {
			t.Fatal("a revoked token still authenticates")
		}
		if u, _, _ := f.st.UserByToken(ctx, "h-bob", f.now); u == nil {
			t.Fatal("bob's token was revoked")
		}
	})
}

func TestConsoleSetPassword(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		for _, h := range []string{"s1", "s2"} {
			if err := f.st.CreateToken(ctx, f.anna.ID, h, store.TokenSession, "login", f.now, f.now.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		f.st.CreateToken(ctx, f.anna.ID, "api", store.TokenAPI, "script", f.now, time.Time{})
		f.st.CreateToken(ctx, f.bob.ID, "bob-session", store.TokenSession, "login", f.now, f.now.Add(time.Hour))
		f.st.CreateToken(ctx, f.bob.ID, "bob-api", store.TokenAPI, "script", f.now, time.Time{})
		live := func(want map[string]bool) {
			t.Helper()
			for hash, live := range want {
				u, _, err := f.st.UserByToken(ctx, hash, f.now)
				if err != nil || (u != nil) != live {
					t.Errorf("token %s: user %v err %v, want live=%v", hash, u, err, live)
				}
			}
		}
		// Without revoking API tokens: other sessions end, API tokens stay.
		if err := f.st.SetPassword(ctx, f.anna.ID, "new-hash", "s1", false); err != nil {
			t.Fatal(err)
		}
		if _, h, _ := f.st.Credentials(ctx, "anna@example.com"); h != "new-hash" {
			t.Fatalf("hash = %q", h)
		}
		live(map[string]bool{"s1": true, "s2": false, "api": true, "bob-session": true, "bob-api": true})
		// Revoking them: Anna's API tokens end too, not the caller's session
		// nor Bob's tokens.
		f.st.CreateToken(ctx, f.anna.ID, "s3", store.TokenSession, "login", f.now, f.now.Add(time.Hour))
		if err := f.st.SetPassword(ctx, f.anna.ID, "newer-hash", "s1", true); err != nil {
			t.Fatal(err)
		}
		live(map[string]bool{"s1": true, "s3": false, "api": false, "bob-session": true, "bob-api": true})
		// A change made with an API token keeps that token.
		f.st.CreateToken(ctx, f.anna.ID, "api-2", store.TokenAPI, "script", f.now, time.Time{})
		f.st.CreateToken(ctx, f.anna.ID, "api-3", store.TokenAPI, "other", f.now, time.Time{})
		if err := f.st.SetPassword(ctx, f.anna.ID, "newest-hash", "api-2", true); err != nil {
			t.Fatal(err)
		}
		live(map[string]bool{"api-2": true, "api-3": false, "s1": false})
		if err := f.st.SetPassword(ctx, 9999, "x", "", true); inbox.ErrorCode(err) != inbox.ENotFound {
			t.Fatalf("unknown user: %v", err)
		}
	})
}

func TestConsoleSetUserName(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		u, err := f.st.SetUserName(ctx, f.anna.ID, "Anna Berg ✓")
		if err != nil || u == nil || u.ID != f.anna.ID || u.Name != "Anna Berg ✓" || u.Email != "anna@example.com" {
			t.Fatalf("set name: %v %+v", err, u)
		}
		if len(u.Queues) != 1 || u.Queues[0] != "support" || u.Role != f.anna.Role {
			t.Fatalf("the rest of the user changed: %+v", u)
		}
		// Stored, for Anna only.
		got, err := f.st.User(ctx, f.anna.ID)
		if err != nil || got.Name != "Anna Berg ✓" {
			t.Fatalf("stored name: %v %+v", err, got)
		}
		if bob, _ := f.st.User(ctx, f.bob.ID); bob.Name != "Bob" {
			t.Fatalf("bob's name: %q", bob.Name)
		}
		// The same name again is no error (matched, not changed).
		if _, err := f.st.SetUserName(ctx, f.anna.ID, "Anna Berg ✓"); err != nil {
			t.Fatalf("same name: %v", err)
		}
		if _, err := f.st.SetUserName(ctx, 9999, "x"); inbox.ErrorCode(err) != inbox.ENotFound {
			t.Fatalf("unknown user: %v", err)
		}
	})
}

func TestConsoleCountsStatsAndActivities(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		start := f.now
		a := f.ingest("crm", "m1", "c1", "first")
		b := f.ingest("site", "m2", "c2", "second")
		f.ingest("sales", "m3", "c3", "other queue")
		f.now = f.now.Add(90 * time.Second)
		if _, err := f.svc.Reply(ctx, f.anna, a.ConversationID, "hello"); err != nil {
			t.Fatal(err)
		}
		f.tick()
		f.svc.Reply(ctx, f.anna, a.ConversationID, "second reply does not count")
		if _, err := f.svc.Act(ctx, f.bob, a.ConversationID, inbox.ActionJoin); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Act(ctx, f.anna, a.ConversationID, inbox.ActionClose); err != nil {
			t.Fatal(err)
		}

		all, err := f.st.StatusCounts(ctx, "", "")
		if err != nil || all[inbox.StatusInactive] != 1 || all[inbox.StatusUnassigned] != 2 || all[inbox.StatusActive] != 0 {
			t.Fatalf("counts: %v %v", err, all)
		}
		if c, _ := f.st.StatusCounts(ctx, "support", "site"); c[inbox.StatusUnassigned] != 1 || c[inbox.StatusInactive] != 0 {
			t.Fatalf("site counts: %v", c)
		}

		rows, err := f.st.ConversationStats(ctx, "support", start, start.Add(time.Hour))
		if err != nil || len(rows) != 2 {
			t.Fatalf("stats: %v %+v", err, rows)
		}
		if rows[0].ID != a.ConversationID || rows[0].ChannelID != "crm" || rows[0].Status != inbox.StatusInactive {
			t.Fatalf("row 0: %+v", rows[0])
		}
		// Created at start+1s; the first reply at start+3s+90s.
		if d := rows[0].FirstReplyAt.Sub(rows[0].CreatedAt); d != 92*time.Second {
			t.Fatalf("first response = %v, want 92s", d)
		}
		if rows[1].ID != b.ConversationID || !rows[1].FirstReplyAt.IsZero() {
			t.Fatalf("row 1: %+v", rows[1])
		}
		if rows, _ := f.st.ConversationStats(ctx, "support", start.Add(time.Hour), start.Add(2*time.Hour)); len(rows) != 0 {
			t.Fatalf("outside the range: %+v", rows)
		}

		acts, err := f.st.ConversationActivities(ctx, a.ConversationID, 100)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []inbox.ActivityKind
		for _, ac := range acts {
			kinds = append(kinds, ac.Kind)
		}
		want := []inbox.ActivityKind{inbox.ActivityCreated, inbox.ActivityAssigned, inbox.ActivityJoined, inbox.ActivityClosed}
		if len(kinds) != len(want) {
			t.Fatalf("activities: %v, want %v", kinds, want)
		}
		for i := range want {
			if kinds[i] != want[i] {
				t.Fatalf("activities: %v, want %v", kinds, want)
			}
		}
		if acts[2].ActorName != "Bob" {
			t.Fatalf("join actor: %+v", acts[2])
		}
	})
}
