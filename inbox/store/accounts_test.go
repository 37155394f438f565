package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
)

func (f *fixture) audits(action inbox.AuditAction) []inbox.AuditEntry {
	f.t.Helper()
	es, err := f.st.AuditEntries(context.Background(), inbox.AuditFilter{Action: action, Limit: 100})
	if err != nil {
		f.t.Fatal(err)
	}
	return es
}

// TestUserInvitationLink: an invited user has no password until it uses
// its link; the link works once, not after it expires, and its use is
// audited without the password.
func TestUserInvitationLink(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		by := inbox.Actor{User: f.owner, IP: "203.0.113.1"}
		link := inbox.AccountLink{Hash: "hash-1", Kind: inbox.LinkInvite, ExpiresAt: f.now.Add(72 * time.Hour)}
		a, err := f.svc.CreateUser(ctx, by, inbox.NewUser{Email: "ivy@example.com", Name: "Ivy", Role: inbox.RoleAgent,
			Queues: []string{"support"}}, &link)
		if err != nil || a.Status != inbox.AccountInvited || a.ID == 0 {
			t.Fatalf("create: %+v %v", a, err)
		}
		if _, err := f.svc.CreateUser(ctx, by, inbox.NewUser{Email: "ivy@example.com", Name: "Ivy 2", Role: inbox.RoleAgent,
			PasswordHash: "h"}, nil); inbox.ErrorCode(err) != inbox.EConflict {
			t.Fatalf("same email: %v, want conflict", err)
		}
		if uid, kind, err := f.st.LinkUser(ctx, "hash-1", f.now); err != nil || uid != a.ID || kind != inbox.LinkInvite {
			t.Fatalf("link user: %d %s %v", uid, kind, err)
		}
		f.tick()
		got, err := f.svc.AcceptLink(ctx, "hash-1", "new-hash", "Ivy Green", "198.51.100.7")
		if err != nil || got.Status != inbox.AccountActive || got.Name != "Ivy Green" {
			t.Fatalf("accept: %+v %v", got, err)
		}
		if _, hash, _ := f.st.Credentials(ctx, "ivy@example.com"); hash != "new-hash" {
			t.Fatalf("password hash %q", hash)
		}
		if _, err := f.svc.AcceptLink(ctx, "hash-1", "other", "", ""); inbox.ErrorCode(err) != inbox.ENotFound {
			t.Fatalf("second use: %v, want not found", err)
		}
		// A reset link that expired does nothing.
		if _, err := f.svc.IssueLink(ctx, by, a.ID, inbox.AccountLink{Hash: "hash-2", Kind: inbox.LinkReset, ExpiresAt: f.now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		f.now = f.now.Add(2 * time.Hour)
		if _, err := f.svc.AcceptLink(ctx, "hash-2", "late", "", ""); inbox.ErrorCode(err) != inbox.ENotFound {
			t.Fatalf("expired link: %v, want not found", err)
		}
		if _, hash, _ := f.st.Credentials(ctx, "ivy@example.com"); hash != "new-hash" {
			t.Fatalf("an expired link changed the password: %q", hash)
		}
		if es := f.audits(inbox.AuditUserInvited); len(es) != 1 || es[0].ActorID != f.owner.ID || es[0].IP != "203.0.113.1" {
			t.Fatalf("user.invited entries: %+v", es)
		}
		ups := f.audits(inbox.AuditUserUpdated)
		if len(ups) != 2 || ups[1].ActorID != a.ID || ups[1].Data["after.name"] != "Ivy Green" || ups[1].IP != "198.51.100.7" {
			t.Fatalf("user.updated entries: %+v", ups)
		}
		for _, e := range ups {
			for k, v := range e.Data {
				if v == "new-hash" || v == "hash-1" || v == "hash-2" {
					t.Fatalf("a secret in the audit log: %s=%s", k, v)
				}
			}
		}
	})
}

