package telegram

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxMessageLen is sendMessage's text limit. Telegram counts UTF-16 code
// units, so an emoji outside the BMP counts twice.
const maxMessageLen = 4096

// splitMessage cuts s into chunks of at most limit UTF-16 units, in order,
// preferring to cut between paragraphs, then lines, then sentences, then
// words; only a single word longer than limit is cut mid-word. The
// whitespace at a cut is dropped; nothing else is.
func splitMessage(s string, limit int) []string {
	var out []string
	s = strings.TrimSpace(s)
	for utf16Len(s) > limit {
		head := s[:prefixBytes(s, limit)]
		i := cutAt(head)
		out = append(out, strings.TrimRightFunc(s[:i], unicode.IsSpace))
		s = strings.TrimLeftFunc(s[i:], unicode.IsSpace)
	}
	if s != "" {
		out = append(out, s)
	}
	return out
}

// cutAt returns where to end the chunk taken from head (head is as long
// as a chunk may be). A paragraph, line or sentence break counts only in
// the second half, so that a break near the start does not yield a tiny
// message.
func cutAt(head string) int {
	half := len(head) / 2
	if i := strings.LastIndex(head, "\n\n"); i > half {
		return i
	}
	if i := strings.LastIndexByte(head, '\n'); i > half {
		return i
	}
	best := -1
	for _, end := range []string{". ", "! ", "? ", "… ", ".\t", "!\t", "?\t"} {
		if i := strings.LastIndex(head, end); i > best {
			best = i + len(end) - 1 // keep the punctuation, cut at the space
		}
	}
	if best > half {
		return best
	}
	if i := strings.LastIndexFunc(head, unicode.IsSpace); i > 0 {
		return i
	}
	return len(head)
}

// prefixBytes returns the length in bytes of the longest prefix of s that
// is at most limit UTF-16 units, ending on a rune boundary; at least one
// rune, so that splitting always advances.
func prefixBytes(s string, limit int) int {
	units := 0
	for i, r := range s {
		n := 1
		if r >= 0x10000 {
			n = 2
		}
		if units+n > limit {
			if i == 0 {
				_, size := utf8.DecodeRuneInString(s)
				return size
			}
			return i
		}
		units += n
	}
	return len(s)
}

// utf16Len is the length of s as Telegram counts it.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x10000 {
			n++
		}
	}
	return n
}
