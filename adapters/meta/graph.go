package meta

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/inboxd/inboxd/adapters"
	"github.com/inboxd/inboxd/adapters/hooksig"
	"github.com/inboxd/inboxd/adapters/providerhttp"
	"github.com/inboxd/inboxd/inbox"
)

// ServeHandshake answers the Graph API's webhook verification request
// (GET ?hub.mode=subscribe&hub.verify_token=...&hub.challenge=...): the
// challenge as text/plain when the token matches, 403 forbidden otherwise
// (through adapters.WriteError, logged on log).
// WhatsApp's Cloud API uses the same handshake.
func ServeHandshake(w http.ResponseWriter, r *http.Request, verifyToken string, log *slog.Logger) {
	q := r.URL.Query()
	if q.Get("hub.mode") != "subscribe" || !hooksig.Equal(q.Get("hub.verify_token"), verifyToken) {
		adapters.WriteError(w, log.With("ip", r.RemoteAddr),
			inbox.Errorf(inbox.EForbidden, "verification failed: wrong hub.mode or hub.verify_token"))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(q.Get("hub.challenge")))
}

// SignatureHeader carries "sha256=" + hex HMAC-SHA256(app secret, body).
const SignatureHeader = "X-Hub-Signature-256"

// VerifySignature reports whether r's X-Hub-Signature-256 signs body with
// the app secret.
func VerifySignature(r *http.Request, body []byte, appSecret string) bool {
	return hooksig.Verify([]byte(appSecret), body, r.Header.Get(SignatureHeader), "sha256=")
}

// GraphError is the Graph API's error body: {"error": {...}}.
type GraphError struct {
	Message      string          `json:"message"`
	Type         string          `json:"type"`
	Code         int             `json:"code"`
	Subcode      int             `json:"error_subcode"`
	FBTraceID    string          `json:"fbtrace_id"`
	IsTransient  bool            `json:"is_transient"`
	ErrorUserMsg string          `json:"error_user_msg"`
	ErrorData    json.RawMessage `json:"error_data"`
}

// ParseGraphError reads a Graph error body; ok is false when body is not one.
func ParseGraphError(body []byte) (GraphError, bool) {
	var env struct {
		Error *GraphError `json:"error"`
	}
	if json.Unmarshal(body, &env) != nil || env.Error == nil {
		return GraphError{}, false
	}
	return *env.Error, true
}

// Reason is the error as shown to agents: the provider's message, its
// details (WhatsApp's error_data.details) and codes.
func (g GraphError) Reason() string {
	var b strings.Builder
	b.WriteString(firstNonEmpty(g.Message, g.ErrorUserMsg, g.Type, "unknown Graph API error"))
	var data struct {
		Details string `json:"details"`
	}
	if len(g.ErrorData) > 0 && json.Unmarshal(g.ErrorData, &data) == nil && data.Details != "" && data.Details != g.Message {
		b.WriteString(": " + data.Details)
	}
	if g.Code != 0 {
		fmt.Fprintf(&b, " (code %d", g.Code)
		if g.Subcode != 0 {
			fmt.Fprintf(&b, ", subcode %d", g.Subcode)
		}
		b.WriteString(")")
	}
	return b.String()
}

// Throttled reports whether the error is one Meta documents as temporary
// although it comes with a 400: rate limits and transient failures.
func (g GraphError) Throttled() bool {
	if g.IsTransient {
		return true
	}
	switch g.Code {
	case 1, 2, // unknown / temporarily unavailable
		4, 17, 32, 613, // API call rate limits
		80006,  // Messenger send rate limit
		130429, // WhatsApp throughput
		131048, // WhatsApp spam rate limit
		131056: // WhatsApp pair rate limit
		return true
	}
	return false
}

// ClassifyGraph turns a Graph API answer into an outbox error (nil for a
// 2xx): providerhttp's rules, except that throttling errors Meta sends
// with a 4xx are temporary.
func ClassifyGraph(status int, h http.Header, body []byte) error {
	if status >= 200 && status < 300 {
		return nil
	}
	g, ok := ParseGraphError(body)
	if !ok {
		return providerhttp.Classify(status, h, strings.TrimSpace(http.StatusText(status)))
	}
	if status < 500 && g.Throttled() {
		return inbox.RetryAfter(fmt.Errorf("provider answered %d: %s", status, g.Reason()), providerhttp.RetryAfterHeader(h))
	}
	return providerhttp.Classify(status, h, g.Reason())
}

// graphReason is a short reason for a failed non-send call (logs).
func graphReason(body []byte) string {
	if g, ok := ParseGraphError(body); ok {
		return g.Reason()
	}
	return "unexpected answer"
}
