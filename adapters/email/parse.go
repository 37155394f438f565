package email

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"mime"
	"net/mail"
	"path"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jhillyerd/enmime/v2"

	"github.com/inboxd/inboxd/inbox"
)

// OriginalName is the attachment that keeps every inbound message's raw
// bytes, so that agents can open the mail exactly as it arrived.
const OriginalName = "original.eml"

// maxHTMLBytes bounds the HTML kept next to the text; bigger HTML is
// dropped (the original stays attached).
const maxHTMLBytes = 1 << 20

// maxReferences bounds the ids taken from In-Reply-To and References.
const maxReferences = 100

// Meta keys an email inbound may carry.
const (
	MetaParseError   = "parse_error"    // what could not be read
	MetaAutoReason   = "auto_reason"    // why the mail counts as machine-sent
	MetaReplyTo      = "reply_to"       // the Reply-To address, where answers go
	MetaQuoteCut     = "quote_stripped" // "true" when quotes or a signature were cut
	MetaSyntheticID  = "synthetic_message_id"
	MetaTruncated    = "text_truncated"
	MetaDropped      = "attachments_dropped" // attachments over the limits, not stored
	MetaBounceOf     = "bounce_of"           // the Message-ID a bounce reports on
	MetaMessageIDRaw = "message_id_header"   // a Message-ID too long to be the external id
	MetaLimit        = "limit_exceeded"      // the parse limit a mail went over (Limit*)
)

// ParseOptions is what Parse needs to know of the channel.
type ParseOptions struct {
	// Address is the channel's own address: mail from it is flagged Auto
	// (a copy of our own reply must not start a conversation).
	Address string
	// ReplyDomain is the domain of reply+<token>@ addresses; empty accepts
	// the token on any domain.
	ReplyDomain string
}

// Parsed is what one raw message yields.
type Parsed struct {
	Inbound inbox.Inbound
	// Bounce is set when the message reports that a mail we sent (its
	// Message-ID is the ProviderID) could not be delivered.
	Bounce *inbox.DeliveryUpdate
	// Limit names the parse limit the mail went over (Limit*), "" when
	// none: the message then only says so, with its headers and first
	// text part.
	Limit string
}

var mimeParser = enmime.NewParser(
	enmime.SkipMalformedParts(true),
	enmime.SetReadPartErrorPolicy(enmime.AllowCorruptTextPartErrorPolicy),
	enmime.MaxStoredPartErrors(10),
)

// Parse turns a raw RFC 5322 message into an Inbound for channelID. It
// never fails and never panics: what cannot be read is noted in
// Meta["parse_error"] and the rest is kept, so that a broken mail is
// stored and never blocks the mailbox. Its work is bounded (see
// maxMIMEDepth and the limits next to it): a mail over a limit becomes a
// message saying so. The result always passes inbox.Inbound.Validate.
func Parse(channelID string, raw []byte, opts ParseOptions) Parsed {
	return parseWithin(channelID, raw, opts, defaultLimits())
}

