package inbox

import (
	"context"
	"maps"
	"sort"
	"time"
)

// The fast path of a group commit (and of a channel's batch): the same
// decisions as ingestOne, in the same order and with the same events, but
// each kind of row is read or written for the whole group in one
// statement. A group of 16 costs about ten statements instead of 130.

// bulkable reports whether every message can take the fast path: new
// customer messages placed by their contact. Edits, email threads
// (references, reply tokens) and a contact that changes within the group
// (its name must be the one each message saw) go one by one.
func bulkable(ins []*Inbound) bool {
	if len(ins) < 2 {
		return false
	}
	contacts := make(map[MessageKey]*ContactInfo, len(ins))
	for _, in := range ins {
		if in.Kind != InboundMessage || in.ThreadToken != "" || len(in.References) > 0 {
			return false
		}
		k := MessageKey{ChannelID: in.ChannelID, ExternalID: in.Contact.ExternalID}
		if c, ok := contacts[k]; ok && !sameContact(c, &in.Contact) {
			return false
		}
		contacts[k] = &in.Contact
	}
	return true
}

func sameContact(a, b *ContactInfo) bool {
	return a.Name == b.Name && a.Username == b.Username && a.Email == b.Email && a.Phone == b.Phone &&
		maps.Equal(a.Meta, b.Meta)
}

// placed is one new message and the conversation it goes to.
type placed struct {
	in   *Inbound
	conv *Conversation
	m    *Message
	kind EventKind
	// act is the conversation's created or reopened entry, if any.
	act *Activity
}

