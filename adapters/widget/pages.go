package widget

import (
	"bytes"
	"compress/gzip"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/inboxd/inboxd/inbox"
)

// asset is a widget file served with its gzip form precomputed.
type asset struct {
	body, gz []byte
	ctype    string
}

func loadAssets(fsys fs.FS) map[string]asset {
	out := map[string]asset{}
	if fsys == nil {
		return out
	}
	types := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
	for _, name := range []string{"widget.js", "widget.css"} {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			continue
		}
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		zw.Write(b)
		zw.Close()
		out[name] = asset{body: b, gz: gz.Bytes(), ctype: types[path.Ext(name)]}
	}
	return out
}

func (a asset) serve(c echo.Context) error {
	h := c.Response().Header()
	h.Set("Content-Type", a.ctype)
	h.Add("Vary", "Accept-Encoding")
	if strings.Contains(c.Request().Header.Get("Accept-Encoding"), "gzip") {
		h.Set("Content-Encoding", "gzip")
		return c.Blob(http.StatusOK, a.ctype, a.gz)
	}
	return c.Blob(http.StatusOK, a.ctype, a.body)
}

func (h *HTTP) asset(name string) echo.HandlerFunc {
	return func(c echo.Context) error {
		a, ok := h.assets[name]
		if !ok {
			return inbox.Errorf(inbox.ENotFound, "the widget is not built into this inboxd")
		}
		hd := c.Response().Header()
		// Any site may load the script; what it may do is checked per call.
		hd.Set("Cross-Origin-Resource-Policy", "cross-origin")
		hd.Set("Cache-Control", "public, max-age=300")
		return a.serve(c)
	}
}

// demoCSP is the policy of inboxd's own widget page: scripts, styles and
// calls from inboxd only, no inline code, no framing, no forms elsewhere.
const demoCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

var demoPage = template.Must(template.New("demo").Parse(
	`<!doctype html><html lang="en"><head><meta charset="utf-8">` +
		`<meta name="viewport" content="width=device-width, initial-scale=1">` +
		`<title>{{.Channel}} · inboxd widget</title></head><body>` +
		`<h1>inboxd widget: {{.Channel}}</h1><p>This page embeds the widget of channel <code>{{.Channel}}</code> with:</p>` +
		`<textarea readonly rows="3" cols="36" aria-label="The snippet">` +
		`<script src="{{.Base}}/widget.js" data-channel="{{.Channel}}" async></script></textarea>` +
		`<script src="/widget.js" data-channel="{{.Channel}}" async></script></body></html>`))

// demo is a page of inboxd that embeds a channel's widget: to try it, and
// for the browser tests. Its policy allows inboxd's own files only.
func (h *HTTP) demo(c echo.Context) error {
	id := c.Param("channel")
	if _, ok := h.o.Channels[id]; !ok {
		return inbox.Errorf(inbox.ENotFound, "no widget channel %q", id)
	}
	var b bytes.Buffer
	data := struct{ Channel, Base string }{id, c.Scheme() + "://" + c.Request().Host}
	if err := demoPage.Execute(&b, data); err != nil {
		return err
	}
	hd := c.Response().Header()
	hd.Set("Content-Security-Policy", demoCSP)
	hd.Set("Cache-Control", "no-store")
	return c.HTMLBlob(http.StatusOK, b.Bytes())
}
