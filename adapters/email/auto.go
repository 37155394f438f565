package email

import (
	"regexp"
	"strings"

	"github.com/jhillyerd/enmime/v2"
)

// autoReason says why a mail counts as machine-sent (RFC 3834 and the
// de-facto headers of list servers and autoresponders), "" when it does
// not. Such mail is stored and flagged, never answered automatically:
// two autoresponders answering each other is how mail loops start.
func autoReason(h func(string) string, from, own string) string {
	if v := strings.ToLower(strings.TrimSpace(h("Auto-Submitted"))); v != "" {
		if kw, _, _ := strings.Cut(v, ";"); strings.TrimSpace(kw) != "no" {
			return "auto-submitted: " + strings.TrimSpace(kw)
		}
	}
	switch p := strings.ToLower(strings.TrimSpace(h("Precedence"))); p {
	case "bulk", "junk", "list":
		return "precedence: " + p
	}
	if h("List-Id") != "" {
		return "list-id"
	}
	if strings.TrimSpace(h("Return-Path")) == "<>" {
		return "empty return-path"
	}
	local, _, _ := strings.Cut(from, "@")
	switch strings.ToLower(local) {
	case "mailer-daemon", "postmaster":
		return "sender: " + strings.ToLower(local)
	}
	for _, name := range []string{"X-Autoreply", "X-Autorespond", "X-Autoresponder"} {
		if h(name) != "" {
			return strings.ToLower(name)
		}
	}
	if own != "" && strings.EqualFold(from, own) {
		return "from own address"
	}
	return ""
}

// bounceInfo is what a non-delivery report says about the mail it
// returns.
type bounceInfo struct {
	messageID  string // the returned mail's Message-ID, bare
	failed     bool   // delivery failed for good (not a delay warning)
	diagnostic string
}

var (
	bounceSubjectRe = regexp.MustCompile(`(?i)(undeliver|undelivered|delivery status notification|delivery failure|mail delivery failed|failure notice|returned mail|delivery has failed|non remis|unzustellbar|не доставлено|недоставлен)`)
	messageIDLineRe = regexp.MustCompile(`(?im)^\s*message-id:\s*<([^<>\s]+)>`)
	smtpStatusRe    = regexp.MustCompile(`\b[45]\d\d[ -][45]\.\d{1,3}\.\d{1,3}\b.*|\b5\d\d\s.*`)
)

// findBounce recognizes a delivery status report (multipart/report,
// RFC 3464) or a classic plain-text bounce from a mailer daemon, and
// reads which mail it returns and why. nil: not a bounce.
func findBounce(env *enmime.Envelope, h func(string) string, text string) *bounceInfo {
	root := env.Root
	if root != nil && root.ContentType == "multipart/report" {
		if b := reportBounce(root); b != nil {
			return b
		}
	}
	from := strings.ToLower(firstAddress(h("From")))
	local, _, _ := strings.Cut(from, "@")
	daemon := local == "mailer-daemon" || local == "postmaster" || strings.TrimSpace(h("Return-Path")) == "<>"
	if !daemon || !bounceSubjectRe.MatchString(h("Subject")) {
		return nil
	}
	b := &bounceInfo{failed: true}
	// The returned mail travels in the body or in an attached part.
	sources := []string{text, env.Text}
	if root != nil {
		_ = root.DepthMatchAll(func(p *enmime.Part) bool {
			switch p.ContentType {
			case "message/rfc822", "text/rfc822-headers", "message/rfc822-headers":
				sources = append(sources, string(p.Content))
			}
			return false
		})
	}
	for _, s := range sources {
		if m := messageIDLineRe.FindStringSubmatch(s); m != nil {
			b.messageID = clean(m[1])
			break
		}
	}
	b.diagnostic = diagnosticLine(env.Text)
	return b
}

// reportBounce reads a multipart/report: the message/delivery-status
// part's per-recipient fields and the returned headers.
func reportBounce(root *enmime.Part) *bounceInfo {
	b := &bounceInfo{}
	isDSN := false
	var explanation string
	_ = root.DepthMatchAll(func(p *enmime.Part) bool {
		switch p.ContentType {
		case "message/delivery-status", "message/global-delivery-status":
			isDSN = true
			readDeliveryStatus(p.Content, b)
		case "message/rfc822", "text/rfc822-headers", "message/rfc822-headers", "message/global", "message/global-headers":
			if b.messageID == "" {
				hdr, _ := splitMessage(p.Content)
				if m := idRe.FindStringSubmatch(parseFields(hdr).get("Message-Id")); m != nil {
					b.messageID = clean(m[1])
				}
			}
		case "text/plain":
			if explanation == "" {
				explanation = string(p.Content)
			}
		}
		return false
	})
	if !isDSN {
		return nil
	}
	if b.diagnostic == "" {
		b.diagnostic = diagnosticLine(explanation)
	}
	return b
}

// readDeliveryStatus reads the per-message and per-recipient blocks of a
// delivery-status part; one failed recipient fails the mail (inboxd
// sends each reply to one recipient).
func readDeliveryStatus(content []byte, b *bounceInfo) {
	blocks := strings.Split(strings.ReplaceAll(string(content), "\r\n", "\n"), "\n\n")
	for _, block := range blocks {
		f := parseFields([]byte(block))
		action := strings.ToLower(strings.TrimSpace(f.get("Action")))
		status := strings.TrimSpace(f.get("Status"))
		if action != "failed" && !(action == "" && strings.HasPrefix(status, "5")) {
			continue
		}
		b.failed = true
		if b.diagnostic != "" {
			continue
		}
		diag := f.get("Diagnostic-Code")
		if _, rest, ok := strings.Cut(diag, ";"); ok {
			diag = rest
		}
		diag = strings.TrimSpace(diag)
		switch {
		case diag != "":
			b.diagnostic = truncate(oneLine(clean(diag)), 500)
		case status != "":
			b.diagnostic = "status " + truncate(oneLine(clean(status)), 100)
		}
	}
}

// diagnosticLine picks the line of a bounce's text that states the SMTP
// error, else its first line.
func diagnosticLine(text string) string {
	text = clean(text)
	if m := smtpStatusRe.FindString(text); m != "" {
		return truncate(oneLine(m), 500)
	}
	for _, l := range strings.Split(text, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return truncate(l, 500)
		}
	}
	return "delivery failed"
}