// TestUserDeactivation: one transaction ends the user's access and
// returns its active conversations to the queue, with activity entries
// and events; the last owner stays; admins cannot touch owners.
func TestUserDeactivation(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		owner := inbox.Actor{User: f.owner}
		admin := f.user("ada@example.com", "Ada", inbox.RoleAdmin, nil)
		r := f.ingest("crm", "m1", "c1", "hello")
		shared := f.ingest("crm", "m2", "c2", "hello too")
		for _, id := range []int64{r.ConversationID, shared.ConversationID} {
			if _, err := f.svc.Reply(ctx, f.anna, id, "Anna here"); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := f.svc.Act(ctx, f.bob, shared.ConversationID, inbox.ActionJoin); err != nil {
			t.Fatal(err)
		}
		if err := f.st.CreateToken(ctx, f.anna.ID, "anna-session", "session", "login", f.now, f.now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		// An admin cannot touch the owner, nor make an agent admin.
		if _, err := f.svc.DeactivateUser(ctx, inbox.Actor{User: admin}, f.owner.ID); inbox.ErrorCode(err) != inbox.EForbidden {
			t.Fatalf("admin deactivates owner: %v", err)
		}
		role := inbox.RoleAdmin
		if _, err := f.svc.UpdateUser(ctx, inbox.Actor{User: admin}, f.anna.ID, inbox.UserChange{Role: &role}); inbox.ErrorCode(err) != inbox.EForbidden {
			t.Fatalf("admin promotes agent: %v", err)
		}
		// The last owner: neither deactivated nor demoted.
		if _, err := f.svc.DeactivateUser(ctx, owner, f.owner.ID); inbox.ErrorCode(err) != inbox.EConflict {
			t.Fatalf("last owner deactivated: %v", err)
		}
		if _, err := f.svc.UpdateUser(ctx, owner, f.owner.ID, inbox.UserChange{Role: &role}); inbox.ErrorCode(err) != inbox.EConflict {
			t.Fatalf("last owner demoted: %v", err)
		}
		f.mu.Lock()
		f.events = nil
		f.mu.Unlock()
		f.tick()
		a, err := f.svc.DeactivateUser(ctx, inbox.Actor{User: admin, IP: "192.0.2.5"}, f.anna.ID)
		if err != nil || a.Status != inbox.AccountDeactivated {
			t.Fatalf("deactivate: %+v %v", a, err)
		}
		if c := f.conv(r.ConversationID); c.Status != inbox.StatusUnassigned || len(c.Participants) != 0 {
			t.Fatalf("her own chat: %s %+v, want unassigned without participants", c.Status, c.Participants)
		}
		if c := f.conv(shared.ConversationID); c.Status != inbox.StatusActive || len(c.Participants) != 1 || c.Participants[0].ID != f.bob.ID {
			t.Fatalf("the shared chat: %s %+v, want Bob's", c.Status, c.Participants)
		}
		acts, err := f.st.ConversationActivities(ctx, r.ConversationID, 50)
		if err != nil {
			t.Fatal(err)
		}
		last := acts[len(acts)-1]
		if last.Kind != inbox.ActivityLeft || last.ActorID != admin.ID || last.Data["reason"] != "deactivated" {
			t.Fatalf("activity %+v", last)
		}
		f.mu.Lock()
		n := len(f.events)
		f.mu.Unlock()
		if n != 2 {
			t.Fatalf("%d events published, want 2", n)
		}
		if u, _, _ := f.st.UserByToken(ctx, "anna-session", f.now); u != nil {
			t.Fatal("a deactivated user's session still works")
		}
		if u, _, _ := f.st.Credentials(ctx, "anna@example.com"); u != nil {
			t.Fatal("a deactivated user can log in")
		}
		es := f.audits(inbox.AuditUserDeactivated)
		if len(es) != 1 || es[0].TargetID != itoa(f.anna.ID) || es[0].Data["conversations_released"] != "2" || es[0].IP != "192.0.2.5" {
			t.Fatalf("audit %+v", es)
		}
		// Again: nothing changes, nothing recorded; reactivation restores
		// the login, not the tokens.
		if _, err := f.svc.DeactivateUser(ctx, inbox.Actor{User: admin}, f.anna.ID); err != nil || len(f.audits(inbox.AuditUserDeactivated)) != 1 {
			t.Fatalf("second deactivation: %v", err)
		}
		if a, err := f.svc.ReactivateUser(ctx, inbox.Actor{User: admin}, f.anna.ID); err != nil || a.Status != inbox.AccountActive {
			t.Fatalf("reactivate: %+v %v", a, err)
		}
		if u, _, _ := f.st.Credentials(ctx, "anna@example.com"); u == nil {
			t.Fatal("reactivated user cannot log in")
		}
		if u, _, _ := f.st.UserByToken(ctx, "anna-session", f.now); u != nil {
			t.Fatal("reactivation restored a session")
		}
		// A second owner can be demoted; then the first is last again.
		second := f.user("o2@example.com", "Oscar", inbox.RoleOwner, nil)
		if _, err := f.svc.UpdateUser(ctx, owner, second.ID, inbox.UserChange{Role: &role}); err != nil {
			t.Fatalf("demote second owner: %v", err)
		}
		ups := f.audits(inbox.AuditUserUpdated)
		if len(ups) != 1 || ups[0].Data["before.role"] != "owner" || ups[0].Data["after.role"] != "admin" {
			t.Fatalf("role change audit %+v", ups)
		}
	})
}

