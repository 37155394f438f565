package meta

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"

	"github.com/inboxd/inboxd/adapters/providerhttp"
	"github.com/inboxd/inboxd/inbox"
)

const (
	// Window is how long after the customer's last message a page may
	// answer with messaging_type RESPONSE.
	Window = 24 * time.Hour
	// HumanAgentWindow is how long the HUMAN_AGENT tag extends it.
	HumanAgentWindow = 7 * 24 * time.Hour
	// maxTextUnits is the Send API's text limit (2000 characters, counted
	// here in UTF-16 units to be safe with emoji).
	maxTextUnits = 2000
)

// sendRequest is the Send API's body for a text reply.
type sendRequest struct {
	Recipient     sendRecipient `json:"recipient"`
	MessagingType string        `json:"messaging_type"`
	Tag           string        `json:"tag,omitempty"`
	Message       sendMessage   `json:"message"`
}

type sendRecipient struct {
	ID string `json:"id"`
}

type sendMessage struct {
	Text string `json:"text"`
}

type sendResponse struct {
	RecipientID string `json:"recipient_id"`
	MessageID   string `json:"message_id"`
}

// CheckReply refuses a reply the Send API would refuse: after the 24-hour
// window (7 days with human_agent_tag), or to a contact who never wrote.
func (c *Channel) CheckReply(_ context.Context, conv *inbox.Conversation, now time.Time) error {
	name := "Messenger"
	if c.platform == Instagram {
		name = "Instagram"
	}
	if conv == nil || conv.LastInboundAt.IsZero() {
		return inbox.Errorf(inbox.EConflict, "%s allows replies only to customers who wrote first", name)
	}
	window := Window
	if c.cfg.HumanAgentTag {
		window = HumanAgentWindow
	}
	if now.Sub(conv.LastInboundAt) <= window {
		return nil
	}
	return inbox.Errorf(inbox.EConflict,
		"%s allows replies only within %s of the customer's last message (it closed at %s); wait for the customer to write again",
		name, windowText(window), conv.LastInboundAt.Add(window).UTC().Format(time.RFC3339))
}

func windowText(d time.Duration) string {
	if d == HumanAgentWindow {
		return "7 days"
	}
	return "24 hours"
}

// Send delivers a text reply through the Send API, in parts when it is
// longer than the API takes.
func (c *Channel) Send(ctx context.Context, out inbox.Outbound) (inbox.SendResult, error) {
	if out.Contact.ExternalID == "" {
		return inbox.SendResult{}, inbox.Permanent(fmt.Errorf("contact has no PSID"))
	}
	req := sendRequest{Recipient: sendRecipient{ID: out.Contact.ExternalID}, MessagingType: "RESPONSE"}
	if c.cfg.HumanAgentTag && out.LastInbound != nil && !out.LastInbound.CreatedAt.IsZero() &&
		c.clock.Now().Sub(out.LastInbound.CreatedAt) > Window {
		req.MessagingType, req.Tag = "MESSAGE_TAG", "HUMAN_AGENT"
	}
	var ids []string
	for _, part := range SplitText(out.Text, maxTextUnits) {
		req.Message.Text = part
		id, err := c.sendOne(ctx, req)
		if err != nil {
			// Parts already sent are not repeated by the error text; the
			// outbox retries the whole reply.
			return inbox.SendResult{ProviderID: strings.Join(ids, ",")}, err
		}
		if id != "" {
			ids = append(ids, id)
			c.sent.record(out.Contact.ExternalID, id, c.clock.Now())
		}
	}
	return inbox.SendResult{ProviderID: strings.Join(ids, ",")}, nil
}

func (c *Channel) sendOne(ctx context.Context, req sendRequest) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.callTimeout)
	defer cancel()
	u := c.cfg.APIBaseURL + "/" + url.PathEscape(c.cfg.PageID) + "/messages"
	status, h, body, err := providerhttp.Call(ctx, c.client, http.MethodPost, u,
		map[string]string{"Authorization": "Bearer " + c.cfg.PageAccessToken}, req)
	if err != nil {
		return "", err
	}
	if err := ClassifyGraph(status, h, body); err != nil {
		return "", err
	}
	var resp sendResponse
	if err := json.Unmarshal(body, &resp); err != nil || resp.MessageID == "" {
		// Sent, by the status: retrying would send it twice.
		c.log.Warn("meta send answered without a message id", "status", status)
	}
	return resp.MessageID, nil
}

// SplitText cuts s into parts of at most max UTF-16 units, preferring to
// cut after a newline or a space. Empty text is one empty part.
func SplitText(s string, max int) []string {
	var parts []string
	for {
		units, cut, lastBreak := 0, len(s), -1
		for i, r := range s {
			n := utf16.RuneLen(r)
			if n < 0 {
				n = 1
			}
			if units+n > max {
				cut = i
				break
			}
			units += n
			if r == '\n' || unicode.IsSpace(r) {
				lastBreak = i + len(string(r))
			}
		}
		if cut == len(s) {
			return append(parts, s)
		}
		if lastBreak > 0 && lastBreak > cut/2 {
			cut = lastBreak
		}
		parts = append(parts, s[:cut])
		s = s[cut:]
	}
}

// FetchAttachment downloads an attachment by the URL Meta gave in the
// webhook (lookaside/CDN links, valid for a limited time). The URL comes
// from a payload, so it is fetched through providerhttp.Fetcher: https at
// public addresses only, unless allow_private_fetch. Errors carry inbox
// codes, so that the API answers 404 for an expired link, 403 for a URL
// the fetcher refuses and 503 when the CDN cannot be reached, not 500.
func (c *Channel) FetchAttachment(ctx context.Context, ref string) (io.ReadCloser, string, error) {
	if !httpURL(ref) {
		return nil, "", fmt.Errorf("%w: attachment ref is not a URL", inbox.Errorf(inbox.ENotFound, "attachment not found"))
	}
	resp, err := c.fetcher.Get(ctx, ref, nil)
	if err != nil {
		if inbox.ErrorCode(err) == inbox.EForbidden {
			c.log.Warn("attachment URL refused", "err", err)
			return nil, "", err
		}
		return nil, "", fmt.Errorf("%w: fetch attachment: %v", c.unavailable(), err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		if resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
			// Lookaside links expire: 403 or 404 from the CDN.
			return nil, "", fmt.Errorf("%w: fetch attachment: provider answered %d",
				inbox.Errorf(inbox.ENotFound, "attachment is no longer available at %s", c.platformName()), resp.StatusCode)
		}
		return nil, "", fmt.Errorf("%w: fetch attachment: provider answered %d", c.unavailable(), resp.StatusCode)
	}
	return providerhttp.CapBody(resp.Body, inbox.MaxAttachmentBytes), resp.Header.Get("Content-Type"), nil
}

func (c *Channel) platformName() string {
	if c.platform == Instagram {
		return "Instagram"
	}
	return "Messenger"
}

func (c *Channel) unavailable() *inbox.Error {
	return inbox.Errorf(inbox.EUnavailable, "%s is unavailable, retry later", c.platformName())
}
