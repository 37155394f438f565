package providerhttp

import (
	"errors"
	neturl "net/url"
	"strings"
)

// RedactURL is a URL as it may be printed in a log line or in an error an
// agent sees: without its userinfo (user:password@ becomes redacted@), its
// query and fragment (signatures, keys), and with path segments that hold
// a Telegram bot token (/bot<id>:<secret>/) replaced by bot<redacted>.
// It works on the text, so it also redacts what url.Parse refuses.
func RedactURL(raw string) string {
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		raw = raw[:i]
	}
	// The authority starts after "//" (after the scheme, if any) and ends
	// at the next "/"; its userinfo ends at its last "@".
	prefix, rest := "", raw
	if i := strings.Index(raw, "//"); i >= 0 && schemeOnly(raw[:i]) {
		prefix, rest = raw[:i+2], raw[i+2:]
		auth, path := rest, ""
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			auth, path = rest[:j], rest[j:]
		}
		if at := strings.LastIndexByte(auth, '@'); at >= 0 {
			auth = "redacted" + auth[at:]
		}
		prefix, rest = prefix+auth, path
	}
	parts := strings.Split(rest, "/")
	for i, p := range parts {
		if botToken(p) {
			parts[i] = "bot<redacted>"
		}
	}
	return prefix + strings.Join(parts, "/")
}

// schemeOnly reports whether s is empty or "scheme:" (what may precede
// the "//" of an authority).
func schemeOnly(s string) bool {
	if s == "" {
		return true
	}
	if !strings.HasSuffix(s, ":") {
		return false
	}
	for _, r := range s[:len(s)-1] {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// botToken reports whether a path segment is "bot<id>:<secret>", the
// colon possibly escaped.
func botToken(seg string) bool {
	if !strings.HasPrefix(strings.ToLower(seg), "bot") {
		return false
	}
	return strings.Contains(seg, ":") || strings.Contains(strings.ToLower(seg), "%3a")
}

// Cause is the error of an http.Client call without the *url.Error that
// wraps it: that wrapper repeats the request's URL (its query, its bot
// token, its user name) in its text. Callers name the URL with RedactURL.
func Cause(err error) error {
	var ue *neturl.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}
