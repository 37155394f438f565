package email

import (
	"regexp"
	"strings"
)

// Quoted replies and signatures are cut from the displayed text: the
// conversation already shows the earlier messages, and the raw message
// stays attached (original.eml) for anyone who needs the full text.

var (
	// "On Mon, 3 Mar 2025 at 10:02, Jane <jane@example.com> wrote:" and
	// its translations; Gmail wraps long ones over two lines, so the
	// pattern is matched against a line joined with the next one.
	attributionRe = regexp.MustCompile(`(?i)^(on|am|le|el|op|il|em|den|dne)\s.{4,}\b(wrote|schrieb|a écrit|escribió|schreef|ha scritto|escreveu|skrev|napsal)\b.*:\s*$`)
	// Russian clients: "3 марта 2025 г., в 10:02, Иван <ivan@example.ru> написал(а):"
	// and "10.03.2025 10:02, Иван пишет:".
	attributionRuRe = regexp.MustCompile(`(?i)^.{4,}(написал|написала|написал\(а\)|пишет)\s*:\s*$`)
	// Outlook: "-----Original Message-----" and translations.
	originalMessageRe = regexp.MustCompile(`(?i)^\s*-{2,}\s*(original message|ursprüngliche nachricht|message d'origine|mensaje original|исходное сообщение|oorspronkelijk bericht)\s*-{2,}\s*$`)
	// Outlook's newer header block: "From: ..." followed by "Sent: ..."
	// or "Date: ..." within the next lines.
	outlookFromRe = regexp.MustCompile(`(?i)^\*?(from|von|de|от)\s*:\*?\s+\S`)
	outlookSentRe = regexp.MustCompile(`(?i)^\*?(sent|date|gesendet|envoyé|enviado|отправлено|дата)\s*:\*?\s+\S`)
	// The underscore rule Outlook puts above that block.
	underscoreRuleRe = regexp.MustCompile(`^_{10,}\s*$`)
	// Mobile clients' footers behave like signatures.
	mobileFooterRe = regexp.MustCompile(`(?i)^(sent from my |get outlook for |отправлено с моего )`)
	// Forwarded mail is content, not a quote.
	forwardSubjectRe = regexp.MustCompile(`(?i)^\s*(fwd?|wg|tr|rv|пересл)\s*:`)
	forwardMarkerRe  = regexp.MustCompile(`(?i)^\s*-{2,}\s*(forwarded message|begin forwarded message|weitergeleitete nachricht|пересылаемое сообщение)`)
)

// stripQuoted returns the new part of a reply's text: it cuts at the first
// quote attribution (Gmail, Outlook, Apple Mail), drops "> " lines and
// the signature. It reports whether anything was cut. A text that would
// end up empty is returned whole: showing a quote beats showing nothing.
func stripQuoted(text, subject string) (string, bool) {
	text = strings.TrimSpace(text)
	if text == "" || isForward(text, subject) {
		return text, false
	}
	lines := strings.Split(text, "\n")
	cut := len(lines)
	for i := range lines {
		if isQuoteStart(lines, i) {
			cut = i
			break
		}
	}
	kept := make([]string, 0, cut)
	for _, l := range lines[:cut] {
		if strings.HasPrefix(l, ">") {
			continue
		}
		kept = append(kept, l)
	}
	kept = cutSignature(kept)
	out := strings.TrimSpace(collapseBlankLines(kept))
	if out == "" {
		return text, false
	}
	return out, out != text
}

func isForward(text, subject string) bool {
	if forwardSubjectRe.MatchString(subject) {
		return true
	}
	for _, l := range strings.SplitN(text, "\n", 40) {
		if forwardMarkerRe.MatchString(l) {
			return true
		}
	}
	return false
}

func isQuoteStart(lines []string, i int) bool {
	l := strings.TrimSpace(lines[i])
	if l == "" {
		return false
	}
	if originalMessageRe.MatchString(l) {
		return true
	}
	if isAttribution(l) {
		return true
	}
	if i+1 < len(lines) && len(l) < 200 && isAttribution(l+" "+strings.TrimSpace(lines[i+1])) {
		return true
	}
	if underscoreRuleRe.MatchString(l) && i+1 < len(lines) && outlookFromRe.MatchString(strings.TrimSpace(lines[i+1])) {
		return true
	}
	if outlookFromRe.MatchString(l) {
		for j := i + 1; j < len(lines) && j <= i+3; j++ {
			if outlookSentRe.MatchString(strings.TrimSpace(lines[j])) {
				return true
			}
		}
	}
	return false
}

// isAttribution matches "On <date>, <who> wrote:" lines; the date's
// digits tell them from a sentence that happens to say "wrote:".
func isAttribution(l string) bool {
	if !strings.ContainsAny(l, "0123456789") {
		return false
	}
	return attributionRe.MatchString(l) || attributionRuRe.MatchString(l)
}

// cutSignature drops everything from the "-- " separator (RFC 3676), or a
// mobile footer among the last lines.
func cutSignature(lines []string) []string {
	for i, l := range lines {
		if l == "-- " || l == "--" {
			return lines[:i]
		}
	}
	nonEmpty := 0
	for i := len(lines) - 1; i >= 0 && nonEmpty < 3; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" {
			continue
		}
		nonEmpty++
		if mobileFooterRe.MatchString(l) {
			return lines[:i]
		}
	}
	return lines
}

func collapseBlankLines(lines []string) string {
	var b strings.Builder
	blank := 0
	for _, l := range lines {
		l = strings.TrimRight(l, " \t")
		if l == "" {
			blank++
			if blank > 1 {
				continue
			}
		} else {
			blank = 0
		}
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}
