package email

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jhillyerd/enmime/v2"
)

// nestedBomb is a mail whose first part is text and whose second opens n
// nested multiparts, none of them closed (20,000 levels are 1.2 MB).
func nestedBomb(n int) []byte {
	var b bytes.Buffer
	b.WriteString("From: Mallory <mallory@example.com>\nTo: support@example.com\nSubject: Nested\n" +
		"Message-ID: <nested@example.com>\nContent-Type: multipart/mixed; boundary=\"b0\"\n\n" +
		"--b0\nContent-Type: text/plain\n\nHello, first text\n")
	for i := range n {
		fmt.Fprintf(&b, "--b%d\nContent-Type: multipart/mixed; boundary=\"b%d\"\n\n", i, i+1)
	}
	fmt.Fprintf(&b, "--b%d\nContent-Type: text/plain\n\ndeep inside\n", n)
	return b.Bytes()
}

// partsBomb is a mail of n parts: a text one, then n-1 tiny ones (200,000
// parts are 1.4 MB).
func partsBomb(n int) []byte {
	var b bytes.Buffer
	b.WriteString("From: Mallory <mallory@example.com>\nTo: support@example.com\nSubject: Parts\n" +
		"Message-ID: <parts@example.com>\nContent-Type: multipart/mixed; boundary=\"b\"\n\n" +
		"--b\nContent-Type: text/plain\n\nHello, first text\n")
	for range n - 1 {
		b.WriteString("--b\n\nx\n")
	}
	b.WriteString("--b--\n")
	return b.Bytes()
}

// testLimits are the defaults with a frozen clock.
func testLimits() limits {
	lim := defaultLimits()
	t0 := time.Date(2025, 3, 3, 10, 0, 0, 0, time.UTC)
	lim.now = func() time.Time { return t0 }
	return lim
}

// checkOverLimit checks the message standing for a mail over a limit.
func checkOverLimit(t *testing.T, p Parsed, limit, id, subject string, says ...string) {
	t.Helper()
	in := p.Inbound
	if err := in.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if p.Limit != limit || in.Meta[MetaLimit] != limit {
		t.Fatalf("limit %q, meta %q, want %q (text %q)", p.Limit, in.Meta[MetaLimit], limit, in.Text)
	}
	if in.ExternalID != id || in.Subject != subject || in.Contact.ExternalID != "mallory@example.com" {
		t.Errorf("headers: id %q subject %q contact %q", in.ExternalID, in.Subject, in.Contact.ExternalID)
	}
	for _, s := range says {
		if !strings.Contains(in.Text, s) {
			t.Errorf("text %q does not say %q", in.Text, s)
		}
	}
	if !strings.Contains(in.Meta[MetaParseError], "over the "+limit+" limit") {
		t.Errorf("parse_error %q", in.Meta[MetaParseError])
	}
	if n := len(in.Attachments); n == 0 || in.Attachments[n-1].Name != OriginalName {
		t.Errorf("attachments %v, want the original", in.Attachments)
	}
}

func TestParseStopsAtDepthLimit(t *testing.T) {
	p := parseWithin("mail", nestedBomb(20000), testOpts, testLimits())
	checkOverLimit(t, p, LimitDepth, "nested@example.com", "Nested",
		"This mail is too complex to show", "more than 12 levels deep", "first text part", "\n\nHello, first text")
	if strings.Contains(p.Inbound.Text, "deep inside") {
		t.Errorf("the walk went past the limit: %q", p.Inbound.Text)
	}

	// Exactly at the limit the mail is read as usual.
	p = parseWithin("mail", nestedBomb(maxMIMEDepth-1), testOpts, testLimits())
	if p.Limit != "" || p.Inbound.Text != "Hello, first text" {
		t.Errorf("%d levels: limit %q text %q", maxMIMEDepth, p.Limit, p.Inbound.Text)
	}
}

