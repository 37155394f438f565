package api

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
)

// SecretBox seals the TOTP secrets the database keeps: AES-256-GCM under
// a key from the config (auth.totp_key), with the user's id as associated
// data, so that a copied row does not open for another user. Without a
// key, secrets are stored as they are (marked "plain:"), and the daemon
// warns at start; a key added later seals the secrets enrolled from then
// on and still reads the plain ones.
type SecretBox struct {
	aead cipher.AEAD // nil: no key
}

// NewSecretBox derives the AES key from the configured key material (any
// length; SHA-256 of it); an empty key makes a box that stores plain.
func NewSecretBox(key string) (*SecretBox, error) {
	if key == "" {
		return &SecretBox{}, nil
	}
	if len(key) < 16 {
		return nil, errors.New("auth.totp_key: must be at least 16 characters")
	}
	k := sha256.Sum256([]byte("inboxd-totp:" + key))
	block, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &SecretBox{aead: aead}, nil
}

// Sealing reports whether secrets are encrypted.
func (b *SecretBox) Sealing() bool { return b != nil && b.aead != nil }

// Seal returns the stored form of a user's base32 secret.
func (b *SecretBox) Seal(userID int64, secret string) string {
	if !b.Sealing() {
		return "plain:" + secret
	}
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic("api: no randomness: " + err.Error())
	}
	out := b.aead.Seal(nonce, nonce, []byte(secret), []byte(strconv.FormatInt(userID, 10)))
	return "v1:" + base64.RawStdEncoding.EncodeToString(out)
}

// Open returns the base32 secret of a stored form.
func (b *SecretBox) Open(userID int64, stored string) (string, error) {
	if s, ok := strings.CutPrefix(stored, "plain:"); ok {
		return s, nil
	}
	s, ok := strings.CutPrefix(stored, "v1:")
	if !ok {
		return "", errors.New("totp secret: unknown format")
	}
	if !b.Sealing() {
		return "", errors.New("totp secret: sealed, but auth.totp_key is not set")
	}
	raw, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil || len(raw) < b.aead.NonceSize() {
		return "", errors.New("totp secret: malformed")
	}
	n := b.aead.NonceSize()
	pt, err := b.aead.Open(nil, raw[:n], raw[n:], []byte(strconv.FormatInt(userID, 10)))
	if err != nil {
		return "", errors.New("totp secret: does not open with auth.totp_key")
	}
	return string(pt), nil
}
