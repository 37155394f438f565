package inbox

import (
	"fmt"
	"strconv"
	"testing"
	"time"
)

// The planner's tests need no database: a group, what a store would have
// found, and the decisions.

var planNow = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func planRules() PlanRules {
	n := 0
	return PlanRules{
		Channels: map[string]ChannelInfo{
			"crm":  {ID: "crm", Kind: "webhook", Queue: "support"},
			"site": {ID: "site", Kind: "widget", Queue: "sales", NamedByNumber: true},
			"mail": {ID: "mail", Kind: "email", Queue: "support"},
		},
		ReopenWindow: 7 * 24 * time.Hour,
		NewToken:     func() string { n++; return "tok" + strconv.Itoa(n) },
	}
}

func inb(ch, ext, contact, text string) *Inbound {
	return &Inbound{ChannelID: ch, ExternalID: ext, Contact: ContactInfo{ExternalID: contact, Name: "N " + contact}, Text: text}
}

// lookups builds what a store would find: contact ids by channel and
// external id (in message order), plus the given conversations and stored messages.
func lookups(ins []*Inbound, convs ...*Conversation) *Lookups {
	lk := &Lookups{Stored: map[MessageKey]*Message{}, Conversations: map[int64]*Conversation{},
		Latest: map[ThreadRef]int64{}, ByToken: map[MessageKey]int64{}, ByReference: map[int]int64{}, Available: map[int64]bool{}}
	ids := map[string]int64{}
	for _, in := range ins {
		k := in.ChannelID + "/" + in.Contact.ExternalID
		id, ok := ids[k]
		if !ok {
			id = int64(len(ids) + 1)
			ids[k] = id
		}
		lk.Contacts = append(lk.Contacts, &Contact{ID: id, ChannelID: in.ChannelID, ExternalID: in.Contact.ExternalID, Name: in.Contact.Name})
	}
	for _, c := range convs {
		lk.Conversations[c.ID] = c
		lk.Latest[ThreadRef{ContactID: c.ContactID}] = c.ID
	}
	return lk
}

func outcomes(p *IngestPlan) string {
	s := ""
	for i, d := range p.Decisions {
		if i > 0 {
			s += " "
		}
		s += d.Outcome.String()
	}
	return s
}

func TestPlanArrivals(t *testing.T) {
	open := &Conversation{ID: 10, ContactID: 1, Queue: "support", ChannelID: "crm", Status: StatusActive, OwnerID: 7,
		Participants: []Participant{{ID: 7}}}
	recentActive := &Conversation{ID: 11, ContactID: 2, Queue: "support", Status: StatusInactive, OwnerID: 7,
		ClosedAt: planNow.Add(-time.Hour), Participants: []Participant{{ID: 7}}}
	recentNobody := &Conversation{ID: 12, ContactID: 3, Queue: "support", Status: StatusInactive, OwnerID: 8,
		ClosedAt: planNow.Add(-time.Hour), Participants: []Participant{{ID: 8}}}
	longAgo := &Conversation{ID: 13, ContactID: 4, Queue: "support", Status: StatusInactive,
		ClosedAt: planNow.Add(-8 * 24 * time.Hour)}
	ins := []*Inbound{
		inb("crm", "a", "c1", "append"),
		inb("crm", "b", "c2", "reopen active"),
		inb("crm", "c", "c3", "reopen unassigned"),
		inb("crm", "d", "c4", "after the window"),
		inb("crm", "e", "c5", "new contact"),
		inb("crm", "f", "c5", "new contact again"),
	}
	lk := lookups(ins, open, recentActive, recentNobody, longAgo)
	lk.Available[7] = true
	p := Plan(ins, lk, planRules(), planNow)
	if got, want := outcomes(p), "append reopen reopen new new append"; got != want {
		t.Fatalf("outcomes %q, want %q", got, want)
	}
	d := p.Decisions
	if d[0].Conv != open || d[0].Activity != nil || d[0].Kind != EventConversationUpdated {
		t.Errorf("append: %+v", d[0])
	}
	if recentActive.Status != StatusActive || recentActive.OwnerID != 7 || !recentActive.ClosedAt.IsZero() {
		t.Errorf("reopened with an available participant: %+v", recentActive)
	}
	if recentNobody.Status != StatusUnassigned || recentNobody.OwnerID != 0 {
		t.Errorf("reopened with nobody available: %+v", recentNobody)
	}
	if a := d[1].Activity; a == nil || a.Kind != ActivityReopened || a.Data["status"] != "active" || a.Data["by"] != "customer" {
		t.Errorf("reopen activity: %+v", a)
	}
	if d[3].Conv == longAgo || d[3].Kind != EventConversationCreated || d[3].Activity.Kind != ActivityCreated {
		t.Errorf("after the window: %+v", d[3])
	}
	if d[4].Conv != d[5].Conv || d[5].Kind != EventConversationUpdated {
		t.Error("a new contact's second message did not join the conversation its first opened")
	}
	if len(p.Created) != 2 || len(p.Messages) != 6 || len(p.Touched) != 5 {
		t.Errorf("rows: %d created, %d messages, %d touched", len(p.Created), len(p.Messages), len(p.Touched))
	}
	c := p.Created[1]
	if c.Queue != "support" || c.Title != "N c5" || c.Token != "tok2" || c.Status != StatusUnassigned || !c.LastInboundAt.Equal(planNow) {
		t.Errorf("new conversation: %+v", c)
	}
	if m := d[0].Message; m.Direction != DirectionIn || m.AuthorName != "N c1" || m.Text != "append" || m.ExternalID != "a" {
		t.Errorf("message: %+v", m)
	}
}

