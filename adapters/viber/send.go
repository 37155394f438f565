package viber

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/inboxd/inboxd/adapters/providerhttp"
	"github.com/inboxd/inboxd/inbox"
)

// MaxTextLength is Viber's limit on a text message, in characters. We
// count UTF-16 code units, the stricter reading of "characters" for
// emoji, so that no part is refused for length.
const MaxTextLength = 7000

// sendMessage is send_message's body for a text message.
type sendMessage struct {
	Receiver      string     `json:"receiver"`
	MinAPIVersion int        `json:"min_api_version"`
	Sender        sendSender `json:"sender"`
	TrackingData  string     `json:"tracking_data,omitempty"`
	Type          string     `json:"type"`
	Text          string     `json:"text"`
}

type sendSender struct {
	Name   string `json:"name"`
	Avatar string `json:"avatar,omitempty"`
}

// apiAnswer is the envelope of every REST bot API answer. message_token
// stays a json.Number: it is a 64-bit integer.
type apiAnswer struct {
	Status        json.Number `json:"status"`
	StatusMessage string      `json:"status_message"`
	MessageToken  json.Number `json:"message_token"`
}

// Send implements inbox.Sender: the reply goes to the contact's Viber user
// id as one text message, or several when it is longer than Viber allows
// (their message_tokens comma-joined).
func (c *Channel) Send(ctx context.Context, out inbox.Outbound) (inbox.SendResult, error) {
	if out.Contact.ExternalID == "" {
		return inbox.SendResult{}, inbox.Permanent(errors.New("viber: the contact has no Viber user id"))
	}
	if strings.TrimSpace(out.Text) == "" {
		return inbox.SendResult{}, inbox.Permanent(errors.New("viber: cannot send an empty message"))
	}
	var ids []string
	for _, part := range splitText(out.Text, MaxTextLength) {
		id, err := c.sendText(ctx, out, part)
		if err != nil {
			// Parts already sent are sent again on retry: rare (only
			// replies over 7,000 characters) and better than losing
			// the rest.
			return inbox.SendResult{}, err
		}
		ids = append(ids, id)
	}
	return inbox.SendResult{ProviderID: strings.Join(ids, ",")}, nil
}

func (c *Channel) sendText(ctx context.Context, out inbox.Outbound, text string) (string, error) {
	req := sendMessage{
		Receiver:      out.Contact.ExternalID,
		MinAPIVersion: 1,
		Sender:        sendSender{Name: c.cfg.SenderName, Avatar: c.cfg.SenderAvatar},
		// Viber hands tracking_data back with the customer's next
		// message (Meta "tracking_data"): it names the reply answered.
		TrackingData: "inboxd:" + strconv.FormatInt(out.MessageID, 10),
		Type:         "text",
		Text:         text,
	}
	ans, err := c.call(ctx, "send_message", req)
	if err != nil {
		return "", err
	}
	token, err := parseToken(ans.MessageToken)
	if err != nil {
		// Viber said ok: the message is out. Sending it again would
		// duplicate it, so succeed without an id (delivery reports for
		// it will not match).
		c.log.Warn("viber accepted a message without a usable message_token",
			"message_id", out.MessageID, "err", err)
		return "", nil
	}
	return token, nil
}

// call POSTs body to a REST bot API method and returns the answer when its
// status is 0. HTTP errors and timeouts are classified by providerhttp; a
// non-zero status by statusError.
func (c *Channel) call(ctx context.Context, method string, body any) (*apiAnswer, error) {
	ans, _, err := c.callRaw(ctx, method, body)
	return ans, err
}

// callRaw is call that also returns the answer's body, for methods whose
// answer carries more than the envelope.
func (c *Channel) callRaw(ctx context.Context, method string, body any) (*apiAnswer, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	code, h, b, err := providerhttp.Call(ctx, c.client, http.MethodPost, c.endpoint(method), c.authHeader(), body)
	if err != nil {
		return nil, nil, fmt.Errorf("viber %s: %w", method, err)
	}
	var ans apiAnswer
	jsonErr := json.Unmarshal(b, &ans)
	if code < 200 || code > 299 {
		reason := ans.StatusMessage
		if jsonErr != nil || reason == "" {
			reason = snippet(b)
		}
		return nil, nil, fmt.Errorf("viber %s: %w", method, providerhttp.Classify(code, h, reason))
	}
	if jsonErr != nil {
		// A 2xx that is not Viber's JSON comes from something in between
		// (a proxy's page): worth another try.
		return nil, nil, fmt.Errorf("viber %s: unreadable answer: %s", method, snippet(b))
	}
	status, err := strconv.Atoi(string(ans.Status))
	if err != nil {
		return nil, nil, fmt.Errorf("viber %s: answer without a status: %s", method, snippet(b))
	}
	if status != 0 {
		return nil, nil, statusError(method, status, ans.StatusMessage)
	}
	return &ans, b, nil
}

// Viber's documented status codes that are worth retrying. Every other
// documented code says the request, the receiver or the account is at
// fault (3 badData, 5 receiverNotRegistered, 6 receiverNotSubscribed, 7
// publicAccountBlocked, 11 receiverNoSuitableDevice, ...): retrying the
// same request cannot succeed, so the agent sees the reason at once.
// Codes Viber does not document ("other: general error") are retried, as
// a provider-side failure would be.
const (
	statusTooManyRequests = 12
	maxDocumentedStatus   = 24
)

// statusError turns a non-zero status into an outbox error that carries
// Viber's status_message.
func statusError(method string, status int, message string) error {
	if message == "" {
		message = "no status_message"
	}
	err := fmt.Errorf("viber %s: status %d: %s", method, status, message)
	switch {
	case status == statusTooManyRequests:
		// Viber gives no Retry-After; the outbox's backoff applies.
		return err
	case status > 0 && status <= maxDocumentedStatus:
		return inbox.Permanent(err)
	}
	return err
}

// snippet returns the start of a provider's answer, valid UTF-8, for an
// error message.
func snippet(b []byte) string {
	const max = 200
	s := strings.ToValidUTF8(string(b), "?")
	if len(s) > max {
		s = s[:max]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "..."
	}
	return strings.TrimSpace(s)
}

// splitText cuts s into parts of at most limit UTF-16 code units,
// preferring to cut after a newline, then after a space.
func splitText(s string, limit int) []string {
	var parts []string
	for utf16Len(s) > limit {
		cut := 0 // byte offset of the longest prefix within limit
		for n := 0; cut < len(s); {
			r, size := utf8.DecodeRuneInString(s[cut:])
			w := max(utf16.RuneLen(r), 1)
			if n+w > limit {
				break
			}
			n += w
			cut += size
		}
		if cut == 0 { // a limit below one character
			_, cut = utf8.DecodeRuneInString(s)
		}
		head := s[:cut]
		if i := strings.LastIndexByte(head, '\n'); i >= cut/2 {
			cut = i + 1
		} else if i := strings.LastIndexByte(head, ' '); i >= cut/2 {
			cut = i + 1
		}
		parts = append(parts, s[:cut])
		s = s[cut:]
	}
	if s != "" {
		parts = append(parts, s)
	}
	return parts
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if w := utf16.RuneLen(r); w > 0 {
			n += w
		} else {
			n++
		}
	}
	return n
}
