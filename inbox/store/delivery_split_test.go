package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
)

// splitSender answers every send as a reply split into parts, the way the
// Meta, WhatsApp and Viber senders report long replies.
type splitSender struct{ ids string }

func (s splitSender) Send(context.Context, inbox.Outbound) (inbox.SendResult, error) {
	return inbox.SendResult{ProviderID: s.ids}, nil
}

// A delivery report names one part of a split reply; it must reach the
// reply, whose provider id holds every part comma-joined.
func TestDeliveryOfSplitReply(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		_, state := f.sentReply(t, "wamid.A1,wamid.A2,wamid.A3")
		// Neither a prefix nor another channel's id matches.
		f.svc.UpdateDelivery(ctx, []inbox.DeliveryUpdate{
			{ChannelID: "crm", ProviderID: "wamid.A", State: inbox.DeliveryRead},
			{ChannelID: "crm", ProviderID: "WAMID.A2", State: inbox.DeliveryRead},
			{ChannelID: "sales", ProviderID: "wamid.A2", State: inbox.DeliveryRead},
		})
		if got := state(); got != inbox.DeliverySent {
			t.Fatalf("after unrelated reports: %s", got)
		}
		f.svc.UpdateDelivery(ctx, []inbox.DeliveryUpdate{{ChannelID: "crm", ProviderID: "wamid.A2", State: inbox.DeliveryDelivered}})
		if got := state(); got != inbox.DeliveryDelivered {
			t.Fatalf("after the middle part's report: %s", got)
		}
		f.svc.UpdateDelivery(ctx, []inbox.DeliveryUpdate{{ChannelID: "crm", ProviderID: "wamid.A3", State: inbox.DeliveryRead}})
		if got := state(); got != inbox.DeliveryRead {
			t.Fatalf("after the last part's report: %s", got)
		}
	})
}

// sentReply ingests a customer message on crm, replies to it and sends the
// reply, the provider answering providerID; it returns the reply's id and a
// reader of its delivery state.
func (f *fixture) sentReply(t *testing.T, providerID string) (int64, func() inbox.Delivery) {
	t.Helper()
	ctx := context.Background()
	d := inbox.NewDispatcher(inbox.DispatcherOptions{Store: f.st, Service: f.svc,
		Senders: map[string]inbox.Sender{"crm": splitSender{providerID}},
		Clock:   inbox.ClockFunc(func() time.Time { return f.now }), MaxAttempts: 3})
	r := f.ingest("crm", "m1", "c1", "hello")
	m, err := f.svc.Reply(ctx, f.anna, r.ConversationID, "a reply")
	if err != nil {
		t.Fatal(err)
	}
	d.RunOnce(ctx)
	return m.ID, func() inbox.Delivery {
		ms, _ := f.st.Messages(ctx, r.ConversationID, m.ID-1, 1)
		return ms[0].Delivery
	}
}
