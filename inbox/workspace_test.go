package inbox

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestNormalizeTagName(t *testing.T) {
	for in, want := range map[string]string{
		"VIP": "vip", "  Billing  issue ": "billing issue", "v1.2": "v1.2", "Ärger": "ärger", "a-b_c": "a-b_c",
	} {
		if got, err := NormalizeTagName(in); err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "   ", "-x", "a,b", "<b>", `a"b`, strings.Repeat("x", MaxTagNameRunes+1), "a\x00"} {
		if _, err := NormalizeTagName(bad); ErrorCode(err) != EInvalid {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestNewTagColor(t *testing.T) {
	if tg, err := NewTag("x", "", time.Time{}); err != nil || tg.Color != DefaultTagColor {
		t.Fatalf("default: %+v %v", tg, err)
	}
	for _, bad := range []string{"red", "#fff", "#12345g", "javascript:x"} {
		if _, err := NewTag("x", bad, time.Time{}); ErrorCode(err) != EInvalid {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestTagSetAndDiff(t *testing.T) {
	got, err := NormalizeTagSet([]string{"VIP", "billing", "vip"})
	if err != nil || !slices.Equal(got, []string{"billing", "vip"}) {
		t.Fatalf("set: %v %v", got, err)
	}
	if _, err := NormalizeTagSet([]string{"ok", "<x>"}); ErrorCode(err) != EInvalid || err.(*Error).Field != "tags" {
		t.Fatalf("bad name: %v", err)
	}
	c := DiffTags([]string{"a", "b"}, []string{"b", "c"})
	if !slices.Equal(c.Added, []string{"c"}) || !slices.Equal(c.Removed, []string{"a"}) || !c.Changes() {
		t.Fatalf("diff: %+v", c)
	}
	if DiffTags([]string{"a"}, []string{"a"}).Changes() {
		t.Fatal("no change reported as one")
	}
}

func TestCannedRules(t *testing.T) {
	agent := &User{ID: 1, Role: RoleAgent, Queues: []string{"support"}}
	other := &User{ID: 2, Role: RoleAgent, Queues: []string{"sales"}}
	admin := &User{ID: 3, Role: RoleAdmin}
	every := &CannedReply{}
	support := &CannedReply{Queue: "support"}
	personal := &CannedReply{OwnerID: 1}
	cases := []struct {
		u            *User
		r            *CannedReply
		read, manage bool
	}{
		{agent, every, true, false}, {agent, support, true, false}, {agent, personal, true, true},
		{other, support, false, false}, {other, every, true, false}, {other, personal, false, false},
		{admin, support, true, true}, {admin, personal, false, false},
	}
	for i, c := range cases {
		if got := CanReadCanned(c.u, c.r); got != c.read {
			t.Errorf("case %d: read %v", i, got)
		}
		if got := CanManageCanned(c.u, c.r); got != c.manage {
			t.Errorf("case %d: manage %v", i, got)
		}
	}
	if !support.AppliesTo("support") || support.AppliesTo("sales") || !every.AppliesTo("sales") || !personal.AppliesTo("sales") {
		t.Fatal("AppliesTo")
	}
	if every.Scope() != "all" || support.Scope() != "queue:support" || personal.Scope() != "user:1" {
		t.Fatal("Scope")
	}
}

func TestCannedPlaceholders(t *testing.T) {
	r := &CannedReply{Shortcut: " /Thanks ", Title: "Thanks", Text: "Thanks {{contact.name}}! {{ agent.name }}, #{{conversation.number}} {{contact.email}} {not} {{"}
	if err := ValidateCanned(r); err != nil || r.Shortcut != "thanks" {
		t.Fatalf("valid: %v %q", err, r.Shortcut)
	}
	got := FillCanned(r.Text, CannedValues{ContactName: "Maria", ContactEmail: "m@example.com", AgentName: "Anna", ConversationNumber: 42})
	if want := "Thanks Maria! Anna, #42 m@example.com {not} {{"; got != want {
		t.Fatalf("fill: %q, want %q", got, want)
	}
	// The values are inserted as they are, never read as placeholders.
	if got := FillCanned("{{contact.name}}", CannedValues{ContactName: "{{agent.name}}", AgentName: "x"}); got != "{{agent.name}}" {
		t.Fatalf("value re-read: %q", got)
	}
	for _, text := range []string{"{{contact.phone}}", "{{ }}", "{{Contact.Name}}"} {
		err := ValidateCanned(&CannedReply{Shortcut: "x", Title: "x", Text: text})
		if ErrorCode(err) != EInvalid || err.(*Error).Field != "text" {
			t.Errorf("%q: %v", text, err)
		}
	}
	if err := ValidateCanned(&CannedReply{Shortcut: "x", Title: "x", Text: strings.Repeat("a", MaxCannedTextBytes+1)}); ErrorCode(err) != ETooLarge {
		t.Fatalf("long text: %v", err)
	}
	if err := ValidateCanned(&CannedReply{Shortcut: strings.Repeat("a", MaxCannedShortcutRunes+1), Title: "x", Text: "x"}); ErrorCode(err) != EInvalid {
		t.Fatalf("long shortcut: %v", err)
	}
}
