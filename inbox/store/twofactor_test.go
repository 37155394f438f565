package store_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store/storetest"
)

// TestTwoFactorStorage: an enrolment waits until confirmed, a step and a
// recovery code are accepted once, disabling clears everything, and each
// change's audit entry commits with it.
func TestTwoFactorStorage(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			st := storetest.Open(t, d)
			ctx := context.Background()
			now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
			u := &inbox.User{Email: "tf@example.com", Name: "TF", Role: inbox.RoleAgent, CreatedAt: now}
			if err := st.CreateUser(ctx, u, "hash"); err != nil {
				t.Fatal(err)
			}
			if tf, err := st.TwoFactor(ctx, u.ID); err != nil || tf.Enabled() || tf.Pending() {
				t.Fatalf("fresh: %+v %v", tf, err)
			}
			if _, err := st.TwoFactor(ctx, u.ID+99); inbox.ErrorCode(err) != inbox.ENotFound {
				t.Fatalf("unknown user: %v", err)
			}
			codes := inbox.NewRecoveryCodes()
			hashes := make([]string, len(codes))
			for i, c := range codes {
				hashes[i] = inbox.HashRecoveryCode(c)
			}
			if err := st.BeginTwoFactor(ctx, u.ID, "plain:SECRET", hashes); err != nil {
				t.Fatal(err)
			}
			// A recovery code does nothing before the confirmation.
			if ok, err := st.UseRecoveryCode(ctx, u.ID, hashes[0], now); err != nil || ok {
				t.Fatalf("recovery code while pending: %v %v", ok, err)
			}
			audit := func(a inbox.AuditAction) *inbox.AuditEntry {
				return &inbox.AuditEntry{CreatedAt: now, ActorID: u.ID, Action: a, TargetType: "user", TargetID: "x"}
			}
			if err := st.EnableTwoFactor(ctx, u.ID, 100, now, audit(inbox.Audit2FAEnabled)); err != nil {
				t.Fatal(err)
			}
			if err := st.EnableTwoFactor(ctx, u.ID, 101, now, audit(inbox.Audit2FAEnabled)); inbox.ErrorCode(err) != inbox.EConflict {
				t.Fatalf("second confirmation: %v", err)
			}
			if err := st.BeginTwoFactor(ctx, u.ID, "plain:OTHER", hashes); inbox.ErrorCode(err) != inbox.EConflict {
				t.Fatalf("re-enrol while on: %v", err)
			}
			got, _ := st.User(ctx, u.ID)
			if !got.TwoFactor || !got.HasPassword {
				t.Fatalf("user flags: %+v", got)
			}
			for _, tc := range []struct {
				step int64
				ok   bool
			}{{100, false}, {99, false}, {101, true}, {101, false}, {103, true}} {
				if ok, err := st.UseTOTPStep(ctx, u.ID, tc.step); err != nil || ok != tc.ok {
					t.Fatalf("step %d: %v %v, want %v", tc.step, ok, err, tc.ok)
				}
			}
			if ok, _ := st.UseRecoveryCode(ctx, u.ID, hashes[3], now); !ok {
				t.Fatal("a recovery code refused")
			}
			if ok, _ := st.UseRecoveryCode(ctx, u.ID, hashes[3], now); ok {
				t.Fatal("a recovery code accepted twice")
			}
			if tf, _ := st.TwoFactor(ctx, u.ID); tf.RecoveryLeft != inbox.RecoveryCodeCount-1 || tf.LastStep != 103 {
				t.Fatalf("state: %+v", tf)
			}
			if err := st.DisableTwoFactor(ctx, u.ID, audit(inbox.Audit2FADisabled)); err != nil {
				t.Fatal(err)
			}
			if err := st.DisableTwoFactor(ctx, u.ID, audit(inbox.Audit2FADisabled)); inbox.ErrorCode(err) != inbox.EConflict {
				t.Fatalf("disable twice: %v", err)
			}
			if err := st.DisableTwoFactor(ctx, u.ID+99, audit(inbox.Audit2FAReset)); inbox.ErrorCode(err) != inbox.ENotFound {
				t.Fatalf("disable unknown: %v", err)
			}
			if tf, _ := st.TwoFactor(ctx, u.ID); tf.Secret != "" || tf.Enabled() || tf.RecoveryLeft != 0 {
				t.Fatalf("after disable: %+v", tf)
			}
			var actions []string
			st.DB().Raw(`SELECT action FROM audit_log ORDER BY id`).Scan(&actions)
			if len(actions) != 2 || actions[0] != "2fa.enabled" || actions[1] != "2fa.disabled" {
				t.Fatalf("audit: %v", actions)
			}
		})
	}
}

// TestOIDCLoginsTakenOnce: a started login is taken once, not after it
// expires, and SSO users are created with their audit entry.
func TestOIDCLoginsTakenOnce(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			st := storetest.Open(t, d)
			ctx := context.Background()
			now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
			if err := st.PutOIDCLogin(ctx, "h1", "n1", "v1", "/inbox", now, now.Add(10*time.Minute)); err != nil {
				t.Fatal(err)
			}
			if err := st.PutOIDCLogin(ctx, "h2", "n2", "v2", "", now, now.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			nonce, verifier, next, ok, err := st.TakeOIDCLogin(ctx, "h1", now)
			if err != nil || !ok || nonce != "n1" || verifier != "v1" || next != "/inbox" {
				t.Fatalf("take: %q %q %q %v %v", nonce, verifier, next, ok, err)
			}
			if _, _, _, ok, _ := st.TakeOIDCLogin(ctx, "h1", now); ok {
				t.Fatal("a state taken twice")
			}
			if _, _, _, ok, _ := st.TakeOIDCLogin(ctx, "h2", now.Add(2*time.Minute)); ok {
				t.Fatal("an expired state taken")
			}
			u := &inbox.User{Email: "sso@example.com", Name: "SSO", Role: inbox.RoleAgent, Queues: []string{"support"}, CreatedAt: now}
			a := &inbox.AuditEntry{CreatedAt: now, Action: inbox.AuditUserCreated, TargetType: "user", Data: map[string]string{"method": "oidc"}}
			if err := st.CreateSSOUser(ctx, u, a); err != nil || u.ID == 0 {
				t.Fatalf("create: %v", err)
			}
			if err := st.CreateSSOUser(ctx, &inbox.User{Email: "sso@example.com", Name: "x", Role: inbox.RoleAgent, CreatedAt: now},
				&inbox.AuditEntry{CreatedAt: now, Action: inbox.AuditUserCreated}); inbox.ErrorCode(err) != inbox.EConflict {
				t.Fatalf("duplicate: %v", err)
			}
			got, hash, err := st.Credentials(ctx, "sso@example.com")
			if err != nil || got == nil || hash != "" || got.HasPassword || got.Queues[0] != "support" {
				t.Fatalf("created: %+v %q %v", got, hash, err)
			}
			var target string
			st.DB().Raw(`SELECT target_id FROM audit_log WHERE action = 'user.created'`).Scan(&target)
			if target != strconvI(u.ID) {
				t.Fatalf("audit target %q, want %d", target, u.ID)
			}
		})
	}
}

func strconvI(n int64) string { return strconv.FormatInt(n, 10) }
