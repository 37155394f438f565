package email

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jhillyerd/enmime/v2"
	"github.com/jhillyerd/enmime/v2/mediatype"
)

// Bounds on the work one mail may cost. enmime builds the whole MIME tree
// with one reader per level and no limit: 20,000 nested multiparts cost
// minutes, and each level that its own closing boundary does not end
// doubles the work (25 such levels take tens of seconds). Parse first
// walks the structure with scanMIME, which is iterative, stops at the
// first limit and costs at most maxMIMEDepth comparisons a line; only a
// mail within every limit reaches enmime.
const (
	// maxMIMEDepth is the deepest multipart nesting read. Real mail nests
	// 3 to 5 levels (mixed, alternative, related); enmime's cost doubles
	// with each level that is not closed properly, so the bound is low.
	maxMIMEDepth = 12
	// maxMIMEParts bounds the parts of a mail, multiparts included.
	maxMIMEParts = 1000
	// maxDecodedBytes bounds the part bodies after transfer decoding; it
	// is the fetch limit, so that a mail the poller fetched whole is
	// never refused for its size here.
	maxDecodedBytes = maxMessageBytes
	// parseBudget is the time a mail may take to read, plus a second per
	// parseBytesPerSecond of raw mail (a 40 MB mail may take 6 s).
	parseBudget         = time.Second
	parseBytesPerSecond = 8 << 20
	// maxFirstTextBytes bounds the first text part decoded for a mail
	// over a limit (its text is cut to inbox.MaxTextBytes anyway).
	maxFirstTextBytes = 256 << 10
)

// Names of the limits, in Meta["limit_exceeded"] and in the log.
const (
	LimitDepth   = "depth"
	LimitParts   = "parts"
	LimitDecoded = "decoded_size"
	LimitTime    = "time"
)

// limits is what parsing may cost; tests shrink it and inject the clock.
type limits struct {
	depth   int
	parts   int
	decoded int64
	// budget returns the time allowed for a raw mail of n bytes.
	budget func(n int) time.Duration
	now    func() time.Time
}

func defaultLimits() limits {
	return limits{
		depth:   maxMIMEDepth,
		parts:   maxMIMEParts,
		decoded: maxDecodedBytes,
		budget: func(n int) time.Duration {
			return parseBudget + time.Duration(int64(n)*int64(time.Second)/parseBytesPerSecond)
		},
		now: time.Now,
	}
}

// limitHit says which limit a mail went over, in words for the agent.
type limitHit struct {
	name   string // one of the Limit* names
	detail string
}

func (h *limitHit) Error() string { return h.name + ": " + h.detail }

// mimeScan is what the structure walk found.
type mimeScan struct {
	parts int
	depth int
	// firstText is the first text/plain part (its header and body), else
	// the first text/html one; nil when none was reached.
	firstText  []byte
	textIsHTML bool
}

// boundaryFrame is one open multipart.
type boundaryFrame struct {
	delim     []byte // "--" + boundary
	seenDelim bool   // false while in the preamble
	// anywhere: a delimiter after a bare CR was seen, after which enmime
	// looks for the next one anywhere in a line, as in a preamble.
	anywhere bool
}