func TestPlanDuplicates(t *testing.T) {
	ins := []*Inbound{inb("crm", "stored", "c1", "again"), inb("crm", "x", "c2", "one"), inb("crm", "x", "c2", "one"),
		inb("site", "x", "c2", "same id, other channel")}
	lk := lookups(ins)
	lk.Stored[MessageKey{"crm", "stored"}] = &Message{ID: 5, ConversationID: 9, Text: "first"}
	p := Plan(ins, lk, planRules(), planNow)
	if got, want := outcomes(p), "duplicate new duplicate new"; got != want {
		t.Fatalf("outcomes %q, want %q", got, want)
	}
	if r := p.Decisions[0].Result; r != (IngestResult{MessageID: 5, ConversationID: 9, Duplicate: true}) {
		t.Errorf("stored duplicate: %+v", r)
	}
	if p.Decisions[2].DupOf != 1 || p.Decisions[0].DupOf != -1 {
		t.Errorf("group duplicate: DupOf %d, %d", p.Decisions[2].DupOf, p.Decisions[0].DupOf)
	}
	if len(p.Messages) != 2 {
		t.Errorf("%d messages to write, want 2", len(p.Messages))
	}
}

func TestPlanEdits(t *testing.T) {
	conv := &Conversation{ID: 9, ContactID: 1, Queue: "support", Status: StatusActive}
	edit := func(ext, text string) *Inbound {
		in := inb("crm", ext, "c1", text)
		in.Kind = InboundEdit
		return in
	}
	ins := []*Inbound{
		edit("stored", "corrected"),
		edit("stored", "corrected"), // the same edit again
		inb("crm", "new", "c1", "typo"),
		edit("new", "fixed"),
		edit("unknown", "an edit of what never came"),
	}
	lk := lookups(ins, conv)
	lk.Stored[MessageKey{"crm", "stored"}] = &Message{ID: 5, ConversationID: 9, ExternalID: "stored", Text: "orig"}
	p := Plan(ins, lk, planRules(), planNow)
	if got, want := outcomes(p), "edit duplicate append edit append"; got != want {
		t.Fatalf("outcomes %q, want %q", got, want)
	}
	d := p.Decisions
	if d[0].Message.ID != 5 || d[0].Message.Text != "corrected" || !d[0].Message.EditedAt.Equal(planNow) ||
		d[0].Activity.Kind != ActivityEdited || d[0].Activity.Data["previous_text"] != "orig" {
		t.Errorf("edit of a stored message: %+v %+v", d[0].Message, d[0].Activity)
	}
	if lk.Stored[MessageKey{"crm", "stored"}].Text != "orig" {
		t.Error("the planner changed a looked-up message")
	}
	if len(p.Edits) != 2 || len(p.Messages) != 2 {
		t.Fatalf("%d edits and %d messages to write", len(p.Edits), len(p.Messages))
	}
	// Ids come from apply: the edit of the group's own message gets it.
	p.Created = nil
	conv.ID = 9
	p.Placed()
	d[2].Message.ID = 42
	var kinds []string
	_, results := p.Settle(func(k EventKind, c *Conversation, m *Message) {
		s := string(k)
		if m != nil {
			s += ":" + m.Text
		}
		kinds = append(kinds, s)
	})
	if d[3].Message.ID != 42 || d[3].Activity.Data["message_id"] != "42" || d[3].Activity.Data["previous_text"] != "typo" {
		t.Errorf("edit of the group's message: %+v %+v", d[3].Message, d[3].Activity)
	}
	want := "[message.updated:corrected conversation.updated message.created:typo message.updated:fixed conversation.updated message.created:an edit of what never came]"
	if fmt.Sprint(kinds) != want {
		t.Errorf("events\n %v\nwant\n %s", kinds, want)
	}
	if results[1] != (IngestResult{MessageID: 5, ConversationID: 9, Duplicate: true}) || results[3].MessageID != 42 {
		t.Errorf("results %+v", results)
	}
}

