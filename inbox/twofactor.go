package inbox

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Two-factor authentication: TOTP (RFC 6238: HMAC-SHA-1, 30-second steps,
// 6 digits) and single-use recovery codes. The rules here are pure; the
// store keeps the secret, the last accepted step and the codes' hashes.

// TOTP parameters (what authenticator apps assume by default).
const (
	TOTPPeriod = 30
	TOTPDigits = 6
	// TOTPSkew is how many steps before and after now a code is accepted
	// in (clock drift between the phone and the server).
	TOTPSkew = 1
	// RecoveryCodeCount is how many recovery codes an enrolment makes.
	RecoveryCodeCount = 10
)

// TwoFactor is a user's second factor as stored.
type TwoFactor struct {
	// Secret is the stored form of the TOTP secret ("" when none):
	// sealed or plain, see the API's secret box.
	Secret string
	// EnabledAt is when the enrolment was confirmed (zero: off, or
	// pending confirmation while Secret is set).
	EnabledAt time.Time
	// LastStep is the last time step a code was accepted for; a code of
	// that step or an earlier one is refused.
	LastStep int64
	// RecoveryLeft counts the unused recovery codes.
	RecoveryLeft int
}

// Enabled reports whether logins need the second factor.
func (t TwoFactor) Enabled() bool { return !t.EnabledAt.IsZero() }

// Pending reports whether an enrolment waits for its confirmation.
func (t TwoFactor) Pending() bool { return t.Secret != "" && t.EnabledAt.IsZero() }

// TOTPStep is the RFC 6238 time step of t.
func TOTPStep(t time.Time) int64 { return t.Unix() / TOTPPeriod }

// TOTPCode is the code of a step for a raw secret (RFC 4226 HOTP over the
// step counter, dynamic truncation, 6 digits).
func TOTPCode(secret []byte, step int64) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(step))
	mac := hmac.New(sha1.New, secret)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", v%1_000_000)
}

// DecodeTOTPSecret reads a base32 secret (as authenticator apps show it:
// upper or lower case, with or without padding and spaces).
func DecodeTOTPSecret(s string) ([]byte, error) {
	s = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
	s = strings.TrimRight(s, "=")
	b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
	if err != nil || len(b) < 10 {
		return nil, Invalid("secret", "is not a base32 TOTP secret")
	}
	return b, nil
}

// MatchTOTP checks a code against the steps around now and returns the
// step it matched. A step at or before lastStep is refused even when the
// code is right: each code works once, and an older one never again.
// Every candidate is compared in constant time.
func MatchTOTP(secret []byte, code string, now time.Time, lastStep int64) (int64, bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != TOTPDigits {
		return 0, false
	}
	cur := TOTPStep(now)
	var found int64
	ok := false
	for step := cur - TOTPSkew; step <= cur+TOTPSkew; step++ {
		if subtle.ConstantTimeCompare([]byte(TOTPCode(secret, step)), []byte(code)) == 1 && step > lastStep && !ok {
			found, ok = step, true
		}
	}
	return found, ok
}

// NewRecoveryCodes returns RecoveryCodeCount random codes, each 16
// characters of base32 (80 bits) shown as four groups: xxxx-xxxx-xxxx-xxxx.
func NewRecoveryCodes() []string {
	out := make([]string, RecoveryCodeCount)
	enc := base32.StdEncoding.WithPadding(base32.NoPadding)
	for i := range out {
		b := make([]byte, 10)
		if _, err := rand.Read(b); err != nil {
			panic("inbox: no randomness: " + err.Error())
		}
		s := strings.ToLower(enc.EncodeToString(b))
		out[i] = s[0:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:16]
	}
	return out
}

// HashRecoveryCode is how a recovery code is stored and looked up: the
// SHA-256 of its normalized form (lower case, no dashes or spaces). The
// codes carry 80 random bits, so a plain hash is enough, as for tokens.
func HashRecoveryCode(code string) string {
	n := strings.ToLower(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(code)))
	sum := sha256.Sum256([]byte("inboxd-recovery:" + n))
	return hex.EncodeToString(sum[:])
}

// LooksLikeRecoveryCode tells a recovery code from a TOTP code where one
// field takes either.
func LooksLikeRecoveryCode(code string) bool {
	n := strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(code))
	return len(n) == 16
}

// NeedsEnrolment reports whether a user must enrol in two-factor
// authentication before using the API, under auth.require_2fa: users
// without it who can log in with a password. Accounts without a password
// log in only through single sign-on, where the identity provider's own
// multi-factor policy applies.
func NeedsEnrolment(u *User, required bool) bool {
	return required && u != nil && !u.TwoFactor && u.HasPassword
}

// MayLogIn says whether a user may start a session at all. It is the one
// place a login (password or single sign-on) asks; rules that make an
// account unusable (deactivation) belong here.
func MayLogIn(u *User) error {
	if u == nil || !u.Role.Valid() || u.Deactivated {
		return Errorf(EUnauthorized, "this account cannot log in")
	}
	return nil
}