// TestAuditEntriesPages: filters by actor and action, keyset pages by id.
func TestAuditEntriesPages(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		for i := 0; i < 5; i++ {
			e := &inbox.AuditEntry{CreatedAt: f.now, ActorID: int64(1 + i%2), Action: inbox.AuditLogin}
			if i == 4 {
				e.Action = inbox.AuditLoginFailed
			}
			if err := f.st.Audit(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		page, err := f.st.AuditEntries(ctx, inbox.AuditFilter{Limit: 2})
		if err != nil || len(page) != 2 || page[0].ID <= page[1].ID || page[0].Action != inbox.AuditLoginFailed {
			t.Fatalf("first page %+v %v", page, err)
		}
		next, _ := f.st.AuditEntries(ctx, inbox.AuditFilter{Limit: 10, Before: page[1].ID})
		if len(next) != 3 || next[0].ID >= page[1].ID {
			t.Fatalf("next page %+v", next)
		}
		mine, _ := f.st.AuditEntries(ctx, inbox.AuditFilter{Limit: 10, ActorID: 2, Action: inbox.AuditLogin})
		if len(mine) != 2 {
			t.Fatalf("actor 2's logins: %+v", mine)
		}
	})
}

func itoa(n int64) string { return fmt.Sprint(n) }

// TestLastOwnerRace: two owners deactivating each other at once: one
// wins, the other gets a conflict; an active owner is always left.
func TestLastOwnerRace(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		second := f.user("o2@example.com", "Oscar", inbox.RoleOwner, nil)
		for round := 0; round < 5; round++ {
			errs := make(chan error, 2)
			go func() { _, err := f.svc.DeactivateUser(ctx, inbox.Actor{User: f.owner}, second.ID); errs <- err }()
			go func() { _, err := f.svc.DeactivateUser(ctx, inbox.Actor{User: second}, f.owner.ID); errs <- err }()
			e1, e2 := <-errs, <-errs
			conflicts := 0
			for _, err := range []error{e1, e2} {
				switch {
				case err == nil:
				case inbox.ErrorCode(err) == inbox.EConflict:
					conflicts++
				default:
					t.Fatalf("round %d: %v", round, err)
				}
			}
			if conflicts != 1 {
				t.Fatalf("round %d: %v, %v: want exactly one conflict", round, e1, e2)
			}
			as, err := f.st.Accounts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			active := 0
			for _, a := range as {
				if a.Role == inbox.RoleOwner && a.Status == inbox.AccountActive {
					active++
				}
			}
			if active != 1 {
				t.Fatalf("round %d: %d active owners", round, active)
			}
			// Both active again for the next round.
			for _, id := range []int64{f.owner.ID, second.ID} {
				if _, err := f.svc.ReactivateUser(ctx, inbox.Actor{User: f.owner}, id); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}