// scanMIME walks the MIME structure of raw the way enmime will read it,
// line by line without recursion, and stops at the first limit. The clock
// is read every scanClockLines lines and at every part.
func scanMIME(raw []byte, lim limits, deadline time.Time) (mimeScan, *limitHit) {
	var sc mimeScan
	hdrEnd, bodyStart := headerEnd(raw, 0)
	mtype, boundary, _, cte := partType(raw[:hdrEnd])
	sc.parts = 1
	if !strings.HasPrefix(mtype, "multipart/") {
		return sc, sc.leaf(raw, 0, bodyStart, len(raw), mtype, cte, lim, nil)
	}
	// Without a boundary parameter enmime splits a multipart at every
	// "--" line, which is what an empty boundary does here too.
	stack := []boundaryFrame{{delim: []byte("--" + boundary)}}
	sc.depth = 1
	var decoded int64
	// The part being read: its header starts at partStart; in its header
	// until inHeader is false; a leaf from bodyAt on.
	partStart, bodyAt := -1, -1
	inHeader := false
	var leafType, leafCTE string
	endLeaf := func(end int) *limitHit {
		if partStart < 0 || inHeader || bodyAt < 0 {
			return nil
		}
		return sc.leaf(raw, partStart, bodyAt, end, leafType, leafCTE, lim, &decoded)
	}
	lines := 0
	for pos := bodyStart; pos < len(raw); {
		end := bytes.IndexByte(raw[pos:], '\n')
		if end < 0 {
			end = len(raw)
		} else {
			end += pos + 1
		}
		line := raw[pos:end]
		lines++
		if lines%scanClockLines == 0 && lim.now().After(deadline) {
			return sc, timeHit()
		}
		level, term := matchBoundary(stack, line, false)
		if level < 0 {
			if cut, at := crBoundary(stack, line); cut > 0 {
				// enmime also looks for a boundary two bytes after a bare
				// CR; the line ends there for it.
				end = pos + cut
				line = raw[pos:end]
				stack[at].anywhere = true
			}
		}
		if level >= 0 {
			if hit := endLeaf(pos); hit != nil {
				return sc, hit
			}
			stack = stack[:level+1]
			partStart, bodyAt, inHeader = -1, -1, false
			if term {
				stack = stack[:level]
				pos = end
				if len(stack) == 0 {
					break
				}
				continue
			}
			stack[level].seenDelim = true
			sc.parts++
			if sc.parts > lim.parts {
				return sc, &limitHit{LimitParts, fmt.Sprintf("it has more than %d MIME parts", lim.parts)}
			}
			if lim.now().After(deadline) {
				return sc, timeHit()
			}
			partStart, inHeader = end, true
			pos = end
			continue
		}
		if inHeader && isBlankLine(line) {
			inHeader = false
			mt, b, hasB, enc := partType(raw[partStart:pos])
			if hasB && b != "" && mt != "text/plain" && mt != "text/html" {
				if len(stack) >= lim.depth {
					return sc, &limitHit{LimitDepth, fmt.Sprintf("it nests MIME parts more than %d levels deep", lim.depth)}
				}
				stack = append(stack, boundaryFrame{delim: []byte("--" + b)})
				sc.depth = max(sc.depth, len(stack))
				partStart = -1
			} else {
				bodyAt, leafType, leafCTE = end, mt, enc
			}
		}
		pos = end
	}
	if inHeader && partStart >= 0 {
		// A header cut by the end of the mail is a part without body.
		leafType, _, _, leafCTE = partType(raw[partStart:])
		bodyAt, inHeader = len(raw), false
	}
	if hit := endLeaf(len(raw)); hit != nil {
		return sc, hit
	}
	return sc, nil
}

// scanClockLines is how many lines the walk reads between two looks at
// the clock.
const scanClockLines = 1024

func timeHit() *limitHit {
	return &limitHit{LimitTime, "reading it took longer than inboxd allows"}
}

// leaf counts a leaf part's decoded size and remembers the first text.
func (sc *mimeScan) leaf(raw []byte, start, body, end int, mtype, cte string, lim limits, total *int64) *limitHit {
	n := int64(end - body)
	if strings.EqualFold(strings.TrimSpace(cte), "base64") {
		n = n * 3 / 4
	}
	if total != nil {
		*total += n
		n = *total
	}
	if n > lim.decoded {
		return &limitHit{LimitDecoded, fmt.Sprintf("its parts decode to more than %d MB", lim.decoded>>20)}
	}
	isText := mtype == "" || mtype == "text/plain"
	if (isText && (sc.firstText == nil || sc.textIsHTML)) || (mtype == "text/html" && sc.firstText == nil) {
		stop := min(end, body+maxFirstTextBytes)
		if i := bytes.LastIndexByte(raw[body:stop], '\n'); stop < end && i >= 0 {
			stop = body + i + 1
		}
		sc.firstText, sc.textIsHTML = raw[start:stop], !isText
	}
	return nil
}

// matchBoundary finds the innermost open multipart whose delimiter or
// close the line is, as enmime's boundary reader finds them: "--boundary"
// then white space at the start of the line or one byte in,
// "--boundary--" at its start; in a preamble, anywhere in the line. A line
// that closes an outer multipart ends the inner ones too. lineStartOnly
// skips the multiparts matched anywhere.
func matchBoundary(stack []boundaryFrame, line []byte, lineStartOnly bool) (level int, term bool) {
	for i := len(stack) - 1; i >= 0; i-- {
		d := stack[i].delim
		lineStart := stack[i].seenDelim && !stack[i].anywhere
		if lineStartOnly && !lineStart {
			continue
		}
		search := line
		if lineStart {
			search = line[:min(len(line), len(d)+1)]
		}
		idx := bytes.Index(search, d)
		if idx < 0 || (lineStart && idx == 1 && line[0] == '\r') {
			continue
		}
		rest := line[idx+len(d):]
		if bytes.HasPrefix(rest, []byte("--")) && (idx == 0 || !lineStart) {
			return i, true
		}
		if len(rest) > 0 && isSpace(rest[0]) {
			return i, false
		}
	}
	return -1, false
}

