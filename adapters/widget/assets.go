package widget

import (
	"embed"
	"io/fs"
)

//go:embed assets/widget.js assets/widget.css
var assets embed.FS

// Assets holds widget.js and widget.css, the widget itself: plain
// JavaScript and CSS, no build step, served by inboxd.
var Assets fs.FS = mustSub(assets, "assets")

func mustSub(f fs.FS, dir string) fs.FS {
	s, err := fs.Sub(f, dir)
	if err != nil {
		panic(err) // the embed pattern above guarantees the folder
	}
	return s
}