// ingestBulk stores ins in tx and returns their results in order.
func (s *Service) ingestBulk(ctx context.Context, tx Tx, evs *eventSink, ins []*Inbound, now time.Time) ([]IngestResult, error) {
	contacts, err := s.upsertContacts(ctx, tx, ins, now)
	if err != nil {
		return nil, err
	}
	keys := make([]MessageKey, len(ins))
	for i, in := range ins {
		keys[i] = MessageKey{ChannelID: in.ChannelID, ExternalID: in.ExternalID}
	}
	stored, err := tx.MessagesByExternalIDs(ctx, keys)
	if err != nil {
		return nil, err
	}

	results := make([]IngestResult, len(ins))
	first := map[MessageKey]int{} // the first of the group's own duplicates
	dupOf := map[int]int{}
	var fresh []int
	var refs []ThreadRef
	seen := map[ThreadRef]bool{}
	for i, in := range ins {
		if res, ok := stored[keys[i]]; ok {
			results[i] = res // an upstream retry: nothing is written
			continue
		}
		if j, ok := first[keys[i]]; ok {
			dupOf[i] = j
			continue
		}
		first[keys[i]] = i
		fresh = append(fresh, i)
		ref := ThreadRef{ContactID: contacts[i].ID, ThreadKey: in.ThreadKey}
		if !seen[ref] {
			seen[ref] = true
			refs = append(refs, ref)
		}
	}
	convs, err := tx.LatestConversations(ctx, refs)
	if err != nil {
		return nil, err
	}

	// Where each message goes, decided in order as one by one: a second
	// message of a new contact joins the conversation the first opened.
	ps := make([]placed, 0, len(fresh))
	var created []*Conversation
	var createdKeys []string
	for _, i := range fresh {
		in, contact := ins[i], contacts[i]
		ref := ThreadRef{ContactID: contact.ID, ThreadKey: in.ThreadKey}
		p := placed{in: in, conv: convs[ref], kind: EventConversationUpdated}
		switch DecideArrival(p.conv, now, s.reopen) {
		case ArrivalNew:
			p.conv = &Conversation{
				Token: newToken(), ChannelID: in.ChannelID, Queue: s.channels[in.ChannelID].Queue, ContactID: contact.ID,
				Title: conversationTitle(in, contact), Subject: in.Subject, Status: StatusUnassigned, CreatedAt: now,
			}
			convs[ref] = p.conv
			created = append(created, p.conv)
			createdKeys = append(createdKeys, in.ThreadKey)
			p.kind = EventConversationCreated
			p.act = &Activity{Queue: p.conv.Queue, Kind: ActivityCreated, CreatedAt: now}
		case ArrivalReopen:
			if p.act, err = s.reopenByCustomer(ctx, tx, p.conv, now); err != nil {
				return nil, err
			}
		}
		p.m = &Message{
			ChannelID: in.ChannelID, Direction: DirectionIn, AuthorName: contact.Name, Text: in.Text, HTML: in.HTML,
			Attachments: in.Attachments, ExternalID: in.ExternalID, Auto: in.Auto, Meta: in.Meta, CreatedAt: now,
		}
		p.conv.LastActivityAt, p.conv.LastMessageAt, p.conv.LastInboundAt = now, now, now
		ps = append(ps, p)
	}

	if err := tx.CreateConversations(ctx, created, createdKeys); err != nil {
		return nil, err
	}
	for _, c := range created {
		if s.channels[c.ChannelID].Kind == "widget" {
			c.Title = "#" + itoa(c.Number) // named by request number
		}
	}
	ms := make([]*Message, len(ps))
	var acts []*Activity
	for k := range ps {
		p := &ps[k]
		p.m.ConversationID = p.conv.ID
		ms[k] = p.m
		if p.act != nil {
			p.act.ConversationID = p.conv.ID
			acts = append(acts, p.act)
		}
	}
	if err := tx.InsertMessages(ctx, ms); err != nil {
		return nil, err
	}
	if err := tx.InsertActivities(ctx, acts); err != nil {
		return nil, err
	}

	// The conversations' state after each message, and its events, in
	// message order; then each touched conversation's final state.
	var touched []*Conversation
	updated := map[*Conversation]bool{}
	for k, p := range ps {
		p.conv.LastInboundID = p.m.ID
		p.conv.Preview = preview(p.m)
		evs.conversation(p.kind, p.conv, now)
		evs.message(EventMessageCreated, p.conv, p.m, now)
		results[fresh[k]] = IngestResult{MessageID: p.m.ID, ConversationID: p.conv.ID}
		if !updated[p.conv] {
			updated[p.conv] = true
			touched = append(touched, p.conv)
		}
	}
	for i, j := range dupOf {
		results[i] = IngestResult{MessageID: results[j].MessageID, ConversationID: results[j].ConversationID, Duplicate: true}
	}
	sort.Slice(touched, func(a, b int) bool { return touched[a].ID < touched[b].ID })
	if err := tx.UpdateConversations(ctx, touched); err != nil {
		return nil, err
	}
	return results, nil
}

// upsertContacts creates or refreshes the contacts of ins in one
// statement, in one lock order for every group, and returns each
// message's contact.
func (s *Service) upsertContacts(ctx context.Context, tx Tx, ins []*Inbound, now time.Time) ([]*Contact, error) {
	index := map[MessageKey]int{}
	var ups []ContactUpsert
	for _, in := range ins {
		k := MessageKey{ChannelID: in.ChannelID, ExternalID: in.Contact.ExternalID}
		if _, ok := index[k]; ok {
			continue // the same info (bulkable)
		}
		index[k] = len(ups)
		ups = append(ups, ContactUpsert{ChannelID: in.ChannelID, Info: in.Contact})
	}
	sort.Slice(ups, func(a, b int) bool {
		if ups[a].ChannelID != ups[b].ChannelID {
			return ups[a].ChannelID < ups[b].ChannelID
		}
		return ups[a].Info.ExternalID < ups[b].Info.ExternalID
	})
	got, err := tx.UpsertContacts(ctx, ups, now)
	if err != nil {
		return nil, err
	}
	byKey := make(map[MessageKey]*Contact, len(got))
	for _, c := range got {
		byKey[MessageKey{ChannelID: c.ChannelID, ExternalID: c.ExternalID}] = c
	}
	out := make([]*Contact, len(ins))
	for i, in := range ins {
		out[i] = byKey[MessageKey{ChannelID: in.ChannelID, ExternalID: in.Contact.ExternalID}]
	}
	return out, nil
}
