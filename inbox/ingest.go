package inbox

import (
	"context"
	"sort"
	"time"
)

// IngestTx is what the ingest pipeline needs of a transaction: the
// look-ups before planning and one bulk statement per kind of row after.
type IngestTx interface {
	EventTx
	// UpsertContacts creates or refreshes distinct contacts, given in lock
	// order, and returns them in that order, locked for the rest of the
	// transaction: one contact's messages are ingested one group at a time,
	// so the duplicate look-up below cannot race.
	UpsertContacts(ctx context.Context, cs []ContactUpsert, now time.Time) ([]*Contact, error)
	// MessagesByExternalIDs returns the stored messages among keys.
	MessagesByExternalIDs(ctx context.Context, keys []MessageKey) (map[MessageKey]*Message, error)
	// ConversationIDsByTokens finds conversations by (channel, token); the
	// key's ExternalID holds the token.
	ConversationIDsByTokens(ctx context.Context, keys []MessageKey) (map[MessageKey]int64, error)
	// ConversationIDByReference is the newest conversation on the channel
	// holding a message whose external or provider id is one of refs; 0
	// when none.
	ConversationIDByReference(ctx context.Context, channelID string, refs []string) (int64, error)
	// LatestConversations is each thread's newest conversation, locked,
	// with its participants.
	LatestConversations(ctx context.Context, refs []ThreadRef) (map[ThreadRef]*Conversation, error)
	// ConversationsByIDs loads conversations with their participants and
	// locks them, in id order.
	ConversationsByIDs(ctx context.Context, ids []int64) (map[int64]*Conversation, error)
	// AvailableUsers are those of ids whose presence is one of
	// AvailablePresences.
	AvailableUsers(ctx context.Context, ids []int64) (map[int64]bool, error)

	// CreateConversations assigns each its ID and the next sequential
	// Number, in order.
	CreateConversations(ctx context.Context, cs []*Conversation, threadKeys []string) error
	// InsertMessages stores messages that all have an ExternalID, with
	// their attachments, assigning IDs; it returns ErrRetryTx when one of
	// them is already stored (a concurrent duplicate won).
	InsertMessages(ctx context.Context, ms []*Message) error
	// EditMessages replaces inbound messages' text and EditedAt.
	EditMessages(ctx context.Context, ms []*Message) error
	InsertActivities(ctx context.Context, as []*Activity) error
	// UpdateConversations writes status, owner, title, times and preview.
	UpdateConversations(ctx context.Context, cs []*Conversation) error
	SaveCursor(ctx context.Context, c Cursor) error
}

// ingestGroup runs the pipeline for ins in tx: look up, plan, apply,
// settle. It returns each message's result and error; an error of the
// store (the returned error) fails them all.
func (s *Service) ingestGroup(ctx context.Context, tx IngestTx, evs *eventSink, ins []*Inbound, now time.Time) ([]IngestResult, []error, error) {
	lk, err := lookup(ctx, tx, ins, now)
	if err != nil {
		return nil, nil, err
	}
	p := Plan(ins, lk, s.rules, now)
	if err := tx.CreateConversations(ctx, p.Created, p.ThreadKeys); err != nil {
		return nil, nil, err
	}
	p.Placed()
	if err := tx.InsertMessages(ctx, p.Messages); err != nil {
		return nil, nil, err
	}
	acts, results := p.Settle(func(kind EventKind, c *Conversation, m *Message) {
		if m == nil {
			evs.conversation(kind, c, now)
		} else {
			evs.message(kind, c, m, now)
		}
	})
	if err := tx.EditMessages(ctx, p.Edits); err != nil {
		return nil, nil, err
	}
	if err := tx.InsertActivities(ctx, acts); err != nil {
		return nil, nil, err
	}
	sort.Slice(p.Touched, func(a, b int) bool { return p.Touched[a].ID < p.Touched[b].ID })
	if err := tx.UpdateConversations(ctx, p.Touched); err != nil {
		return nil, nil, err
	}
	errs := make([]error, len(ins))
	for i := range p.Decisions {
		errs[i] = p.Decisions[i].Err
	}
	return results, errs, nil
}

