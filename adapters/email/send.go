package email

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	netmail "net/mail"
	"regexp"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"

	"github.com/inboxd/inboxd/inbox"
)

// sendTimeout bounds one SMTP conversation (connect, auth, data).
const sendTimeout = 60 * time.Second

// maxReferenceHeaderIDs bounds the References header: the thread's first
// id and the newest ones, as RFC 5322 suggests for long threads.
const maxReferenceHeaderIDs = 20

// Sender delivers one email channel's replies over SMTP.
type Sender struct {
	channelID   string
	fromName    string
	address     string
	replyDomain string
	smtp        SMTPConfig
	clock       inbox.Clock
}

// NewSender returns the sender of a validated channel config; fromName is
// the display name of the From header (the channel's name).
func NewSender(channelID, fromName string, cfg Config, clock inbox.Clock) *Sender {
	if clock == nil {
		clock = inbox.SystemClock{}
	}
	return &Sender{
		channelID: channelID, fromName: fromName, address: cfg.Address,
		replyDomain: cfg.ReplyDomain, smtp: cfg.SMTP, clock: clock,
	}
}

// Send implements inbox.Sender. The Message-ID is ours and derived from
// the outbound message, so a retry after a lost answer sends the same id
// (clients show one mail); it is returned bare as the ProviderID, the
// form References and bounces are matched in.
func (s *Sender) Send(ctx context.Context, out inbox.Outbound) (inbox.SendResult, error) {
	to, err := recipient(out)
	if err != nil {
		return inbox.SendResult{}, inbox.Permanent(err)
	}
	id := outboundMessageID(out, domainOf(s.address))
	m := mail.NewMsg()
	if err := m.FromFormat(s.fromName, s.address); err != nil {
		return inbox.SendResult{}, inbox.Permanent(fmt.Errorf("from: %w", err))
	}
	if err := m.To(to); err != nil {
		return inbox.SendResult{}, inbox.Permanent(fmt.Errorf("to: %w", err))
	}
	if s.replyDomain != "" && validToken(out.Conversation.Token) {
		if err := m.ReplyTo("reply+" + out.Conversation.Token + "@" + s.replyDomain); err != nil {
			return inbox.SendResult{}, inbox.Permanent(fmt.Errorf("reply-to: %w", err))
		}
	}
	m.Subject(replySubject(out.Conversation.Subject, out.Conversation.Number))
	m.SetMessageIDWithValue(id)
	m.SetDateWithValue(s.clock.Now())
	inReplyTo, refs := threadHeaders(out)
	if inReplyTo != "" {
		m.SetGenHeaderPreformatted(mail.HeaderInReplyTo, "<"+inReplyTo+">")
	}
	if len(refs) > 0 {
		m.SetGenHeaderPreformatted(mail.HeaderReferences, foldIDs(refs))
	}
	if out.Auto {
		// An out-of-hours answer (RFC 3834): other machines must not
		// answer it in turn.
		m.SetGenHeader("Auto-Submitted", "auto-replied")
		m.SetGenHeader(mail.HeaderXAutoResponseSuppress, "All")
	}
	setBody(m, out.Text)
	if err := s.smtp.send(ctx, m); err != nil {
		return inbox.SendResult{}, err
	}
	return inbox.SendResult{ProviderID: id}, nil
}

// recipient is where the reply goes: the last mail's Reply-To, else the
// contact's address.
func recipient(out inbox.Outbound) (string, error) {
	var candidates []string
	if out.LastInbound != nil && out.LastInbound.Meta[MetaReplyTo] != "" {
		candidates = append(candidates, out.LastInbound.Meta[MetaReplyTo])
	}
	candidates = append(candidates, out.Contact.Email, out.Contact.ExternalID)
	for _, c := range candidates {
		a, err := netmail.ParseAddress(c)
		if err != nil || strings.HasSuffix(strings.ToLower(a.Address), ".invalid") {
			continue
		}
		return a.Address, nil
	}
	return "", errors.New("the contact has no usable email address")
}

// outboundMessageID is "inboxd.<message id>.<hash>@<our domain>": stable
// per outbound message, and unique across databases because the hash
// covers the conversation's random token.
func outboundMessageID(out inbox.Outbound, domain string) string {
	var tail string
	if out.MessageID != 0 && out.Conversation.Token != "" {
		sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00%d", out.ChannelID, out.Conversation.Token, out.MessageID)))
		tail = hex.EncodeToString(sum[:10])
	} else {
		tail = randomHex(10)
	}
	return fmt.Sprintf("inboxd.%d.%s@%s", out.MessageID, tail, domain)
}

