package api

import (
	"errors"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// MinPasswordLen is the shortest password accepted.
const MinPasswordLen = 8

// HashPassword returns a bcrypt hash of password at cost (0: default).
func HashPassword(password string, cost int) (string, error) {
	if utf8.RuneCountInString(password) < MinPasswordLen {
		return "", errors.New("password: must be at least 8 characters")
	}
	if len(password) > 72 {
		return "", errors.New("password: must be at most 72 bytes")
	}
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	return string(h), err
}

// CheckPassword compares in constant time (bcrypt does).
func CheckPassword(hash, password string) bool {
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}
