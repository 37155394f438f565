package widget

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/inboxd/inboxd/inbox"
)

// visitorMessage is a message as a visitor sees it: never internal
// fields (delivery, errors, agent ids, attachments' storage).
type visitorMessage struct {
	ID        int64     `json:"id"`
	Direction string    `json:"direction"`
	Text      string    `json:"text"`
	Author    string    `json:"author,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	ClientID  string    `json:"client_id,omitempty"`
}

func toVisitorMessage(m *inbox.Message) visitorMessage {
	v := visitorMessage{ID: m.ID, Direction: string(m.Direction), Text: m.Text, CreatedAt: m.CreatedAt}
	if m.Direction == inbox.DirectionOut {
		v.Author = m.AuthorName
	} else {
		v.ClientID = clientID(m.ExternalID)
	}
	return v
}

// clientID is the widget's own id of a visitor's message: the part of its
// external id after the contact key (Inbound joins them with "/").
func clientID(externalID string) string {
	if i := strings.LastIndexByte(externalID, '/'); i >= 0 {
		return externalID[i+1:]
	}
	return ""
}

// messagesPage is the most messages one GET returns.
const messagesPage = 200

func (h *HTTP) messages(c echo.Context, ch *Channel) error {
	key, err := h.visitor(c, ch, false)
	if err != nil {
		return err
	}
	after, err := queryInt(c, "after")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	id, number, err := h.conversation(ctx, ch, key, c.QueryParam("conversation"))
	if err != nil {
		return err
	}
	out := struct {
		Conversation int64            `json:"conversation,omitempty"`
		Items        []visitorMessage `json:"items"`
		NextCursor   string           `json:"next_cursor"`
	}{Conversation: number, Items: []visitorMessage{}}
	if id == 0 {
		return c.JSON(http.StatusOK, out)
	}
	ms, err := h.o.Messages.Messages(ctx, id, after, messagesPage)
	if err != nil {
		return err
	}
	for i := range ms {
		if ms[i].IsNote() {
			continue // the team's private notes never reach the visitor
		}
		out.Items = append(out.Items, toVisitorMessage(&ms[i]))
	}
	if len(ms) == messagesPage {
		out.NextCursor = strconv.FormatInt(ms[len(ms)-1].ID, 10)
	}
	return c.JSON(http.StatusOK, out)
}

// queryInt reads an optional non-negative integer query parameter.
func queryInt(c echo.Context, name string) (int64, error) {
	v := c.QueryParam(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, inbox.Invalid(name, "must be a non-negative integer")
	}
	return n, nil
}

// maxUserAgent bounds the browser string recorded on the contact.
const maxUserAgent = 300

// post takes a visitor's message. Resending the same client_id returns
// the stored message (200) instead of storing it again (201).
func (h *HTTP) post(c echo.Context, ch *Channel) error {
	key, err := h.visitor(c, ch, false)
	if err != nil {
		return err
	}
	if err := rateLimited(c, ch.AllowVisitor(key)); err != nil {
		return err
	}
	var in struct {
		ClientID     string `json:"client_id"`
		Text         string `json:"text"`
		Email        string `json:"email"`
		PageURL      string `json:"page_url"`
		Referrer     string `json:"referrer"`
		Language     string `json:"language"`
		Conversation string `json:"conversation"`
	}
	if err := h.o.Host.DecodeJSON(c, &in); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if _, _, err := h.conversation(ctx, ch, key, in.Conversation); err != nil {
		return err
	}
	ua := c.Request().UserAgent()
	if len(ua) > maxUserAgent {
		ua = ua[:maxUserAgent]
	}
	msg, err := ch.Inbound(Post{ContactKey: key, ClientID: in.ClientID, Text: in.Text, Email: in.Email,
		Meta: map[string]string{MetaPageURL: in.PageURL, MetaReferrer: in.Referrer, MetaBrowser: ua, MetaLanguage: in.Language}})
	if err != nil {
		return err
	}
	res, err := h.o.Ingest.Ingest(ctx, msg)
	if err != nil {
		return err
	}
	_, number, err := h.o.Visitors.VisitorConversation(ctx, ch.ID(), key)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if res.Duplicate {
		status = http.StatusOK
	}
	return c.JSON(status, map[string]any{
		"conversation": number,
		"message": visitorMessage{ID: res.MessageID, Direction: string(inbox.DirectionIn), Text: msg.Text,
			CreatedAt: h.o.Clock.Now(), ClientID: in.ClientID},
	})
}

// typing tells the agents of the visitor's conversation that the visitor
// is typing (a live-only event).
func (h *HTTP) typing(c echo.Context, ch *Channel) error {
	key, err := h.visitor(c, ch, false)
	if err != nil {
		return err
	}
	if err := rateLimited(c, ch.AllowVisitor(key)); err != nil {
		return err
	}
	ctx := c.Request().Context()
	id, _, err := h.conversation(ctx, ch, key, "")
	if err != nil {
		return err
	}
	if id == 0 {
		return c.NoContent(http.StatusNoContent) // nobody to tell before the first message
	}
	if err := h.o.Host.PublishTyping(ctx, id, map[string]string{"who": "visitor"}); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
