package widget

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/inboxd/inboxd/inbox"
)

// MaxUserIDBytes bounds a verified user id (it becomes a contact key).
const MaxUserIDBytes = 256

// NewToken returns a fresh visitor token and the hash to store: 256 random
// bits, so tokens cannot be guessed, and only the SHA-256 is kept, so a
// database leak does not hand out live tokens.
func NewToken() (token, hash string) {
	b := make([]byte, 32)
	rand.Read(b)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken is the stored form of a visitor token.
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// AnonymousKey returns a new contact key for a visitor the site did not
// identify.
func AnonymousKey() string {
	b := make([]byte, 16)
	rand.Read(b)
	return "v_" + base64.RawURLEncoding.EncodeToString(b)
}

// UserKey is the contact key of a verified site user: the same on every
// device, so the conversation follows the user.
func UserKey(userID string) string { return "user:" + userID }

// VerifyUser checks a site's identity claim: userHash must be the hex
// HMAC-SHA256 of userID under the channel's identity secret, compared in
// constant time.
func (c *Channel) VerifyUser(userID, userHash string) error {
	switch {
	case c.cfg.IdentitySecret == "":
		return inbox.Invalid("user_id", "identity verification is not enabled on this channel")
	case userID == "" || len(userID) > MaxUserIDBytes || !utf8.ValidString(userID) ||
		strings.IndexFunc(userID, unicode.IsControl) >= 0:
		return inbox.Invalid("user_id", "must be 1 to %d printable bytes", MaxUserIDBytes)
	}
	got, err := hex.DecodeString(userHash)
	if err != nil || len(got) != sha256.Size {
		return inbox.Errorf(inbox.EForbidden, "user_hash does not match user_id")
	}
	mac := hmac.New(sha256.New, []byte(c.cfg.IdentitySecret))
	mac.Write([]byte(userID))
	if !hmac.Equal(got, mac.Sum(nil)) {
		return inbox.Errorf(inbox.EForbidden, "user_hash does not match user_id")
	}
	return nil
}

// SignUser returns the user_hash a site computes for userID (docs, tests).
func SignUser(secret, userID string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(userID))
	return hex.EncodeToString(mac.Sum(nil))
}

// AllowOrigin reports whether a page of origin may use the widget: an
// allowed origin, "*", or inboxd's own origin (host is the request's Host,
// so the daemon's demo page works). An empty origin is a request that is
// not a browser's cross-site call; the visitor token still guards it.
func (c *Channel) AllowOrigin(origin, host string) bool {
	if origin == "" {
		return true
	}
	o := strings.ToLower(origin)
	for _, a := range c.cfg.AllowedOrigins {
		if a == "*" || a == o {
			return true
		}
	}
	if i := strings.Index(o, "://"); i > 0 && o[i+3:] == strings.ToLower(host) {
		return true
	}
	return false
}

// NewVisitor issues a visitor token. Without userID the visitor is
// anonymous and gets a random contact key; with it, userHash must verify
// and the key is the user's, shared by all the user's devices.
func (c *Channel) NewVisitor(userID, userHash string) (token, tokenHash, contactKey string, verified bool, err error) {
	if userID == "" {
		contactKey = AnonymousKey()
	} else {
		if err := c.VerifyUser(userID, userHash); err != nil {
			return "", "", "", false, err
		}
		contactKey, verified = UserKey(userID), true
	}
	token, tokenHash = NewToken()
	return token, tokenHash, contactKey, verified, nil
}

// HashToken is the stored form of a visitor token.
func (c *Channel) HashToken(token string) string { return HashToken(token) }