func parseWithin(channelID string, raw []byte, opts ParseOptions, lim limits) (out Parsed) {
	defer func() {
		// enmime is third-party code fed with anything the internet sends;
		// a panic in it must cost one message its body, not the mailbox.
		if r := recover(); r != nil {
			out = parseFallback(channelID, raw, opts, fmt.Sprintf("parser panic: %v", r))
		}
	}()
	deadline := lim.now().Add(lim.budget(len(raw)))
	scan, hit := scanMIME(raw, lim, deadline)
	if hit != nil {
		return overLimit(channelID, raw, opts, scan, hit)
	}
	br := &budgetReader{r: bytes.NewReader(raw), now: lim.now, deadline: deadline}
	env, err := mimeParser.ReadEnvelope(br)
	if br.expired || lim.now().After(deadline) {
		return overLimit(channelID, raw, opts, scan, timeHit())
	}
	if err != nil {
		return parseFallback(channelID, raw, opts, err.Error())
	}
	h := func(name string) string { return env.GetHeader(name) }
	in := baseInbound(channelID, raw, h, opts)
	in.Contact = contactFrom(env.GetHeader("From"), env.GetHeader("Sender"), env.GetHeader("Return-Path"), in.Meta)
	if rt := firstAddress(env.GetHeader("Reply-To")); rt != "" && !strings.EqualFold(rt, in.Contact.Email) {
		in.Meta[MetaReplyTo] = rt
	}
	in.Title = title(in.Contact, in.Subject)

	notes := parseNotes(env.Errors)
	text := clean(env.Text)
	if env.HTML != "" {
		if len(env.HTML) <= maxHTMLBytes {
			in.HTML = clean(env.HTML)
		} else {
			notes = append(notes, "html part too large, dropped")
		}
	}
	text, cut := stripQuoted(text, in.Subject)
	if cut {
		in.Meta[MetaQuoteCut] = "true"
	}
	setText(&in, text)

	var parts []*enmime.Part
	parts = append(parts, env.Attachments...)
	parts = append(parts, env.Inlines...)
	parts = append(parts, env.OtherParts...)
	in.Attachments = attachments(parts, raw, in.Meta)

	reason := autoReason(h, in.Contact.Email, opts.Address)
	var bounce *inbox.DeliveryUpdate
	if b := findBounce(env, h, text); b != nil {
		if len(b.messageID) > inbox.MaxExternalIDBytes {
			b.messageID = ""
		}
		if reason == "" {
			reason = "bounce"
		}
		if b.failed && b.messageID != "" {
			bounce = &inbox.DeliveryUpdate{
				ChannelID:  channelID,
				ProviderID: b.messageID,
				State:      inbox.DeliveryFailed,
				Error:      b.diagnostic,
				At:         in.SentAt,
			}
		}
		if b.messageID != "" {
			// The bounce joins the conversation of the mail it reports on.
			in.Meta[MetaBounceOf] = b.messageID
			in.References = appendID(in.References, b.messageID)
		}
	}
	if reason != "" {
		in.Auto = true
		in.Meta[MetaAutoReason] = reason
	}
	if len(notes) > 0 {
		addNote(in.Meta, clean(strings.Join(notes, "; ")))
	}
	finish(&in)
	return Parsed{Inbound: in, Bounce: bounce}
}

// parseNotes lists the parser's findings that mean part of the message
// may be missing or garbled; benign ones (no text part, a charset label
// that disagrees with the content) are left out.
func parseNotes(errs []*enmime.Error) []string {
	var notes []string
	seen := map[string]bool{}
	for _, e := range errs {
		switch e.Name {
		case enmime.ErrorPlainTextFromHTML, enmime.ErrorMissingContentType, enmime.ErrorCharsetDeclaration:
			if !e.Severe {
				continue
			}
		}
		if s := truncate(e.Error(), 300); !seen[s] && len(notes) < 5 {
			seen[s] = true
			notes = append(notes, s)
		}
	}
	return notes
}

// parseFallback stores what a lenient header scan can read, the body as
// text, and the error.
func parseFallback(channelID string, raw []byte, opts ParseOptions, reason string) Parsed {
	hdr, body := splitMessage(raw)
	fields := parseFields(hdr)
	h := func(name string) string { return decodeWords(fields.get(name)) }
	in := baseInbound(channelID, raw, h, opts)
	in.Contact = contactFrom(h("From"), h("Sender"), h("Return-Path"), in.Meta)
	in.Title = title(in.Contact, in.Subject)
	setText(&in, strings.TrimSpace(clean(string(body))))
	in.Attachments = attachments(nil, raw, in.Meta)
	if r := autoReason(h, in.Contact.Email, opts.Address); r != "" {
		in.Auto = true
		in.Meta[MetaAutoReason] = r
	}
	addNote(in.Meta, clean(reason))
	finish(&in)
	return Parsed{Inbound: in}
}

// baseInbound fills what only needs the headers.
func baseInbound(channelID string, raw []byte, h func(string) string, opts ParseOptions) inbox.Inbound {
	in := inbox.Inbound{ChannelID: channelID, Meta: map[string]string{}}
	in.ExternalID = messageID(h("Message-Id"), raw, in.Meta)
	in.References = references(h("In-Reply-To"), h("References"), in.ExternalID)
	in.Subject = truncate(oneLine(clean(h("Subject"))), 1000)
	in.ThreadToken = threadToken([]string{h("To"), h("Cc"), h("Delivered-To"), h("X-Original-To"), h("Envelope-To")}, opts.ReplyDomain)
	in.SentAt = parseDate(h("Date"))
	return in
}

