package inbox

import (
	"encoding/json"
	"slices"
	"testing"
	"time"
)

func TestWebhookEventsOf(t *testing.T) {
	conv := func(kind EventKind, status Status, parts []int64, payload string) *Event {
		return &Event{ID: 7, Kind: kind, ConversationID: 3, Queue: "support", Status: status, Participants: parts,
			Payload: json.RawMessage(payload)}
	}
	summary := `{"id":3,"status":"active"}`
	for _, tc := range []struct {
		name    string
		prev, e *Event
		want    []WebhookEvent
	}{
		{"created", nil, conv(EventConversationCreated, StatusUnassigned, nil, summary), []WebhookEvent{HookConversationCreated}},
		{"message", nil, conv(EventMessageCreated, StatusActive, nil, `{}`), []WebhookEvent{HookMessageCreated}},
		{"edit", nil, conv(EventMessageUpdated, StatusActive, nil, `{}`), []WebhookEvent{HookMessageUpdated}},
		{"queue events raise nothing", nil, conv(EventQueueOpened, "", nil, `{}`), nil},
		{"typing raises nothing", nil, conv(EventTyping, StatusActive, nil, `{}`), nil},
		{"status change with no earlier event kept", nil, conv(EventConversationUpdated, StatusActive, []int64{1}, summary),
			[]WebhookEvent{HookConversationStatusChanged}},
		{"taken: status and participants change",
			conv(EventConversationCreated, StatusUnassigned, nil, summary),
			conv(EventConversationUpdated, StatusActive, []int64{1}, summary),
			[]WebhookEvent{HookConversationStatusChanged, HookConversationAssigned}},
		{"a colleague joins: participants only",
			conv(EventConversationUpdated, StatusActive, []int64{1}, summary),
			conv(EventConversationUpdated, StatusActive, []int64{2, 1}, summary),
			[]WebhookEvent{HookConversationAssigned}},
		{"same participants in another order: nothing",
			conv(EventConversationUpdated, StatusActive, []int64{1, 2}, summary),
			conv(EventConversationUpdated, StatusActive, []int64{2, 1}, summary),
			nil},
		{"assignee in the payload wins over participants",
			conv(EventConversationUpdated, StatusActive, []int64{1}, `{"assignee":{"id":1}}`),
			conv(EventConversationUpdated, StatusActive, []int64{1, 2}, `{"assignee":{"id":1}}`),
			nil},
		{"assignee changes",
			conv(EventConversationUpdated, StatusActive, []int64{1}, `{"assignee":{"id":1}}`),
			conv(EventConversationUpdated, StatusActive, []int64{1}, `{"assignee":{"id":2}}`),
			[]WebhookEvent{HookConversationAssigned}},
		{"tags change",
			conv(EventConversationUpdated, StatusActive, []int64{1}, `{"tags":["a"]}`),
			conv(EventConversationUpdated, StatusActive, []int64{1}, `{"tags": ["a", "b"]}`),
			[]WebhookEvent{HookConversationTagsChanged}},
		{"same tags, other spacing",
			conv(EventConversationUpdated, StatusInactive, []int64{1}, `{"tags":["a"]}`),
			conv(EventConversationUpdated, StatusInactive, []int64{1}, `{"tags": [ "a" ]}`),
			nil},
		{"close", conv(EventConversationUpdated, StatusActive, []int64{1}, summary),
			conv(EventConversationUpdated, StatusInactive, []int64{1}, summary), []WebhookEvent{HookConversationStatusChanged}},
		{"internal assigned kind", nil, conv(eventConversationAssigned, StatusActive, nil, `{}`), []WebhookEvent{HookConversationAssigned}},
		{"internal tags kind", nil, conv(eventConversationTagsChanged, StatusActive, nil, `{}`), []WebhookEvent{HookConversationTagsChanged}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := WebhookEventsOf(tc.prev, tc.e); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestWebhookSubscriberWants(t *testing.T) {
	s := WebhookSubscriber{Events: []WebhookEvent{HookMessageCreated, HookConversationCreated}, Queues: []string{"support"}}
	msg := &Event{Kind: EventMessageCreated, Queue: "support", Payload: json.RawMessage(`{"text":"hi"}`)}
	note := &Event{Kind: EventMessageCreated, Queue: "support", Payload: json.RawMessage(`{"text":"psst","kind":"note"}`)}
	sales := &Event{Kind: EventMessageCreated, Queue: "sales", Payload: json.RawMessage(`{}`)}
	if !s.Wants(HookMessageCreated, msg) {
		t.Fatal("a subscribed message is not wanted")
	}
	if s.Wants(HookMessageUpdated, msg) {
		t.Fatal("an unsubscribed event is wanted")
	}
	if s.Wants(HookMessageCreated, note) {
		t.Fatal("a note is sent without include_notes")
	}
	if s.Wants(HookMessageCreated, sales) {
		t.Fatal("another queue's event is wanted")
	}
	s.IncludeNotes, s.Queues = true, nil
	if !s.Wants(HookMessageCreated, note) || !s.Wants(HookMessageCreated, sales) {
		t.Fatal("include_notes and no queue filter should take the note and every queue")
	}
}

func TestWebhookEnvelope(t *testing.T) {
	e := &Event{ID: 42, Kind: EventConversationUpdated, ConversationID: 3,
		CreatedAt: time.Date(2026, 12, 2, 10, 0, 0, 0, time.FixedZone("x", 3600)), Payload: json.RawMessage(`{"id":3}`)}
	d := NewWebhookDelivery(e, HookConversationStatusChanged, e.Payload)
	got := string(d.Envelope())
	want := `{"id":"42:conversation.status_changed","event":"conversation.status_changed","created_at":"2026-12-02T09:00:00Z","data":{"id":3}}`
	if got != want {
		t.Fatalf("envelope\n got %s\nwant %s", got, want)
	}
}

func TestWebhookRules(t *testing.T) {
	owner, admin, agent := &User{Role: RoleOwner}, &User{Role: RoleAdmin}, &User{Role: RoleAgent}
	if !CanSeeWebhooks(owner) || !CanSeeWebhooks(admin) || CanSeeWebhooks(agent) || CanSeeWebhooks(nil) {
		t.Fatal("CanSeeWebhooks: owners and admins only")
	}
	if !CanReplayWebhooks(owner) || CanReplayWebhooks(admin) || CanReplayWebhooks(agent) {
		t.Fatal("CanReplayWebhooks: owners only")
	}
	for _, tc := range []struct {
		from, cursor, newest int64
		code                 string
	}{
		{5, 10, 20, ""}, {10, 10, 20, ""}, {0, 10, 20, ""},
		{-1, 10, 20, EInvalid}, {21, 20, 20, EInvalid}, {11, 10, 20, EConflict},
	} {
		err := CheckReplay(tc.from, tc.cursor, tc.newest)
		if ErrorCode(err) != tc.code && !(tc.code == "" && err == nil) {
			t.Errorf("CheckReplay(%d, %d, %d) = %v, want code %q", tc.from, tc.cursor, tc.newest, err, tc.code)
		}
	}
}
