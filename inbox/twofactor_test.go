package inbox_test

import (
	"encoding/base32"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/inboxd/inboxd/inbox"
)

// TestTOTPCode: RFC 6238's SHA-1 vectors (cut to 6 digits), and the same
// codes as pquerna/otp for a generated secret.
func TestTOTPCode(t *testing.T) {
	secret := []byte("12345678901234567890")
	for _, tc := range []struct {
		unix int64
		want string
	}{{59, "287082"}, {1111111109, "081804"}, {1111111111, "050471"}, {1234567890, "005924"}, {2000000000, "279037"}} {
		if got := inbox.TOTPCode(secret, inbox.TOTPStep(time.Unix(tc.unix, 0))); got != tc.want {
			t.Errorf("T=%d: %s, want %s", tc.unix, got, tc.want)
		}
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: "inboxd", AccountName: "a@example.com", SecretSize: 20})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := inbox.DecodeTOTPSecret(key.Secret())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	want, _ := totp.GenerateCodeCustom(key.Secret(), now, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if got := inbox.TOTPCode(raw, inbox.TOTPStep(now)); got != want {
		t.Fatalf("code %s, pquerna/otp says %s", got, want)
	}
	if _, err := inbox.DecodeTOTPSecret("not base32!"); err == nil {
		t.Fatal("a bad secret decoded")
	}
}

// TestMatchTOTP: the steps around now match, farther ones do not, and a
// step at or before the last used one is refused (a code works once).
func TestMatchTOTP(t *testing.T) {
	secret := []byte("abcdefghijabcdefghij")
	now := time.Date(2026, 12, 2, 9, 0, 10, 0, time.UTC)
	cur := inbox.TOTPStep(now)
	for _, tc := range []struct {
		name     string
		step     int64
		lastStep int64
		ok       bool
	}{
		{"now", cur, 0, true},
		{"previous step (drift)", cur - 1, 0, true},
		{"next step (drift)", cur + 1, 0, true},
		{"two steps old", cur - 2, 0, false},
		{"two steps ahead", cur + 2, 0, false},
		{"reused", cur, cur, false},
		{"older than the last used", cur - 1, cur, false},
		{"after the last used", cur + 1, cur, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			step, ok := inbox.MatchTOTP(secret, inbox.TOTPCode(secret, tc.step), now, tc.lastStep)
			if ok != tc.ok || (ok && step != tc.step) {
				t.Fatalf("match: step %d ok %v, want step %d ok %v", step, ok, tc.step, tc.ok)
			}
		})
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef"} {
		if _, ok := inbox.MatchTOTP(secret, bad, now, 0); ok {
			t.Errorf("%q matched", bad)
		}
	}
	// Spaces, as some apps show the code, are ignored.
	c := inbox.TOTPCode(secret, cur)
	if _, ok := inbox.MatchTOTP(secret, c[:3]+" "+c[3:], now, 0); !ok {
		t.Error("a code with a space refused")
	}
}

// TestRecoveryCodes: ten distinct codes of 80 bits, hashed the same
// whatever their case and dashes.
func TestRecoveryCodes(t *testing.T) {
	codes := inbox.NewRecoveryCodes()
	if len(codes) != inbox.RecoveryCodeCount {
		t.Fatalf("%d codes", len(codes))
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if len(c) != 19 || seen[c] || !inbox.LooksLikeRecoveryCode(c) {
			t.Fatalf("code %q", c)
		}
		seen[c] = true
		if _, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(upper(c)); err != nil {
			t.Fatalf("code %q is not base32", c)
		}
	}
	c := codes[0]
	if inbox.HashRecoveryCode(c) != inbox.HashRecoveryCode(" "+upperKeepDashes(c)+" ") ||
		inbox.HashRecoveryCode(c) != inbox.HashRecoveryCode(c[:4]+c[5:9]+c[10:14]+c[15:]) {
		t.Fatal("the hash depends on case or dashes")
	}
	if inbox.HashRecoveryCode(codes[0]) == inbox.HashRecoveryCode(codes[1]) {
		t.Fatal("two codes hash alike")
	}
	if inbox.LooksLikeRecoveryCode("123456") {
		t.Fatal("a TOTP code taken for a recovery code")
	}
}

func upper(c string) string {
	out := []byte{}
	for i := 0; i < len(c); i++ {
		if c[i] == '-' {
			continue
		}
		b := c[i]
		if b >= 'a' && b <= 'z' {
			b -= 32
		}
		out = append(out, b)
	}
	return string(out)
}

func upperKeepDashes(c string) string {
	out := []byte(c)
	for i, b := range out {
		if b >= 'a' && b <= 'z' {
			out[i] = b - 32
		}
	}
	return string(out)
}

// TestNeedsEnrolment: auth.require_2fa applies to accounts with a
// password and no second factor; single sign-on accounts are left to
// their identity provider.
func TestNeedsEnrolment(t *testing.T) {
	for _, tc := range []struct {
		u        inbox.User
		required bool
		want     bool
	}{
		{inbox.User{HasPassword: true}, true, true},
		{inbox.User{HasPassword: true, TwoFactor: true}, true, false},
		{inbox.User{HasPassword: false}, true, false},
		{inbox.User{HasPassword: true}, false, false},
	} {
		if got := inbox.NeedsEnrolment(&tc.u, tc.required); got != tc.want {
			t.Errorf("%+v required=%v: %v, want %v", tc.u, tc.required, got, tc.want)
		}
	}
	if inbox.MayLogIn(&inbox.User{Role: inbox.RoleAgent}) != nil || inbox.MayLogIn(&inbox.User{Role: "ghost"}) == nil || inbox.MayLogIn(nil) == nil ||
		inbox.MayLogIn(&inbox.User{Role: inbox.RoleAgent, Deactivated: true}) == nil {
		t.Fatal("MayLogIn")
	}
}
