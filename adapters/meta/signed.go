package meta

import (
	"net/http"

	"github.com/inboxd/inboxd/adapters/hooksig"
	"github.com/inboxd/inboxd/inbox"
)

// ReadSigned reads a webhook POST's body and checks its
// X-Hub-Signature-256 before anything parses it, as Messenger, Instagram
// and WhatsApp require. Its errors are for adapters.WriteError: too_large
// (413), invalid (400) for an unreadable body, unauthorized (401) for a
// wrong or missing signature.
func ReadSigned(r *http.Request, appSecret string) ([]byte, error) {
	body, err := hooksig.ReadBody(r, hooksig.DefaultMaxBody)
	if err != nil {
		return nil, err
	}
	if !VerifySignature(r, body, appSecret) {
		return nil, inbox.Errorf(inbox.EUnauthorized, "missing or wrong %s", SignatureHeader)
	}
	return body, nil
}
