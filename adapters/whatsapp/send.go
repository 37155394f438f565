package whatsapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/inboxd/inboxd/adapters/meta"
	"github.com/inboxd/inboxd/adapters/providerhttp"
	"github.com/inboxd/inboxd/inbox"
)

const (
	// Window is how long after the customer's last message a business may
	// send free-form messages; later only templates (not supported yet).
	Window = 24 * time.Hour
	// maxTextUnits is the Cloud API's text body limit.
	maxTextUnits = 4096
)

type sendRequest struct {
	MessagingProduct string   `json:"messaging_product"`
	RecipientType    string   `json:"recipient_type"`
	To               string   `json:"to"`
	Type             string   `json:"type"`
	Text             sendText `json:"text"`
}

type sendText struct {
	Body       string `json:"body"`
	PreviewURL bool   `json:"preview_url"`
}

type sendResponse struct {
	Messages []struct {
		ID string `json:"id"`
	} `json:"messages"`
}

// CheckReply refuses a reply after the 24-hour customer service window, or
// to a contact who never wrote.
func (c *Channel) CheckReply(_ context.Context, conv *inbox.Conversation, now time.Time) error {
	if conv == nil || conv.LastInboundAt.IsZero() {
		return inbox.Errorf(inbox.EConflict, "WhatsApp allows free-form replies only to customers who wrote first")
	}
	if now.Sub(conv.LastInboundAt) <= Window {
		return nil
	}
	return inbox.Errorf(inbox.EConflict,
		"WhatsApp allows free-form replies only within 24 hours of the customer's last message (it closed at %s); wait for the customer to write again",
		conv.LastInboundAt.Add(Window).UTC().Format(time.RFC3339))
}

// Send delivers a text reply, in parts when it is longer than the API takes.
func (c *Channel) Send(ctx context.Context, out inbox.Outbound) (inbox.SendResult, error) {
	if out.Contact.ExternalID == "" {
		return inbox.SendResult{}, inbox.Permanent(fmt.Errorf("contact has no WhatsApp id"))
	}
	req := sendRequest{MessagingProduct: "whatsapp", RecipientType: "individual", To: out.Contact.ExternalID, Type: "text"}
	var ids []string
	for _, part := range meta.SplitText(out.Text, maxTextUnits) {
		req.Text.Body = part
		id, err := c.sendOne(ctx, req)
		if err != nil {
			return inbox.SendResult{ProviderID: strings.Join(ids, ",")}, err
		}
		if id != "" {
			ids = append(ids, id)
		}
	}
	return inbox.SendResult{ProviderID: strings.Join(ids, ",")}, nil
}

func (c *Channel) sendOne(ctx context.Context, req sendRequest) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.callTimeout)
	defer cancel()
	u := c.cfg.APIBaseURL + "/" + url.PathEscape(c.cfg.PhoneNumberID) + "/messages"
	status, h, body, err := providerhttp.Call(ctx, c.client, http.MethodPost, u, c.auth(), req)
	if err != nil {
		return "", err
	}
	if err := meta.ClassifyGraph(status, h, body); err != nil {
		return "", err
	}
	var resp sendResponse
	if err := json.Unmarshal(body, &resp); err != nil || len(resp.Messages) == 0 || resp.Messages[0].ID == "" {
		// Accepted, by the status: retrying would send it twice.
		c.log.Warn("whatsapp send answered without a message id", "status", status)
		return "", nil
	}
	return resp.Messages[0].ID, nil
}

func (c *Channel) auth() map[string]string {
	return map[string]string{"Authorization": "Bearer " + c.cfg.AccessToken}
}

// FetchAttachment downloads a media object by its id: the Graph API first
// answers a short-lived URL, which also needs the access token. Errors
// carry inbox codes, so that the API answers 404 for media WhatsApp no
// longer has and 503 when it cannot be reached, not 500.
func (c *Channel) FetchAttachment(ctx context.Context, ref string) (io.ReadCloser, string, error) {
	if ref == "" || strings.ContainsAny(ref, "/?#") {
		return nil, "", inbox.Errorf(inbox.ENotFound, "attachment not found")
	}
	status, h, body, err := providerhttp.Call(ctx, c.client, http.MethodGet, c.cfg.APIBaseURL+"/"+url.PathEscape(ref), c.auth(), nil)
	if err != nil {
		return nil, "", fmt.Errorf("%w: media %s: %v", unavailable(), ref, err)
	}
	if err := meta.ClassifyGraph(status, h, body); err != nil {
		if permanent(err) {
			return nil, "", fmt.Errorf("%w: media %s: %v", gone(), ref, err)
		}
		return nil, "", fmt.Errorf("%w: media %s: %v", unavailable(), ref, err)
	}
	var m struct {
		URL      string `json:"url"`
		MIMEType string `json:"mime_type"`
	}
	if err := json.Unmarshal(body, &m); err != nil || m.URL == "" {
		return nil, "", fmt.Errorf("%w: media %s: no download URL in the answer", unavailable(), ref)
	}
	pu, err := url.Parse(m.URL)
	if err != nil || (pu.Scheme != "https" && pu.Scheme != "http") {
		return nil, "", fmt.Errorf("%w: media %s: download URL is not http(s)", unavailable(), ref)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.URL, nil)
	if err != nil {
		return nil, "", fmt.Errorf("%w: media %s: %v", unavailable(), ref, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.cfg.AccessToken)
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("%w: media %s: download: %v", unavailable(), ref, providerhttp.Cause(err))
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone || resp.StatusCode == http.StatusForbidden {
			return nil, "", fmt.Errorf("%w: media %s: download answered %d", gone(), ref, resp.StatusCode)
		}
		return nil, "", fmt.Errorf("%w: media %s: download answered %d", unavailable(), ref, resp.StatusCode)
	}
	ct := resp.Header.Get("Content-Type")
	if m.MIMEType != "" {
		ct = m.MIMEType
	}
	return resp.Body, ct, nil
}

// permanent reports whether a classified provider error is not worth
// retrying (a 4xx with a reason).
func permanent(err error) bool {
	var se *inbox.SendError
	return errors.As(err, &se) && se.Permanent
}

func gone() *inbox.Error {
	return inbox.Errorf(inbox.ENotFound, "attachment is no longer available at WhatsApp")
}

func unavailable() *inbox.Error {
	return inbox.Errorf(inbox.EUnavailable, "WhatsApp is unavailable, retry later")
}