func TestPlanEmailThreads(t *testing.T) {
	byToken := &Conversation{ID: 20, ContactID: 9, Queue: "support", Status: StatusActive}
	byRef := &Conversation{ID: 21, ContactID: 9, Queue: "support", Status: StatusActive}
	latest := &Conversation{ID: 22, ContactID: 1, Queue: "support", Status: StatusActive}
	token := inb("mail", "m1", "c1", "by token")
	token.ThreadToken = "abc"
	ref := inb("mail", "m2", "c1", "by reference")
	ref.References = []string{"<old@x>"}
	newThread := inb("mail", "m3", "c1", "new subject")
	newThread.References, newThread.Title = []string{"<unknown@x>"}, "Maria: invoice"
	answer := inb("mail", "m4", "c1", "answers m3")
	answer.References, answer.Title = []string{"<unknown@x>", "m3"}, "Re: invoice"
	plain := inb("mail", "m5", "c1", "no headers")
	ins := []*Inbound{token, ref, newThread, answer, plain}
	lk := lookups(ins, byToken, byRef, latest)
	lk.Latest = map[ThreadRef]int64{{ContactID: 1}: 22}
	lk.ByToken[MessageKey{"mail", "abc"}] = 20
	lk.ByReference[1] = 21
	p := Plan(ins, lk, planRules(), planNow)
	d := p.Decisions
	if d[0].Conv != byToken || d[1].Conv != byRef || d[2].Outcome != OutcomeNew || d[3].Conv != d[2].Conv {
		t.Fatalf("threads: %s; token %v ref %v", outcomes(p), d[0].Conv == byToken, d[1].Conv == byRef)
	}
	if d[2].Conv.Title != "Maria: invoice" {
		t.Errorf("a new thread's title %q", d[2].Conv.Title)
	}
	// A message without headers goes to the thread's newest conversation:
	// the one the group just opened.
	if d[4].Conv != d[2].Conv {
		t.Error("a plain message did not join the newest conversation")
	}
}

func TestPlanWidgetNamedByNumber(t *testing.T) {
	ins := []*Inbound{inb("site", "w1", "v1", "hi"), inb("crm", "x", "c2", "hi")}
	p := Plan(ins, lookups(ins), planRules(), planNow)
	for i, c := range p.Created {
		c.ID, c.Number = int64(100+i), int64(7+i)
	}
	p.Placed()
	if p.Created[0].Title != "#7" || p.Created[1].Title != "N c2" || p.Created[0].Queue != "sales" {
		t.Errorf("titles %q %q", p.Created[0].Title, p.Created[1].Title)
	}
	if p.Decisions[0].Message.ConversationID != 100 || p.Decisions[0].Activity.ConversationID != 100 {
		t.Error("Placed did not point the message and its activity at the new conversation")
	}
}

func TestPlanSettle(t *testing.T) {
	ins := []*Inbound{inb("crm", "a", "c1", "first"), inb("crm", "b", "c1", "second  message"), inb("crm", "a", "c1", "first")}
	p := Plan(ins, lookups(ins), planRules(), planNow)
	p.Created[0].ID = 3
	p.Placed()
	for i, m := range p.Messages {
		m.ID = int64(50 + i)
	}
	var evs []string
	var lastInbound []int64
	acts, results := p.Settle(func(k EventKind, c *Conversation, m *Message) {
		evs = append(evs, string(k))
		if m == nil {
			lastInbound = append(lastInbound, c.LastInboundID)
		}
	})
	if fmt.Sprint(evs) != "[conversation.created message.created conversation.updated message.created]" {
		t.Errorf("events %v", evs)
	}
	// Each conversation event shows the state after its own message.
	if fmt.Sprint(lastInbound) != "[50 51]" || p.Created[0].Preview != "second message" {
		t.Errorf("last inbound ids %v, preview %q", lastInbound, p.Created[0].Preview)
	}
	want := []IngestResult{{MessageID: 50, ConversationID: 3}, {MessageID: 51, ConversationID: 3}, {MessageID: 50, ConversationID: 3, Duplicate: true}}
	if fmt.Sprint(results) != fmt.Sprint(want) {
		t.Errorf("results %v, want %v", results, want)
	}
	if len(acts) != 1 || acts[0].Kind != ActivityCreated || acts[0].ConversationID != 3 {
		t.Errorf("activities %+v", acts)
	}
}

func TestPlanMissingContactFailsAlone(t *testing.T) {
	ins := []*Inbound{inb("crm", "a", "c1", "x"), inb("crm", "b", "c2", "y")}
	lk := lookups(ins)
	lk.Contacts[0] = nil
	p := Plan(ins, lk, planRules(), planNow)
	if p.Decisions[0].Outcome != OutcomeError || p.Decisions[0].Err == nil || p.Decisions[1].Outcome != OutcomeNew {
		t.Fatalf("outcomes %s", outcomes(p))
	}
}

// BenchmarkPlan: the planner's own cost for a group of 16 messages of 8
// contacts, half of them with an open conversation.
func BenchmarkPlan(b *testing.B) {
	var ins []*Inbound
	for i := range 16 {
		ins = append(ins, inb("crm", fmt.Sprintf("m%d", i), fmt.Sprintf("c%d", i%8), "hello there"))
	}
	r := planRules()
	b.ReportAllocs()
	for b.Loop() {
		var convs []*Conversation
		for k := int64(1); k <= 4; k++ {
			convs = append(convs, &Conversation{ID: 100 + k, ContactID: k, Queue: "support", Status: StatusActive})
		}
		Plan(ins, lookups(ins, convs...), r, planNow)
	}
}
