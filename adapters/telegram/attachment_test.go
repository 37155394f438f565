package telegram

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/inboxtest"
)

func TestFetchAttachment(t *testing.T) {
	fake := newFakeBot(t)
	photo := bytes.Repeat([]byte{0xFF, 0xD8, 0x01}, 1000)
	fake.files["AgAC-large"] = fakeFile{path: "photos/file_7.jpg", data: photo, ctype: "image/jpeg"}
	fake.files["BQAC-doc"] = fakeFile{path: "documents/file 8.pdf", data: []byte("%PDF-1.4"), ctype: ""}
	env := newTestChannel(t, fake, inboxtest.NewIngester(), nil)
	ctx := context.Background()

	rc, ctype, err := env.ch.FetchAttachment(ctx, "AgAC-large")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, photo) || ctype != "image/jpeg" {
		t.Errorf("got %d bytes of %q, want %d bytes of image/jpeg", len(got), ctype, len(photo))
	}

	rc, ctype, err = env.ch.FetchAttachment(ctx, "BQAC-doc")
	if err != nil {
		t.Fatal(err)
	}
	if s := readAllString(t, rc); s != "%PDF-1.4" || ctype != "application/pdf" {
		t.Errorf("got %q of %q, want the PDF typed by its extension", s, ctype)
	}
	rc.Close()
	// Downloaded from api_base_url, not from api.telegram.org.
	if len(fake.downloads) != 2 || fake.downloads[0] != "photos/file_7.jpg" || fake.downloads[1] != "documents/file 8.pdf" {
		t.Errorf("downloads at the fake: %q", fake.downloads)
	}

	_, _, err = env.ch.FetchAttachment(ctx, "no-such-file")
	if inbox.ErrorCode(err) != inbox.ENotFound {
		t.Errorf("unknown file: %v, want not_found", err)
	}
	if strings.Contains(err.Error(), testToken) || strings.Contains(inbox.ErrorMessage(err), "Bad Request") {
		t.Errorf("error %q leaks the token or the provider's text to clients", err)
	}

	fake.srv.Close()
	_, _, err = env.ch.FetchAttachment(ctx, "AgAC-large")
	if inbox.ErrorCode(err) != inbox.EUnavailable {
		t.Errorf("Telegram down: %v, want unavailable", err)
	}
	if strings.Contains(err.Error(), "TEST-token") {
		t.Errorf("error %q holds the token", err)
	}
}