var idRe = regexp.MustCompile(`<([^<>\s]+)>`)

// messageID returns the Message-ID without its angle brackets; outgoing
// ids (SendResult.ProviderID) use the same bare form, so References
// match either. A missing id is made up from the raw bytes: the same
// message fetched again gets the same id and stays one message.
func messageID(header string, raw []byte, meta map[string]string) string {
	id := ""
	if m := idRe.FindStringSubmatch(header); m != nil {
		id = m[1]
	} else {
		id = strings.TrimSpace(header)
		if strings.ContainsAny(id, " \t\r\n") {
			id = ""
		}
	}
	id = clean(id)
	switch {
	case id == "":
		sum := sha256.Sum256(raw)
		meta[MetaSyntheticID] = "true"
		return "sha256-" + hex.EncodeToString(sum[:16]) + "@inboxd.invalid"
	case len(id) > inbox.MaxExternalIDBytes:
		sum := sha256.Sum256([]byte(id))
		meta[MetaMessageIDRaw] = truncate(id, 1024)
		return "sha256-" + hex.EncodeToString(sum[:16]) + "@inboxd.invalid"
	}
	return id
}

// references lists In-Reply-To's ids first, then References' (oldest
// first), without repeats and without the message's own id.
func references(inReplyTo, refs, self string) []string {
	var out []string
	for _, hv := range []string{inReplyTo, refs} {
		for _, m := range idRe.FindAllStringSubmatch(hv, -1) {
			id := clean(m[1])
			if id == self || len(id) > inbox.MaxExternalIDBytes {
				continue
			}
			out = appendID(out, id)
		}
	}
	if len(out) > maxReferences {
		// Keep the In-Reply-To id and the newest of the rest.
		out = append(out[:1], out[len(out)-maxReferences+1:]...)
	}
	return out
}

func appendID(ids []string, id string) []string {
	for _, x := range ids {
		if x == id {
			return ids
		}
	}
	return append(ids, id)
}

var tokenRe = regexp.MustCompile(`(?i)\breply\+([A-Za-z0-9_-]{1,128})@([A-Za-z0-9.-]+)`)

// threadToken finds a reply+<token>@<reply domain> recipient.
func threadToken(recipients []string, domain string) string {
	for _, r := range recipients {
		for _, m := range tokenRe.FindAllStringSubmatch(r, -1) {
			if domain == "" || strings.EqualFold(strings.TrimSuffix(m[2], "."), domain) {
				return m[1]
			}
		}
	}
	return ""
}

var bareAddrRe = regexp.MustCompile(`[^\s<>"',;:()\[\]]+@[^\s<>"',;:()\[\]]+`)

// contactFrom is the sender: From, else Sender, else the Return-Path. A
// mail without any is still stored, under a placeholder contact.
func contactFrom(from, sender, returnPath string, meta map[string]string) inbox.ContactInfo {
	for _, hv := range []string{from, sender, returnPath} {
		name, addr := parseAddress(hv)
		if addr == "" {
			continue
		}
		addr = strings.ToLower(addr)
		if len(addr) > inbox.MaxExternalIDBytes {
			continue
		}
		c := inbox.ContactInfo{ExternalID: addr, Email: addr, Name: truncate(name, 200)}
		if c.Name == "" {
			c.Name = addr
		}
		return c
	}
	addNote(meta, "no sender address")
	return inbox.ContactInfo{ExternalID: "unknown-sender@inboxd.invalid", Name: "Unknown sender"}
}

// parseAddress reads the first address of a header, leniently: a broken
// list still yields the address it contains.
func parseAddress(hv string) (name, addr string) {
	hv = strings.TrimSpace(hv)
	if hv == "" || hv == "<>" {
		return "", ""
	}
	if list, err := enmime.ParseAddressList(hv); err == nil && len(list) > 0 && list[0].Address != "" {
		return oneLine(clean(list[0].Name)), clean(list[0].Address)
	}
	if a := bareAddrRe.FindString(hv); a != "" {
		name := strings.TrimSpace(strings.Split(hv, "<")[0])
		name = strings.Trim(name, `"' `)
		if strings.Contains(name, "@") {
			name = ""
		}
		return oneLine(clean(name)), clean(a)
	}
	return "", ""
}

