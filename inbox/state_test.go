package inbox

import (
	"testing"
	"time"
)

func TestDecide(t *testing.T) {
	anna := &User{ID: 1, Role: RoleAgent, Queues: []string{"support"}}
	bob := &User{ID: 2, Role: RoleAgent, Queues: []string{"support"}}
	admin := &User{ID: 3, Role: RoleAdmin}
	withAnna := []Participant{{ID: 1}}
	tests := []struct {
		name     string
		status   Status
		parts    []Participant
		owner    int64
		actor    *User
		action   Action
		want     Status
		activity ActivityKind
		code     string
	}{
		{"reply takes unassigned", StatusUnassigned, nil, 0, anna, ActionReply, StatusActive, ActivityAssigned, ""},
		{"reply by participant", StatusActive, withAnna, 1, anna, ActionReply, StatusActive, "", ""},
		{"reply by other agent", StatusActive, withAnna, 1, bob, ActionReply, StatusActive, "", EConflict},
		{"reply by admin non-participant", StatusActive, withAnna, 1, admin, ActionReply, StatusActive, "", EConflict},
		{"reply reopens closed for participant", StatusInactive, withAnna, 1, anna, ActionReply, StatusActive, ActivityReopened, ""},
		{"reply on closed by stranger", StatusInactive, withAnna, 1, bob, ActionReply, StatusInactive, "", EConflict},
		{"join active", StatusActive, withAnna, 1, bob, ActionJoin, StatusActive, ActivityJoined, ""},
		{"join unassigned takes it", StatusUnassigned, nil, 0, bob, ActionJoin, StatusActive, ActivityAssigned, ""},
		{"join twice is a no-op", StatusActive, withAnna, 1, anna, ActionJoin, StatusActive, "", ""},
		{"join closed", StatusInactive, withAnna, 1, bob, ActionJoin, StatusInactive, "", EConflict},
		{"leave last", StatusActive, withAnna, 1, anna, ActionLeave, StatusUnassigned, ActivityLeft, ""},
		{"leave not participant", StatusActive, withAnna, 1, bob, ActionLeave, StatusActive, "", EConflict},
		{"leave with others", StatusActive, []Participant{{ID: 1}, {ID: 2}}, 1, anna, ActionLeave, StatusActive, ActivityLeft, ""},
		{"close by participant", StatusActive, withAnna, 1, anna, ActionClose, StatusInactive, ActivityClosed, ""},
		{"close by admin", StatusUnassigned, nil, 0, admin, ActionClose, StatusInactive, ActivityClosed, ""},
		{"close by stranger", StatusActive, withAnna, 1, bob, ActionClose, StatusActive, "", EForbidden},
		{"close closed", StatusInactive, withAnna, 1, anna, ActionClose, StatusInactive, "", ""},
		{"unknown action", StatusActive, withAnna, 1, anna, Action("dance"), StatusActive, "", EInvalid},
	}
	for _, tt := range tests {
		c := &Conversation{Status: tt.status, Participants: tt.parts, OwnerID: tt.owner}
		tr, err := Decide(c, tt.actor, tt.action)
		if tt.code != "" {
			if ErrorCode(err) != tt.code {
				t.Errorf("%s: err = %v, want %s", tt.name, err, tt.code)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if tr.Status != tt.want || tr.Activity != tt.activity {
			t.Errorf("%s: got %s/%q, want %s/%q", tt.name, tr.Status, tr.Activity, tt.want, tt.activity)
		}
	}
}

func TestLeaveHandsOwnership(t *testing.T) {
	c := &Conversation{Status: StatusActive, OwnerID: 1, Participants: []Participant{{ID: 1}, {ID: 2}}}
	tr, _ := Decide(c, &User{ID: 1}, ActionLeave)
	if tr.Owner != 2 {
		t.Fatalf("owner after owner left = %d, want 2", tr.Owner)
	}
	tr, _ = Decide(c, &User{ID: 2}, ActionLeave)
	if tr.Owner != -1 {
		t.Fatalf("owner after a helper left = %d, want unchanged", tr.Owner)
	}
}

func TestDecideArrival(t *testing.T) {
	now := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	week := 7 * 24 * time.Hour
	tests := []struct {
		name string
		c    *Conversation
		want Arrival
	}{
		{"none", nil, ArrivalNew},
		{"open", &Conversation{Status: StatusActive}, ArrivalAppend},
		{"unassigned", &Conversation{Status: StatusUnassigned}, ArrivalAppend},
		{"closed recently", &Conversation{Status: StatusInactive, ClosedAt: now.Add(-time.Hour)}, ArrivalReopen},
		{"closed at the window's edge", &Conversation{Status: StatusInactive, ClosedAt: now.Add(-week)}, ArrivalReopen},
		{"closed long ago", &Conversation{Status: StatusInactive, ClosedAt: now.Add(-week - time.Second)}, ArrivalNew},
	}
	for _, tt := range tests {
		if got := DecideArrival(tt.c, now, week); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	if ReopenStatus(true) != StatusActive || ReopenStatus(false) != StatusUnassigned {
		t.Fatal("ReopenStatus")
	}
}

func TestAuthz(t *testing.T) {
	owner := &User{ID: 1, Role: RoleOwner}
	anna := &User{ID: 2, Role: RoleAgent, Queues: []string{"support"}}
	sales := &User{ID: 3, Role: RoleAgent, Queues: []string{"sales"}}
	any := &User{ID: 4, Role: RoleAgent}
	unassigned := &Conversation{Queue: "support", Status: StatusUnassigned}
	annas := &Conversation{Queue: "support", Status: StatusActive, Participants: []Participant{{ID: 2}}}
	tests := []struct {
		name       string
		u          *User
		c          *Conversation
		view, act  bool
		journalAll bool
	}{
		{"owner unassigned", owner, unassigned, true, true, true},
		{"owner other's", owner, annas, true, true, true},
		{"agent own", anna, annas, true, true, false},
		{"agent queue unassigned", anna, unassigned, true, true, false},
		{"agent other queue", sales, unassigned, false, false, false},
		{"agent other queue active", sales, annas, false, false, false},
		{"agent without queues sees unassigned", any, unassigned, true, true, false},
		{"agent without queues, colleague's", any, annas, false, true, false},
	}
	for _, tt := range tests {
		if got := CanView(tt.u, tt.c); got != tt.view {
			t.Errorf("%s: CanView = %v", tt.name, got)
		}
		if got := CanAct(tt.u, tt.c); got != tt.act {
			t.Errorf("%s: CanAct = %v", tt.name, got)
		}
		if got := CanViewJournal(tt.u); got != tt.journalAll {
			t.Errorf("%s: CanViewJournal = %v", tt.name, got)
		}
	}
}

func TestInboundValidate(t *testing.T) {
	ok := Inbound{ChannelID: "c", ExternalID: "1", Contact: ContactInfo{ExternalID: "x"}, Text: "hi"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		field string
		mod   func(*Inbound)
	}{
		{"message_id", func(i *Inbound) { i.ExternalID = "" }},
		{"contact.id", func(i *Inbound) { i.Contact.ExternalID = "" }},
		{"text", func(i *Inbound) { i.Text = "\xff" }},
		{"text", func(i *Inbound) { i.Text = "" }},
		{"text", func(i *Inbound) { i.Text = string(make([]byte, MaxTextBytes+1)) }},
		{"contact.name", func(i *Inbound) { i.Contact.Name = "a\xc3" }},
	}
	for _, b := range bad {
		in := ok
		b.mod(&in)
		err := in.Validate()
		var e *Error
		if err == nil || !asError(err, &e) || e.Field != b.field {
			t.Errorf("want error on %s, got %v", b.field, err)
		}
	}
}

func asError(err error, e **Error) bool {
	x, ok := err.(*Error)
	*e = x
	return ok
}
