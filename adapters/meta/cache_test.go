package meta

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
)

func TestProfileCacheBoundsAndFailureTTL(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pc := newProfileCache(3, time.Minute)
	for i := range 5 {
		pc.put(fmt.Sprint(i), Profile{Name: fmt.Sprint("n", i)}, true, now)
	}
	if pc.len() != 3 {
		t.Fatalf("cache holds %d, want 3", pc.len())
	}
	if _, _, known := pc.get("0", now); known {
		t.Error("the oldest entry survived eviction")
	}
	// Using an entry keeps it: "2" is touched, so "3" goes next.
	pc.get("2", now)
	pc.put("5", Profile{}, true, now)
	if _, _, known := pc.get("2", now); !known {
		t.Error("a recently used entry was evicted")
	}
	if _, _, known := pc.get("3", now); known {
		t.Error("the least recently used entry survived")
	}
	pc.put("bad", Profile{}, false, now)
	if _, ok, known := pc.get("bad", now.Add(30*time.Second)); !known || ok {
		t.Error("a fresh failure is not remembered")
	}
	if _, _, known := pc.get("bad", now.Add(2*time.Minute)); known {
		t.Error("an old failure is still remembered")
	}
	p, ok, known := pc.get("5", now.Add(time.Hour))
	if !known || !ok || p != (Profile{}) {
		t.Error("a success expired")
	}
}

func TestProfileRetriedAfterFailureTTL(t *testing.T) {
	env := newTestChannel(t, Messenger, "")
	body := readFixture(t, "messenger_text.json")
	env.post(body, testSecret) // no profile: failure remembered
	env.graph.profiles["6543210987654321"] = `{"name":"Grace Hopper"}`
	env.now = env.now.Add(profileFailTTL + time.Second)
	second := []byte(strings.ReplaceAll(string(body), "m_AG5Hz2", "m_second"))
	if w := env.post(second, testSecret); w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	got := env.ing.Stored()
	if len(got) != 2 || got[0].Contact.Name != "" || got[1].Contact.Name != "Grace Hopper" {
		t.Fatalf("names %q, %q", got[0].Contact.Name, got[len(got)-1].Contact.Name)
	}
}

func TestWebhookInstagramEdit(t *testing.T) {
	env := newTestChannel(t, Instagram, "")
	env.post(readFixture(t, "instagram_media.json"), testSecret)
	if w := env.post(readFixture(t, "instagram_events.json"), testSecret); w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	got := env.ing.Stored()
	if len(got) != 5 { // 4 messages + the unsupported one; edits change, not add
		t.Fatalf("stored %d", len(got))
	}
	if got[2].Text != "Love this so much!" || got[3].Text != "[message deleted by the customer]" {
		t.Errorf("edits not applied: %q, %q", got[2].Text, got[3].Text)
	}
	ups := env.ing.DeliveryUpdates()
	if len(ups) != 2 || ups[0].State != inbox.DeliveryRead || ups[1].State != inbox.DeliverySent {
		t.Errorf("updates %+v", ups)
	}
}

func TestSentLogBounds(t *testing.T) {
	s := newSentLog(2)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range sentPerContact + 5 {
		s.record("a", fmt.Sprint("a", i), at.Add(time.Duration(i)*time.Second))
	}
	if ups := s.resolve("ch", Watermark{Contact: "a", State: inbox.DeliveryRead, At: at.Add(time.Hour)}); len(ups) != sentPerContact {
		t.Errorf("remembered %d sends for one contact, want %d", len(ups), sentPerContact)
	}
	s.record("b", "b0", at)
	s.record("c", "c0", at)
	if ups := s.resolve("ch", Watermark{Contact: "a", State: inbox.DeliveryRead, At: at.Add(time.Hour)}); len(ups) != 0 {
		t.Error("the least recent contact was not evicted")
	}
	if len(s.byMid) != 2 {
		t.Errorf("%d ids indexed after eviction, want 2", len(s.byMid))
	}
	// Only sends at or before the watermark are covered.
	if ups := s.resolve("ch", Watermark{Contact: "c", State: inbox.DeliveryRead, At: at.Add(-time.Second)}); len(ups) != 0 {
		t.Error("a send after the watermark was reported")
	}
}