func firstAddress(hv string) string {
	_, a := parseAddress(hv)
	return strings.ToLower(a)
}

// title is the new conversation's title: "Name: Subject".
func title(c inbox.ContactInfo, subject string) string {
	who := c.Name
	if who == "" {
		who = c.Email
	}
	if subject == "" {
		return truncate(who, 200)
	}
	return truncate(who+": "+subject, 200)
}

// addNote appends to Meta["parse_error"].
func addNote(meta map[string]string, note string) {
	if old := meta[MetaParseError]; old != "" {
		note = old + "; " + note
	}
	meta[MetaParseError] = truncate(note, 1000)
}

func setText(in *inbox.Inbound, text string) {
	if len(text) > inbox.MaxTextBytes {
		text = truncate(text, inbox.MaxTextBytes)
		in.Meta[MetaTruncated] = "true"
	}
	in.Text = text
}

// attachments turns MIME parts into attachments with their bytes, and
// appends the raw message. Parts over the limits are counted in Meta, not
// stored; the original message keeps the last slot.
func attachments(parts []*enmime.Part, raw []byte, meta map[string]string) []inbox.Attachment {
	var out []inbox.Attachment
	dropped := 0
	seen := map[*enmime.Part]bool{}
	for i, p := range parts {
		if p == nil || seen[p] {
			continue
		}
		seen[p] = true
		if len(out) >= inbox.MaxAttachments-1 || len(p.Content) > inbox.MaxAttachmentBytes {
			dropped++
			continue
		}
		ct := strings.ToLower(p.ContentType)
		if ct == "" {
			ct = "application/octet-stream"
		}
		out = append(out, inbox.Attachment{
			Name:     attachmentName(p.FileName, ct, p.ContentID, i+1),
			MIMEType: clean(ct),
			Size:     int64(len(p.Content)),
			Data:     p.Content,
		})
	}
	if len(raw) <= inbox.MaxAttachmentBytes {
		out = append(out, inbox.Attachment{Name: OriginalName, MIMEType: "message/rfc822", Size: int64(len(raw)), Data: raw})
	} else {
		dropped++
	}
	if dropped > 0 {
		meta[MetaDropped] = fmt.Sprint(dropped)
	}
	return out
}

var extensions = map[string]string{
	"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp",
	"application/pdf": ".pdf", "text/plain": ".txt", "text/html": ".html", "text/calendar": ".ics",
	"message/rfc822": ".eml", "message/delivery-status": ".txt", "text/rfc822-headers": ".txt",
}

// attachmentName is the part's file name made safe to show and to offer
// as a download, or one made up from its type.
func attachmentName(name, ct, cid string, n int) string {
	name = clean(name)
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '/' || r == '\\' {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(path.Base("/" + name))
	if name == "/" || name == "." || name == ".." {
		name = ""
	}
	if name != "" {
		return truncate(name, 200)
	}
	ext := extensions[ct]
	if ext == "" {
		ext = ".bin"
	}
	if ct == "message/delivery-status" {
		return "delivery-status.txt"
	}
	if cid != "" && strings.HasPrefix(ct, "image/") {
		return fmt.Sprintf("inline-%d%s", n, ext)
	}
	return fmt.Sprintf("attachment-%d%s", n, ext)
}

// finish makes sure the inbound passes Validate whatever the input was.
func finish(in *inbox.Inbound) {
	if in.Text == "" && len(in.Attachments) == 0 {
		in.Text = "(empty message)"
	}
	if len(in.Meta) == 0 {
		in.Meta = nil
	}
}

// clean makes s storable: valid UTF-8 and no NUL (PostgreSQL text refuses
// it), CRLF line ends turned into LF.
func clean(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	s = strings.ReplaceAll(s, "\x00", "")
	return strings.ReplaceAll(s, "\r\n", "\n")
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

var wordDecoder = &mime.WordDecoder{CharsetReader: charsetReader}

// decodeWords decodes RFC 2047 words of a header read by the fallback
// scanner; undecodable words stay as they are.
func decodeWords(s string) string {
	if d, err := wordDecoder.DecodeHeader(s); err == nil {
		return d
	}
	return s
}

// parseDate is mail.ParseDate that tolerates a missing or broken header.
func parseDate(s string) time.Time {
	t, err := mail.ParseDate(s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}
