package email

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding/htmlindex"
)

// The lenient header scanner below reads what a strict parser gives up
// on (broken MIME, bounce report blocks): "Name: value" lines with folded
// continuations; anything else is skipped.

type fields map[string][]string

func (f fields) get(name string) string {
	if v := f[strings.ToLower(name)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// parseFields reads a block of header fields.
func parseFields(block []byte) fields {
	f := fields{}
	var name string
	for _, line := range strings.Split(strings.ReplaceAll(string(block), "\r\n", "\n"), "\n") {
		if line == "" {
			continue
		}
		if (line[0] == ' ' || line[0] == '\t') && name != "" {
			vs := f[name]
			vs[len(vs)-1] += " " + strings.TrimSpace(line)
			continue
		}
		i := strings.IndexByte(line, ':')
		if i <= 0 || strings.ContainsAny(line[:i], " \t") {
			name = ""
			continue
		}
		name = strings.ToLower(line[:i])
		f[name] = append(f[name], strings.TrimSpace(line[i+1:]))
	}
	return f
}

// splitMessage splits a message at the first empty line.
func splitMessage(raw []byte) (header, body []byte) {
	lf := bytes.Index(raw, []byte("\n\n"))
	crlf := bytes.Index(raw, []byte("\r\n\r\n"))
	switch {
	case crlf >= 0 && (lf < 0 || crlf < lf):
		return raw[:crlf], raw[crlf+4:]
	case lf >= 0:
		return raw[:lf], raw[lf+2:]
	}
	return raw, nil
}

// charsetReader decodes the charsets named in RFC 2047 words.
func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	enc, err := htmlindex.Get(strings.ToLower(strings.TrimSpace(charset)))
	if err != nil {
		return nil, fmt.Errorf("unknown charset %q", charset)
	}
	return enc.NewDecoder().Reader(input), nil
}
