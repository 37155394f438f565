package inbox

import (
	"strings"
	"testing"
)

func TestLinkInputNormalize(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    LinkInput
		field string // "" = valid
	}{
		{"https", LinkInput{URL: "https://jira.example.com/browse/SUP-1", Title: "SUP-1", System: "jira"}, ""},
		{"http with port and query", LinkInput{URL: "http://10.0.0.5:8080/t?id=1#x"}, ""},
		{"spaces trimmed", LinkInput{URL: "  https://x.example/1  ", Title: "  a \t b  "}, ""},
		{"empty", LinkInput{}, "url"},
		{"javascript", LinkInput{URL: "javascript:alert(1)"}, "url"},
		{"data", LinkInput{URL: "data:text/html,<script>alert(1)</script>"}, "url"},
		{"ftp", LinkInput{URL: "ftp://files.example.com/a"}, "url"},
		{"relative", LinkInput{URL: "/conversations/1"}, "url"},
		{"scheme-relative", LinkInput{URL: "//evil.example/x"}, "url"},
		{"no host", LinkInput{URL: "https:///path"}, "url"},
		{"credentials", LinkInput{URL: "https://user:pw@jira.example.com/"}, "url"},
		{"inner space", LinkInput{URL: "https://x.example/a b"}, "url"},
		{"newline", LinkInput{URL: "https://x.example/a\nb"}, "url"},
		{"long url", LinkInput{URL: "https://x.example/" + strings.Repeat("a", MaxLinkURL)}, "url"},
		{"long title", LinkInput{URL: "https://x.example/", Title: strings.Repeat("é", MaxLinkTitle+1)}, "title"},
		{"title at the limit", LinkInput{URL: "https://x.example/", Title: strings.Repeat("é", MaxLinkTitle)}, ""},
		{"long system", LinkInput{URL: "https://x.example/", System: strings.Repeat("s", MaxLinkSystem+1)}, "system"},
		{"control in system", LinkInput{URL: "https://x.example/", System: "ji\x07ra"}, "system"},
		{"bad utf-8 title", LinkInput{URL: "https://x.example/", Title: "\xff"}, "title"},
		{"long external id", LinkInput{URL: "https://x.example/", ExternalID: strings.Repeat("1", MaxLinkExternalID+1)}, "external_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			err := in.Normalize()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Normalize() = %v, want ok", err)
				}
				return
			}
			e, ok := err.(*Error)
			if !ok || e.Code != EInvalid || e.Field != tc.field {
				t.Fatalf("Normalize() = %v, want invalid %s", err, tc.field)
			}
		})
	}
	in := LinkInput{URL: "  https://x.example/1 ", Title: " a \t b ", System: " jira "}
	if err := in.Normalize(); err != nil || in.URL != "https://x.example/1" || in.Title != "a b" || in.System != "jira" {
		t.Fatalf("normalized %+v, %v", in, err)
	}
}

func TestLinkRules(t *testing.T) {
	owner := &User{ID: 1, Role: RoleOwner}
	anna := &User{ID: 2, Role: RoleAgent, Queues: []string{"support"}}
	bob := &User{ID: 3, Role: RoleAgent, Queues: []string{"support"}}
	sam := &User{ID: 4, Role: RoleAgent, Queues: []string{"sales"}}
	annas := &Conversation{Queue: "support", Status: StatusActive, Participants: []Participant{{ID: 2}}}
	waiting := &Conversation{Queue: "support", Status: StatusUnassigned}
	for _, tc := range []struct {
		name             string
		u                *User
		c                *Conversation
		read, edit, tick bool
	}{
		{"owner on anything", owner, annas, true, true, true},
		{"participant", anna, annas, true, true, true},
		{"colleague of the queue: acts, does not see", bob, annas, false, true, false},
		{"queue agent on an unassigned one", bob, waiting, true, true, true},
		{"another queue's agent", sam, annas, false, false, false},
		{"another queue's agent, unassigned", sam, waiting, false, false, false},
	} {
		if got := CanReadLinks(tc.u, tc.c); got != tc.read {
			t.Errorf("%s: CanReadLinks = %v", tc.name, got)
		}
		if got := CanEditLinks(tc.u, tc.c); got != tc.edit {
			t.Errorf("%s: CanEditLinks = %v", tc.name, got)
		}
		if got := CanCreateTicket(tc.u, tc.c); got != tc.tick {
			t.Errorf("%s: CanCreateTicket = %v", tc.name, got)
		}
	}
}

func TestTicketTranscriptBounds(t *testing.T) {
	var ms []Message
	for i := 1; i <= TicketTranscriptMessages+1; i++ {
		ms = append(ms, Message{ID: int64(i), Direction: DirectionIn, Text: "m"})
	}
	got, truncated := transcript(ms)
	if !truncated || len(got) != TicketTranscriptMessages || got[0].ID != 2 || got[len(got)-1].ID != int64(len(ms)) {
		t.Fatalf("count bound: %d messages from %d, truncated %v", len(got), got[0].ID, truncated)
	}
	got, truncated = transcript(ms[:3])
	if truncated || len(got) != 3 || got[0].ID != 1 || got[2].ID != 3 {
		t.Fatalf("short transcript: %+v %v", got, truncated)
	}
	big := strings.Repeat("x", TicketTranscriptBytes/2)
	got, truncated = transcript([]Message{{ID: 1, Text: big}, {ID: 2, Text: big}, {ID: 3, Text: "newest"}})
	if !truncated || len(got) != 2 || got[0].ID != 2 || got[1].ID != 3 {
		t.Fatalf("byte bound keeps the newest: %d messages, truncated %v", len(got), truncated)
	}
	if got, _ := transcript(nil); got == nil {
		t.Fatal("an empty transcript is [] in JSON, not null")
	}
}

// TestNotesStayInside: a ticket's transcript takes customer messages and
// replies, never a private note.
func TestNotesStayInside(t *testing.T) {
	if !SharedOutside(&Message{Kind: KindMessage}) || !SharedOutside(&Message{}) || SharedOutside(&Message{Kind: KindNote}) {
		t.Fatal("SharedOutside lets a note out, or keeps a message in")
	}
}