func TestParseStopsAtPartsLimit(t *testing.T) {
	p := parseWithin("mail", partsBomb(200000), testOpts, testLimits())
	checkOverLimit(t, p, LimitParts, "parts@example.com", "Parts",
		"This mail is too complex to show", "more than 1000 MIME parts", "\n\nHello, first text")

	lim := testLimits()
	lim.parts = 10 // the root and 9 parts
	if p := parseWithin("mail", partsBomb(9), testOpts, lim); p.Limit != "" {
		t.Errorf("10 parts: limit %q", p.Limit)
	}
	checkOverLimit(t, parseWithin("mail", partsBomb(10), testOpts, lim), LimitParts, "parts@example.com", "Parts", "more than 10 MIME parts")
}

func TestParseStopsAtDecodedSizeLimit(t *testing.T) {
	mail := func(n int) []byte {
		data := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("z"), n))
		return []byte("From: Mallory <mallory@example.com>\nSubject: Big\nMessage-ID: <big@example.com>\n" +
			"Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\nContent-Type: text/plain\n\nSee attached.\n" +
			"--b\nContent-Type: application/octet-stream; name=\"a.bin\"\nContent-Transfer-Encoding: base64\n\n" +
			data + "\n--b--\n")
	}
	lim := testLimits()
	lim.decoded = 4000 // the text and the attachment after base64 decoding
	if p := parseWithin("mail", mail(3900), testOpts, lim); p.Limit != "" || len(p.Inbound.Attachments) != 2 {
		t.Errorf("3,900 bytes: limit %q attachments %d", p.Limit, len(p.Inbound.Attachments))
	}
	p := parseWithin("mail", mail(4100), testOpts, lim)
	checkOverLimit(t, p, LimitDecoded, "big@example.com", "Big",
		"This mail is too large to show: its parts decode to more than", "\n\nSee attached.")
	if len(p.Inbound.Attachments) != 1 {
		t.Errorf("attachments %d, want only the original", len(p.Inbound.Attachments))
	}
}

// stepClock moves on by step at every reading.
type stepClock struct {
	t     time.Time
	step  time.Duration
	reads int
}

func (c *stepClock) now() time.Time {
	c.reads++
	c.t = c.t.Add(c.step)
	return c.t
}

func TestParseStopsAtTimeBudget(t *testing.T) {
	// While walking the parts: a clock that moves a second per reading
	// runs out of a 10 s budget after about ten parts, not 200,000.
	clock := &stepClock{t: time.Unix(0, 0), step: time.Second}
	lim := defaultLimits()
	lim.now = clock.now
	lim.budget = func(int) time.Duration { return 10 * time.Second }
	sc, hit := scanMIME(partsBomb(200000), lim, clock.now().Add(lim.budget(0)))
	if hit == nil || hit.name != LimitTime || sc.parts > 12 {
		t.Fatalf("hit %v after %d parts", hit, sc.parts)
	}
	clock.reads = 0
	p := parseWithin("mail", partsBomb(200000), testOpts, lim)
	checkOverLimit(t, p, LimitTime, "parts@example.com", "Parts", "reading it took longer than inboxd allows", "\n\nHello, first text")
	if clock.reads > 20 {
		t.Errorf("%d clock readings: the walk did not stop early", clock.reads)
	}

	// While enmime reads: a one-part mail gives the walk no part to look
	// at the clock on; the reader handed to enmime stops it.
	lim = testLimits()
	lim.budget = func(int) time.Duration { return -time.Second }
	p = parseWithin("mail", simpleMail("slow@example.com", "Mallory <mallory@example.com>", "Slow", "body"), testOpts, lim)
	checkOverLimit(t, p, LimitTime, "slow@example.com", "Slow", "took longer", "\n\nbody")
}

// enmimeShape counts the parts and the multipart depth of enmime's tree.
func enmimeShape(p *enmime.Part, depth int) (parts, maxDepth int) {
	for ; p != nil; p = p.NextSibling {
		parts++
		d := depth
		if p.FirstChild != nil {
			d = depth + 1
		}
		n, cd := enmimeShape(p.FirstChild, depth+1)
		parts += n
		maxDepth = max(maxDepth, d, cd)
	}
	return parts, maxDepth
}

