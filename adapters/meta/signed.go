package meta

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/inboxd/inboxd/adapters/hooksig"
	"github.com/inboxd/inboxd/inbox"
)

// ReadSigned reads a webhook POST's body and checks its
// X-Hub-Signature-256 before anything parses it, as Messenger, Instagram
// and WhatsApp require. On failure it has answered (413, 400 or 401) and
// returns ok false. name prefixes the log lines ("meta", "whatsapp").
func ReadSigned(w http.ResponseWriter, r *http.Request, appSecret string, log *slog.Logger, name string) (body []byte, ok bool) {
	body, err := hooksig.ReadBody(r, hooksig.DefaultMaxBody)
	if errors.Is(err, hooksig.ErrTooLarge) {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return nil, false
	}
	if err != nil {
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return nil, false
	}
	if !VerifySignature(r, body, appSecret) {
		log.Warn(name+" webhook signature mismatch", "remote_addr", r.RemoteAddr)
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return nil, false
	}
	return body, true
}

// StoreStatus is the answer to a webhook whose batch the store did not
// take: 400 when the store refused the input, else 503 so that Meta
// retries (retries are no-ops: messages are unique on their provider id).
func StoreStatus(log *slog.Logger, name, op string, err error) (int, string) {
	if inbox.ErrorCode(err) == inbox.EInvalid {
		log.Warn(name+" webhook refused by the store", "op", op, "err", err)
		return http.StatusBadRequest, inbox.ErrorMessage(err)
	}
	log.Error(name+" webhook not stored", "op", op, "err", err)
	return http.StatusServiceUnavailable, "storage unavailable, retry later"
}
