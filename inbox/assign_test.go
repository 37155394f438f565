package inbox

import (
	"slices"
	"testing"
)

func TestDecideAssign(t *testing.T) {
	anna := &User{ID: 1, Name: "Anna", Role: RoleAgent, Queues: []string{"support"}}
	bob := &User{ID: 2, Name: "Bob", Role: RoleAgent, Queues: []string{"support"}}
	carl := &User{ID: 3, Name: "Carl", Role: RoleAgent, Queues: []string{"sales"}}
	admin := &User{ID: 4, Name: "Ada", Role: RoleAdmin}
	gone := &User{ID: 5, Name: "Gone", Role: RoleAgent, Deactivated: true}
	every := &User{ID: 6, Name: "Eve", Role: RoleAgent} // no queues: serves all
	unassigned := func() *Conversation { return &Conversation{Queue: "support", Status: StatusUnassigned} }
	annas := func() *Conversation {
		return &Conversation{Queue: "support", Status: StatusActive, OwnerID: 1, Participants: []Participant{{ID: 1}}}
	}
	annaAndBob := func() *Conversation {
		return &Conversation{Queue: "support", Status: StatusActive, OwnerID: 1, Participants: []Participant{{ID: 1}, {ID: 2}}}
	}
	closed := func() *Conversation {
		return &Conversation{Queue: "support", Status: StatusInactive, OwnerID: 1, Participants: []Participant{{ID: 1}}}
	}
	toUser := func(u *User) AssignTarget { return AssignTarget{User: u} }
	toQueue := func(q string) AssignTarget { return AssignTarget{Queue: q, QueueKnown: q == "support" || q == "sales"} }
	tests := []struct {
		name   string
		c      *Conversation
		actor  *User
		target AssignTarget
		code   string
		want   AssignPlan
	}{
		{"agent takes an unassigned chat of its queue", unassigned(), anna, toUser(anna), "",
			AssignPlan{Add: 1, Status: StatusActive, Queue: "support", Activity: ActivityAssigned}},
		{"agent cannot give an unassigned chat to another", unassigned(), anna, toUser(bob), EForbidden, AssignPlan{}},
		{"agent of another queue cannot take it", unassigned(), carl, toUser(carl), EForbidden, AssignPlan{}},
		{"owner hands over to a colleague and leaves", annas(), anna, toUser(bob), "",
			AssignPlan{Add: 2, Remove: []int64{1}, Status: StatusActive, Queue: "support", Activity: ActivityAssigned}},
		{"participant hands over: owner and actor leave", annaAndBob(), bob, toUser(every), "",
			AssignPlan{Add: 6, Remove: []int64{1, 2}, Status: StatusActive, Queue: "support", Activity: ActivityAssigned}},
		{"to a participant: it becomes owner", annaAndBob(), anna, toUser(bob), "",
			AssignPlan{Remove: []int64{1}, Status: StatusActive, Queue: "support", Activity: ActivityAssigned}},
		{"colleague not taking part cannot hand over", annas(), bob, toUser(bob), EForbidden, AssignPlan{}},
		{"admin assigns anything, stays out", annas(), admin, toUser(bob), "",
			AssignPlan{Add: 2, Remove: []int64{1}, Status: StatusActive, Queue: "support", Activity: ActivityAssigned}},
		{"admin reopens a closed one for the assignee", closed(), admin, toUser(bob), "",
			AssignPlan{Add: 2, Remove: []int64{1}, Status: StatusActive, Queue: "support", Activity: ActivityAssigned}},
		{"assignee not serving the queue", annas(), admin, toUser(carl), EConflict, AssignPlan{}},
		{"deactivated assignee", annas(), admin, toUser(gone), EConflict, AssignPlan{}},
		{"already the active owner", annas(), admin, toUser(anna), "", AssignPlan{Noop: true, Status: StatusActive, Queue: "support"}},
		{"participant transfers to another queue", annas(), anna, toQueue("sales"), "",
			AssignPlan{ClearAll: true, Status: StatusUnassigned, Queue: "sales", Activity: ActivityTransferred}},
		{"admin transfers", annaAndBob(), admin, toQueue("sales"), "",
			AssignPlan{ClearAll: true, Status: StatusUnassigned, Queue: "sales", Activity: ActivityTransferred}},
		{"agent cannot transfer an unassigned chat it is not in", unassigned(), anna, toQueue("sales"), EForbidden, AssignPlan{}},
		{"transfer to the same queue", annas(), anna, toQueue("support"), EConflict, AssignPlan{}},
		{"transfer to an unknown queue", annas(), anna, toQueue("nope"), EInvalid, AssignPlan{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecideAssign(tt.c, tt.actor, tt.target)
			if code := codeOf(err); code != tt.code {
				t.Fatalf("error %v (code %q), want code %q", err, code, tt.code)
			}
			if err != nil {
				return
			}
			if got.Add != tt.want.Add || !slices.Equal(got.Remove, tt.want.Remove) || got.ClearAll != tt.want.ClearAll ||
				got.Status != tt.want.Status || got.Queue != tt.want.Queue || got.Activity != tt.want.Activity || got.Noop != tt.want.Noop {
				t.Fatalf("plan %+v, want %+v", got, tt.want)
			}
		})
	}
}