// crNested nests n multiparts whose inner ones start in a second part, on
// a line enmime takes for a delimiter only because a delimiter after a
// bare CR made it look for one anywhere in the next lines.
func crNested(n int) []byte {
	var b bytes.Buffer
	b.WriteString("Content-Type: multipart/mixed; boundary=\"b0\"\n\n")
	for i := range n {
		fmt.Fprintf(&b, "--b%d\n\none\rX--b%d\nfoo --b%d \nContent-Type: multipart/mixed; boundary=\"b%d\"\n\n", i, i, i, i+1)
	}
	fmt.Fprintf(&b, "--b%d\n\ndeep\n", n)
	return b.Bytes()
}

// The walk must see at least the parts and the nesting enmime builds, or
// a mail could pass the limits and still cost enmime what they prevent.
func TestScanMIMESeesWhatEnmimeBuilds(t *testing.T) {
	files, err := filepath.Glob("testdata/*.eml")
	if err != nil {
		t.Fatal(err)
	}
	mails := map[string][]byte{
		"nested":        nestedBomb(8),
		"nested closed": append(nestedBomb(8), []byte("--b8--\n--b7--\n--b3--\n--b0--\n")...),
		"parts":         partsBomb(50),
		"boundary one byte in": []byte("Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\nx--b\n\ntwo\n" +
			"--b\nContent-Type: multipart/alternative; boundary=c\n\npreamble --c\n\nthree\n--c\n\nfour\n--b--\n"),
		"no boundary parameter":     []byte("Content-Type: multipart/mixed\n\n--\n\none\n-- \n\ntwo\n"),
		"boundaries after bare CRs": crNested(6),
		"text with boundary":        []byte("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain; boundary=c\n\n--c\n\nx\n--b--\n"),
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		mails[f] = raw
	}
	for name, raw := range mails {
		root, err := mimeParser.ReadParts(bytes.NewReader(raw))
		if err != nil {
			continue
		}
		parts, depth := enmimeShape(root, 0)
		sc, hit := scanMIME(raw, testLimits(), time.Now().Add(time.Hour))
		if hit != nil {
			t.Errorf("%s: %v", name, hit)
		}
		if sc.parts < parts || sc.depth < depth {
			t.Errorf("%s: the walk saw %d parts %d deep, enmime built %d parts %d deep", name, sc.parts, sc.depth, parts, depth)
		}
	}
}

// chainsAtLimit is the costliest mail within the limits found so far: n
// chains of maxMIMEDepth multiparts, each closed only by the next chain's
// delimiter (enmime's work doubles with each level closed that way).
func chainsAtLimit(n int) []byte {
	var b bytes.Buffer
	b.WriteString("From: Mallory <mallory@example.com>\nSubject: Chains\nContent-Type: multipart/mixed; boundary=\"r\"\n\n")
	for c := range n {
		fmt.Fprintf(&b, "--r\nContent-Type: multipart/mixed; boundary=\"c%d_1\"\n\n", c)
		for l := 1; l < maxMIMEDepth-1; l++ {
			fmt.Fprintf(&b, "--c%d_%d\nContent-Type: multipart/mixed; boundary=\"c%d_%d\"\n\n", c, l, c, l+1)
		}
		fmt.Fprintf(&b, "--c%d_%d\nContent-Type: text/plain\n\nx\n", c, maxMIMEDepth-1)
	}
	return b.Bytes()
}

// BenchmarkParseBomb prints what the two bombs of the audit cost now, and
// the costliest mail found that stays within the limits:
//
//	go test -run='^$' -bench=ParseBomb -benchmem ./adapters/email/
func BenchmarkParseBomb(b *testing.B) {
	for _, bm := range []struct {
		name  string
		raw   []byte
		limit string
	}{
		{"nested20000", nestedBomb(20000), LimitDepth},
		{"parts200000", partsBomb(200000), LimitParts},
		{"within/unclosed12x80", chainsAtLimit(80), ""},
		// A 1 MB preamble line of bare CRs: each is a place enmime looks
		// for a boundary; looking for it anywhere after each was quadratic.
		{"within/crs1MB", []byte("Content-Type: multipart/mixed; boundary=b\n\n" +
			strings.Repeat("\rX", 1<<19) + "\n--b\n\nx\n--b--\n"), ""},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bm.raw)))
			for b.Loop() {
				if p := Parse("mail", bm.raw, testOpts); p.Limit != bm.limit {
					b.Fatalf("limit %q, want %q", p.Limit, bm.limit)
				}
			}
		})
	}
}