// threadHeaders returns In-Reply-To (the newest customer mail) and
// References (the thread, oldest first, bounded).
func threadHeaders(out inbox.Outbound) (string, []string) {
	var refs []string
	for _, id := range out.Thread {
		if id = bareID(id); id != "" {
			refs = appendID(refs, id)
		}
	}
	inReplyTo := ""
	if out.LastInbound != nil {
		inReplyTo = bareID(out.LastInbound.ExternalID)
		if strings.HasSuffix(inReplyTo, "@inboxd.invalid") {
			// A made-up id (the mail had none) means nothing to the
			// customer's client.
			inReplyTo = ""
		}
	}
	if inReplyTo == "" && len(refs) > 0 {
		inReplyTo = refs[len(refs)-1]
	}
	if inReplyTo != "" {
		refs = appendID(refs, inReplyTo)
	}
	if len(refs) > maxReferenceHeaderIDs {
		refs = append(refs[:1], refs[len(refs)-maxReferenceHeaderIDs+1:]...)
	}
	return inReplyTo, refs
}

// bareID strips angle brackets; ids that cannot be written into a header
// as they are ("" back) are left out.
func bareID(id string) string {
	id = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(id), "<"), ">")
	if id == "" || len(id) > 900 {
		return ""
	}
	for _, r := range id {
		if r <= ' ' || r >= 0x7f || r == '<' || r == '>' {
			return ""
		}
	}
	return id
}

// foldIDs writes ids one per folded line, keeping every header line far
// below SMTP's 998 characters.
func foldIDs(ids []string) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = "<" + id + ">"
	}
	return strings.Join(parts, "\r\n ")
}

var replyPrefixRe = regexp.MustCompile(`(?i)^\s*(re|aw|sv|antw|ha|odp|ynt|vs|res|отв|ответ)\s*(\[\d+\]|\(\d+\))?\s*:\s*`)

// replySubject is "Re: " and the conversation's subject without the
// prefixes it already has ("Re: Re: AW:" stays one "Re:").
func replySubject(subject string, number int64) string {
	s := oneLine(subject)
	for {
		t := replyPrefixRe.ReplaceAllString(s, "")
		if t == s {
			break
		}
		s = t
	}
	if s == "" {
		if number > 0 {
			return fmt.Sprintf("Re: Request #%d", number)
		}
		return "Re: Your message"
	}
	return "Re: " + s
}

// setBody writes the text and, for clients that prefer it, a simple HTML
// rendering of the same text.
func setBody(m *mail.Msg, text string) {
	m.SetBodyString(mail.TypeTextPlain, text)
	m.AddAlternativeString(mail.TypeTextHTML, textToHTML(text))
}

func textToHTML(text string) string {
	body := strings.ReplaceAll(html.EscapeString(text), "\n", "<br>\n")
	return "<!DOCTYPE html>\n<html><body><div style=\"font-family:sans-serif;white-space:pre-wrap\">" + body + "</div></body></html>\n"
}

var tokenCharsRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

func validToken(t string) bool { return tokenCharsRe.MatchString(t) }

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return "localhost"
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// send delivers m over one SMTP connection and classifies the failure for
// the outbox: 5xx answers are permanent, 4xx and network errors
// temporary.
func (c SMTPConfig) send(ctx context.Context, m *mail.Msg) error {
	cl, err := c.client()
	if err != nil {
		return inbox.Permanent(fmt.Errorf("smtp: %w", err))
	}
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	if err := cl.DialAndSendWithContext(ctx, m); err != nil {
		return classifySMTP(err)
	}
	return nil
}

func (c SMTPConfig) client() (*mail.Client, error) {
	opts := []mail.Option{mail.WithPort(c.Port), mail.WithTimeout(30 * time.Second)}
	switch c.TLS {
	case TLSImplicit:
		opts = append(opts, mail.WithSSL())
	case TLSStartTLS:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	}
	if c.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover),
			mail.WithUsername(c.Username), mail.WithPassword(c.Password))
	}
	return mail.NewClient(c.Host, opts...)
}

func classifySMTP(err error) error {
	var se *mail.SendError
	if errors.As(err, &se) && !se.IsTemp() {
		if code := se.ErrorCode(); code >= 500 && code < 600 {
			return inbox.Permanent(fmt.Errorf("smtp: %w", err))
		}
	}
	return fmt.Errorf("smtp: %w", err)
}