func codeOf(err error) string {
	if err == nil {
		return ""
	}
	return ErrorCode(err)
}

func TestAssignableSaysWhy(t *testing.T) {
	carl := &User{ID: 3, Name: "Carl", Role: RoleAgent, Queues: []string{"sales"}}
	err := Assignable(carl, "support")
	if ErrorCode(err) != EConflict || ErrorMessage(err) != `Carl does not serve the queue "support"` {
		t.Fatalf("not serving: %v", err)
	}
	err = Assignable(&User{Name: "Gone", Deactivated: true}, "support")
	if ErrorCode(err) != EConflict || ErrorMessage(err) != "Gone is deactivated and cannot be assigned conversations" {
		t.Fatalf("deactivated: %v", err)
	}
}

func TestCanMention(t *testing.T) {
	c := &Conversation{Queue: "support", Status: StatusActive, OwnerID: 1, Participants: []Participant{{ID: 1}}}
	tests := []struct {
		u  *User
		ok bool
	}{
		{&User{ID: 2, Role: RoleAgent, Queues: []string{"support"}}, true}, // a colleague of the queue
		{&User{ID: 3, Role: RoleAgent, Queues: []string{"sales"}}, false},  // another queue
		{&User{ID: 4, Role: RoleAdmin}, true},
		{&User{ID: 5, Role: RoleAdmin, Deactivated: true}, false},
	}
	for _, tt := range tests {
		if err := CanMention(tt.u, c); (err == nil) != tt.ok || (err != nil && ErrorCode(err) != EInvalid) {
			t.Errorf("user %d: %v, want ok=%v", tt.u.ID, err, tt.ok)
		}
	}
}

func TestMentionIDs(t *testing.T) {
	got, err := mentionIDs([]int64{3, 2, 3, 7}, 7)
	if err != nil || !slices.Equal(got, []int64{3, 2}) {
		t.Fatalf("got %v, %v", got, err)
	}
	if _, err := mentionIDs([]int64{0}, 1); ErrorCode(err) != EInvalid {
		t.Fatalf("zero id: %v", err)
	}
	many := make([]int64, MaxMentions+1)
	for i := range many {
		many[i] = int64(i + 10)
	}
	if _, err := mentionIDs(many, 1); ErrorCode(err) != EInvalid {
		t.Fatalf("too many: %v", err)
	}
}

func TestNoteView(t *testing.T) {
	m := &Message{ID: 9, Direction: DirectionOut, Kind: KindNote, AuthorID: 1, AuthorName: "Anna", Text: "psst",
		Mentions: []Participant{{ID: 2, Name: "Bob"}}}
	v := m.View()
	if v.Kind != KindNote || v.Delivery != nil || v.Author == nil || v.Author.ID != 1 || len(v.Mentions) != 1 {
		t.Fatalf("note view %+v", v)
	}
	in := (&Message{Direction: DirectionIn, Text: "hi"}).View()
	if in.Kind != KindMessage || in.Mentions != nil {
		t.Fatalf("message view %+v", in)
	}
}
