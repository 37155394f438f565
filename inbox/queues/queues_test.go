package queues

import (
	"strings"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/hours"
)

func TestContactFormValidate(t *testing.T) {
	qs := []Question{{ID: "topic", Label: "Topic", Required: true}, {ID: "order", Label: "Order"}}
	ok := func() ContactForm {
		return ContactForm{Name: " Maria ", Email: "maria@example.com", Message: "hi", Answers: map[string]string{"topic": "x"}}
	}
	cases := []struct {
		name  string
		edit  func(f *ContactForm)
		field string
	}{
		{"valid", func(f *ContactForm) {}, ""},
		{"no name", func(f *ContactForm) { f.Name = " " }, "name"},
		{"long name", func(f *ContactForm) { f.Name = strings.Repeat("ä", maxName+1) }, "name"},
		{"control in name", func(f *ContactForm) { f.Name = "a\nb" }, "name"},
		{"bad utf-8", func(f *ContactForm) { f.Name = "a\xffb" }, "name"},
		{"no email", func(f *ContactForm) { f.Email = "" }, "email"},
		{"no domain dot", func(f *ContactForm) { f.Email = "a@localhost" }, "email"},
		{"display name", func(f *ContactForm) { f.Email = "A <a@example.com>" }, "email"},
		{"no message", func(f *ContactForm) { f.Message = "" }, "message"},
		{"long message", func(f *ContactForm) { f.Message = strings.Repeat("x", maxMessage+1) }, "message"},
		{"required answer", func(f *ContactForm) { f.Answers = nil }, "answers.topic"},
		{"unknown answer", func(f *ContactForm) { f.Answers["zzz"] = "1" }, "answers.zzz"},
		{"long answer", func(f *ContactForm) { f.Answers["order"] = strings.Repeat("x", maxAnswer+1) }, "answers.order"},
	}
	for _, c := range cases {
		f := ok()
		c.edit(&f)
		err := f.Validate(qs)
		var field string
		if ie, isInbox := err.(*inbox.Error); isInbox {
			field = ie.Field
		} else if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if field != c.field {
			t.Errorf("%s: field %q, want %q (%v)", c.name, field, c.field, err)
		}
		if c.field == "" && (f.Name != "Maria" || len(f.Answers) != 1) {
			t.Errorf("valid form not cleaned: %+v", f)
		}
	}
}

// TestCatchUp checks the transitions recorded between two checks: across
// the change to summer time, with the override holding, and with the clock
// going back.
func TestCatchUp(t *testing.T) {
	s, err := hours.Parse(hours.Config{Timezone: "Europe/Helsinki", Open: "0 9 * * *", Close: "0 17 * * *"})
	if err != nil {
		t.Fatal(err)
	}
	m := New(Options{Queues: []Queue{{ID: "q", Schedule: s}}})
	q := m.queues["q"]
	hel := s.Location()
	from := time.Date(2026, 3, 28, 12, 0, 0, 0, hel) // open, Saturday
	to := time.Date(2026, 3, 29, 12, 0, 0, 0, hel)   // Sunday, summer time
	acts, evs, st := m.catchUp(q, QueueState{CheckedAt: from, Open: true}, to)
	var got []string
	for _, a := range acts {
		got = append(got, string(a.Kind)+"@"+a.CreatedAt.UTC().Format("15:04"))
	}
	if strings.Join(got, " ") != "queue_closed@15:00 queue_opened@06:00" || len(evs) != 2 || !st.Open || !st.CheckedAt.Equal(to) {
		t.Fatalf("catch up: %v %d %+v", got, len(evs), st)
	}
	if evs[0].Kind != inbox.EventQueueClosed || evs[1].Kind != inbox.EventQueueOpened {
		t.Fatalf("events: %s %s", evs[0].Kind, evs[1].Kind)
	}
	// Under the override, the schedule records nothing.
	acts, _, st = m.catchUp(q, QueueState{CheckedAt: from, Open: false, Override: hours.OverrideClosed}, to)
	if len(acts) != 0 || st.Open {
		t.Fatalf("under override: %+v %+v", acts, st)
	}
	// A clock that went back records nothing and keeps the mark.
	acts, _, st = m.catchUp(q, QueueState{CheckedAt: to, Open: true}, from)
	if len(acts) != 0 || !st.CheckedAt.Equal(to) {
		t.Fatalf("clock back: %+v %+v", acts, st)
	}
	// A state that disagrees with the schedule (hours changed while down)
	// is brought in line once.
	acts, _, st = m.catchUp(q, QueueState{CheckedAt: to, Open: false}, to.Add(time.Minute))
	if len(acts) != 1 || acts[0].Data["by"] != "config" || !st.Open {
		t.Fatalf("reconcile: %+v %+v", acts, st)
	}
}