// firstErr is the first message error of a group, for callers whose group
// commits whole or not at all.
func firstErr(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// lookup reads what the planner needs, in one lock order for every group:
// contacts (sorted), then conversations (by thread, then by id).
func lookup(ctx context.Context, tx IngestTx, ins []*Inbound, now time.Time) (*Lookups, error) {
	lk := &Lookups{ByReference: map[int]int64{}, Conversations: map[int64]*Conversation{}}
	var err error
	if lk.Contacts, err = upsertContacts(ctx, tx, ins, now); err != nil {
		return nil, err
	}
	keys := make([]MessageKey, len(ins))
	for i, in := range ins {
		keys[i] = MessageKey{ChannelID: in.ChannelID, ExternalID: in.ExternalID}
	}
	if lk.Stored, err = tx.MessagesByExternalIDs(ctx, keys); err != nil {
		return nil, err
	}

	// Thread tokens and references name conversations directly (email);
	// the rest go by their thread's latest conversation.
	var tokens []MessageKey
	for _, in := range ins {
		if in.ThreadToken != "" {
			tokens = append(tokens, MessageKey{ChannelID: in.ChannelID, ExternalID: in.ThreadToken})
		}
	}
	if lk.ByToken, err = tx.ConversationIDsByTokens(ctx, tokens); err != nil {
		return nil, err
	}
	var ids []int64
	var threads []ThreadRef
	seen := map[ThreadRef]bool{}
	for i, in := range ins {
		if m, ok := lk.Stored[keys[i]]; ok {
			ids = append(ids, m.ConversationID) // a duplicate, or an edit's target
			continue
		}
		if id, ok := lk.ByToken[MessageKey{ChannelID: in.ChannelID, ExternalID: in.ThreadToken}]; ok && in.ThreadToken != "" {
			ids = append(ids, id)
			continue
		}
		if len(in.References) > 0 {
			id, err := tx.ConversationIDByReference(ctx, in.ChannelID, in.References)
			if err != nil {
				return nil, err
			}
			if id != 0 {
				lk.ByReference[i] = id
				ids = append(ids, id)
				continue
			}
		}
		// Asked even where a new thread is certain: a later message of the
		// group may need it.
		ref := ThreadRef{ContactID: lk.Contacts[i].ID, ThreadKey: in.ThreadKey}
		if !seen[ref] {
			seen[ref] = true
			threads = append(threads, ref)
		}
	}
	latest, err := tx.LatestConversations(ctx, threads)
	if err != nil {
		return nil, err
	}
	lk.Latest = make(map[ThreadRef]int64, len(latest))
	for ref, c := range latest {
		lk.Latest[ref] = c.ID
		lk.Conversations[c.ID] = c
	}
	var more []int64
	for _, id := range ids {
		if _, ok := lk.Conversations[id]; !ok {
			more = append(more, id)
		}
	}
	byID, err := tx.ConversationsByIDs(ctx, more)
	if err != nil {
		return nil, err
	}
	for id, c := range byID {
		lk.Conversations[id] = c
	}

	// Only a closed conversation can be reopened, and only then does it
	// matter who could answer.
	var users []int64
	for _, c := range lk.Conversations {
		if !c.Status.Open() {
			for _, p := range c.Participants {
				users = append(users, p.ID)
			}
		}
	}
	if lk.Available, err = tx.AvailableUsers(ctx, users); err != nil {
		return nil, err
	}
	return lk, nil
}

// upsertContacts creates or refreshes the contacts of ins in one
// statement, in one lock order for every group, and returns each
// message's contact. A contact that appears twice with different details
// is written once, with the later non-empty details over the earlier.
func upsertContacts(ctx context.Context, tx IngestTx, ins []*Inbound, now time.Time) ([]*Contact, error) {
	index := map[MessageKey]int{}
	var ups []ContactUpsert
	for _, in := range ins {
		k := MessageKey{ChannelID: in.ChannelID, ExternalID: in.Contact.ExternalID}
		if j, ok := index[k]; ok {
			ups[j].Info = mergeContact(ups[j].Info, in.Contact)
			continue
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
	// Each message sees its contact as it would alone after the ones
	// before it: its own details over the group's earlier ones over what
	// the store holds. (A detail only a later message brings shows early;
	// it is the contact's, and nothing the team would tell apart.)
	out := make([]*Contact, len(ins))
	sofar := map[MessageKey]ContactInfo{}
	for i, in := range ins {
		k := MessageKey{ChannelID: in.ChannelID, ExternalID: in.Contact.ExternalID}
		out[i] = byKey[k]
		if out[i] == nil || len(ups) == len(ins) {
			continue // every contact once: the store's row is the message's view
		}
		seen := mergeContact(sofar[k], in.Contact)
		sofar[k] = seen
		view := *out[i]
		info := mergeContact(ContactInfo{Name: view.Name, Username: view.Username, Email: view.Email, Phone: view.Phone}, seen)
		view.Name, view.Username, view.Email, view.Phone = info.Name, info.Username, info.Email, info.Phone
		out[i] = &view
	}
	return out, nil
}

// mergeContact is what the store keeps of a contact sent twice: the later
// non-empty fields over the earlier (the upsert's own rule).
func mergeContact(a, b ContactInfo) ContactInfo {
	for _, f := range []struct {
		dst *string
		src string
	}{{&a.Name, b.Name}, {&a.Username, b.Username}, {&a.Email, b.Email}, {&a.Phone, b.Phone}} {
		if f.src != "" {
			*f.dst = f.src
		}
	}
	if len(b.Meta) > 0 {
		a.Meta = b.Meta
	}
	return a
}