// crBoundary returns where a boundary starts two bytes after a bare CR
// in line, and its level; 0 when none does.
func crBoundary(stack []boundaryFrame, line []byte) (cut, level int) {
	for i := 0; i+2 < len(line); i++ {
		j := bytes.IndexByte(line[i:len(line)-2], '\r')
		if j < 0 {
			return 0, -1
		}
		i += j
		if line[i+1] != '\n' {
			// Frames matched anywhere already failed on the whole line.
			if level, _ := matchBoundary(stack, line[i+2:], true); level >= 0 {
				return i + 2, level
			}
		}
	}
	return 0, -1
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'
}

func isBlankLine(line []byte) bool {
	return len(bytes.TrimRight(line, "\r\n")) == 0
}

// headerEnd returns where the header starting at from ends and where its
// body starts (after the empty line).
func headerEnd(raw []byte, from int) (end, body int) {
	for pos := from; pos < len(raw); {
		nl := bytes.IndexByte(raw[pos:], '\n')
		if nl < 0 {
			return len(raw), len(raw)
		}
		line := raw[pos : pos+nl+1]
		if isBlankLine(line) {
			return pos, pos + nl + 1
		}
		pos += nl + 1
	}
	return len(raw), len(raw)
}

// partType reads a part's header with enmime's own header reader and
// media type parser, so that the walk sees the multiparts enmime will.
func partType(header []byte) (mtype, boundary string, hasBoundary bool, cte string) {
	h, err := enmime.ReadHeader(bufio.NewReaderSize(bytes.NewReader(header), min(len(header)+16, 4096)), discardErrors{})
	if err != nil {
		return "", "", false, ""
	}
	mt, params, _, err := mediatype.Parse(h.Get("Content-Type"))
	if err != nil {
		return "", "", false, h.Get("Content-Transfer-Encoding")
	}
	b, ok := params["boundary"]
	return mt, b, ok, h.Get("Content-Transfer-Encoding")
}

type discardErrors struct{}

func (discardErrors) AddError(string, string, ...any)   {}
func (discardErrors) AddWarning(string, string, ...any) {}

// errParseBudget is what budgetReader returns once the deadline passed.
var errParseBudget = errors.New("parse time budget exceeded")

// budgetReader hands enmime the mail and fails its reads once the
// deadline has passed, which ends the parse early.
type budgetReader struct {
	r        io.Reader
	now      func() time.Time
	deadline time.Time
	expired  bool
}

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.expired || b.now().After(b.deadline) {
		b.expired = true
		return 0, errParseBudget
	}
	return b.r.Read(p)
}

// overLimit is the message standing for a mail over a limit: its headers
// as usual, a text saying which limit it went over, then the first text
// part when the walk reached one; the original stays attached.
func overLimit(channelID string, raw []byte, opts ParseOptions, sc mimeScan, hit *limitHit) Parsed {
	hdr, _ := splitMessage(raw)
	fields := parseFields(hdr)
	h := func(name string) string { return decodeWords(fields.get(name)) }
	in := baseInbound(channelID, raw, h, opts)
	in.Contact = contactFrom(h("From"), h("Sender"), h("Return-Path"), in.Meta)
	if rt := firstAddress(h("Reply-To")); rt != "" && !strings.EqualFold(rt, in.Contact.Email) {
		in.Meta[MetaReplyTo] = rt
	}
	in.Title = title(in.Contact, in.Subject)
	in.Attachments = attachments(nil, raw, in.Meta)
	what := "too complex"
	if hit.name == LimitDecoded {
		what = "too large"
	}
	text := fmt.Sprintf("(This mail is %s to show: %s. inboxd kept its headers", what, hit.detail)
	first := firstText(sc)
	if first != "" {
		text += " and its first text part, below"
	}
	if _, ok := in.Meta[MetaDropped]; ok {
		text += "; the original is too big to attach.)"
	} else {
		text += "; the original is attached as " + OriginalName + ".)"
	}
	if first != "" {
		text += "\n\n" + first
	}
	setText(&in, text)
	if r := autoReason(h, in.Contact.Email, opts.Address); r != "" {
		in.Auto = true
		in.Meta[MetaAutoReason] = r
	}
	in.Meta[MetaLimit] = hit.name
	addNote(in.Meta, "over the "+hit.name+" limit: "+hit.detail)
	finish(&in)
	return Parsed{Inbound: in, Limit: hit.name}
}

// firstText decodes the first text part the walk found; one part, of at
// most maxFirstTextBytes, costs enmime little.
func firstText(sc mimeScan) string {
	if sc.firstText == nil {
		return ""
	}
	env, err := mimeParser.ReadEnvelope(bytes.NewReader(sc.firstText))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(clean(env.Text))
}
