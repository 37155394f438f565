package inbox

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
)

// The customer's history: contacts that are the same person on several
// channels are linked into one person, so that each shows the
// conversations of all. A link changes what is shown, never where replies
// go: each conversation keeps its contact, and each channel replies to its
// own identity.
//
// A person is flat: a root contact and the members that point at it. The
// rules (PlanLink, PlanUnlink) keep it so:
//   - linking a contact into another links their whole persons (the
//     contact's person joins the other's root): the same person twice is
//     one person, whatever was linked before;
//   - linking two contacts of the same person, or a contact into itself, is
//     a conflict;
//   - a person holds at most MaxPersonContacts contacts;
//   - unlinking takes one contact out of its person; when it was the root,
//     the lowest remaining id becomes the root; a person of one contact is
//     no person (a contact on its own).

// MaxPersonContacts bounds the contacts linked into one person.
const MaxPersonContacts = 20

// Activity and event kinds of contact links. Their events concern no
// conversation and carry no status, so Event.Visible gives them to owners
// and admins only.
const (
	ActivityContactLinked   ActivityKind = "contact_linked"
	ActivityContactUnlinked ActivityKind = "contact_unlinked"
	EventContactLinked      EventKind    = "contact.linked"
	EventContactUnlinked    EventKind    = "contact.unlinked"
)

// Person is a group of linked contacts: Root and every member, the root
// included, in id order. A contact on its own is a person of one.
type Person struct {
	Root    int64
	Members []int64
}

// Linked reports whether the person has more than one contact.
func (p Person) Linked() bool { return len(p.Members) > 1 }

// CanManageContacts reports whether u may link and unlink contacts.
func CanManageContacts(u *User) bool { return u.Role.IsAdmin() }

// CanViewContact reports whether u may see a contact whose channel is in
// queue: owners and admins always; an agent when it serves the queue, or
// when it may see one of the contact's own conversations (one it takes
// part in on another queue's channel). A linked contact of another queue
// stays hidden from an agent who sees only its person's other
// conversations.
func CanViewContact(u *User, queue string, seesAConversation bool) bool {
	return u.Role.IsAdmin() || ServesQueue(u, queue) || seesAConversation
}

// LinkPlan is what linking changes: every contact of Move points at Root.
type LinkPlan struct {
	Root int64
	Move []int64
}

// PlanLink decides linking contact id (of person from) into contact into
// (of person to).
func PlanLink(id, into int64, from, to Person) (LinkPlan, error) {
	switch {
	case id == into:
		return LinkPlan{}, Errorf(EConflict, "a contact cannot be merged into itself")
	case from.Root == to.Root:
		return LinkPlan{}, Errorf(EConflict, "the contacts are already linked")
	case len(from.Members)+len(to.Members) > MaxPersonContacts:
		return LinkPlan{}, Errorf(EConflict, "a person has at most %d linked contacts", MaxPersonContacts)
	}
	return LinkPlan{Root: to.Root, Move: slices.Clone(from.Members)}, nil
}

// UnlinkPlan is what unlinking changes: Alone stand on their own (no
// person); Move point at NewRoot.
type UnlinkPlan struct {
	Alone   []int64
	NewRoot int64
	Move    []int64
}

// PlanUnlink decides taking contact id out of its person p.
func PlanUnlink(id int64, p Person) (UnlinkPlan, error) {
	if !p.Linked() {
		return UnlinkPlan{}, Errorf(EConflict, "the contact is not linked to another contact")
	}
	rest := make([]int64, 0, len(p.Members)-1)
	for _, m := range p.Members {
		if m != id {
			rest = append(rest, m)
		}
	}
	if id != p.Root {
		return UnlinkPlan{Alone: []int64{id}, NewRoot: p.Root}, nil
	}
	// The root leaves: the lowest remaining id leads the rest, alone if it
	// is the only one.
	slices.Sort(rest)
	plan := UnlinkPlan{Alone: []int64{id, rest[0]}, NewRoot: rest[0], Move: rest[1:]}
	if len(plan.Move) == 0 {
		plan.NewRoot = 0
	}
	return plan, nil
}

// ContactLinkStore is the persistence contact links need.
type ContactLinkStore interface {
	// InContactLinkTx runs fn in one transaction in which no other link
	// change runs.
	InContactLinkTx(ctx context.Context, fn func(tx ContactLinkTx) error) error
}

// ContactLinkTx is the work of one link change.
type ContactLinkTx interface {
	Contact(ctx context.Context, id int64) (*Contact, error)
	// PersonOf returns the person of contact id (ENotFound when there is
	// no such contact).
	PersonOf(ctx context.Context, id int64) (Person, error)
	// SetPerson makes every contact of ids point at root (0: none).
	SetPerson(ctx context.Context, ids []int64, root int64) error
	InsertActivity(ctx context.Context, a *Activity) error
	InsertEvents(ctx context.Context, evs []Event) error
}

// ContactLinks links and unlinks contacts: one transaction each, with
// its activity entries and event, published after commit.
type ContactLinks struct {
	store    ContactLinkStore
	clock    Clock
	pub      Publisher
	channels map[string]ChannelInfo
	log      *slog.Logger
}

// NewContactLinks returns the service over store.
func NewContactLinks(store ContactLinkStore, clock Clock, pub Publisher, channels []ChannelInfo, log *slog.Logger) *ContactLinks {
	if clock == nil {
		clock = SystemClock{}
	}
	if log == nil {
		log = slog.Default()
	}
	l := &ContactLinks{store: store, clock: clock, pub: pub, channels: map[string]ChannelInfo{}, log: log}
	for _, c := range channels {
		l.channels[c.ID] = c
	}
	return l
}

// LinkResult is a person after a change, as the API answers it.
type LinkResult struct {
	ContactID int64   `json:"contact_id"`
	PersonID  int64   `json:"person_id"`
	Linked    []int64 `json:"linked"`
}

// Link links contact id with contact into: they are then one person.
func (l *ContactLinks) Link(ctx context.Context, actor *User, id, into int64) (LinkResult, error) {
	if !CanManageContacts(actor) {
		return LinkResult{}, Errorf(EForbidden, "linking contacts needs an owner or admin")
	}
	if into <= 0 {
		return LinkResult{}, Invalid("into", "must be a contact id")
	}
	var (
		res LinkResult
		evs []Event
	)
	err := l.store.InContactLinkTx(ctx, func(tx ContactLinkTx) error {
		from, err := tx.PersonOf(ctx, id)
		if err != nil {
			return err
		}
		to, err := tx.PersonOf(ctx, into)
		if err != nil {
			if ErrorCode(err) == ENotFound {
				return &Error{Code: ENotFound, Field: "into", Message: "the contact to merge into does not exist"}
			}
			return err
		}
		plan, err := PlanLink(id, into, from, to)
		if err != nil {
			return err
		}
		if err := tx.SetPerson(ctx, plan.Move, plan.Root); err != nil {
			return err
		}
		members := append(slices.Clone(from.Members), to.Members...)
		slices.Sort(members)
		res = LinkResult{ContactID: id, PersonID: plan.Root, Linked: without(members, id)}
		evs, err = l.record(ctx, tx, actor, ActivityContactLinked, EventContactLinked, id, into, res)
		return err
	})
	if err != nil {
		return LinkResult{}, err
	}
	l.publish(evs)
	l.log.Info("contacts linked", "contact_id", id, "into", into, "person_id", res.PersonID, "user_id", actor.ID)
	return res, nil
}

// Unlink takes contact id out of its person.
func (l *ContactLinks) Unlink(ctx context.Context, actor *User, id int64) (LinkResult, error) {
	if !CanManageContacts(actor) {
		return LinkResult{}, Errorf(EForbidden, "unlinking contacts needs an owner or admin")
	}
	var (
		res LinkResult
		evs []Event
	)
	err := l.store.InContactLinkTx(ctx, func(tx ContactLinkTx) error {
		p, err := tx.PersonOf(ctx, id)
		if err != nil {
			return err
		}
		plan, err := PlanUnlink(id, p)
		if err != nil {
			return err
		}
		if err := tx.SetPerson(ctx, plan.Alone, 0); err != nil {
			return err
		}
		if len(plan.Move) > 0 {
			if err := tx.SetPerson(ctx, plan.Move, plan.NewRoot); err != nil {
				return err
			}
		}
		res = LinkResult{ContactID: id, PersonID: id, Linked: []int64{}}
		// The person it left is named by one of its remaining contacts.
		left := without(p.Members, id)[0]
		evs, err = l.record(ctx, tx, actor, ActivityContactUnlinked, EventContactUnlinked, id, left, res)
		return err
	})
	if err != nil {
		return LinkResult{}, err
	}
	l.publish(evs)
	l.log.Info("contact unlinked", "contact_id", id, "user_id", actor.ID)
	return res, nil
}

// record writes the activity entries (one in each queue of the two
// contacts' channels) and the event of a link change.
func (l *ContactLinks) record(ctx context.Context, tx ContactLinkTx, actor *User, ak ActivityKind, ek EventKind,
	id, other int64, res LinkResult) ([]Event, error) {
	a, err := tx.Contact(ctx, id)
	if err != nil {
		return nil, err
	}
	b, err := tx.Contact(ctx, other)
	if err != nil {
		return nil, err
	}
	now := l.clock.Now()
	qa, qb := l.channels[a.ChannelID].Queue, l.channels[b.ChannelID].Queue
	queues := []string{qa}
	if qb != qa {
		queues = append(queues, qb)
	}
	for _, q := range queues {
		// A queue's log, which its agents read, names the contacts of its
		// own channels only.
		data := map[string]string{"contact_id": itoa(a.ID), "channel": a.ChannelID, "other_id": itoa(b.ID), "other_channel": b.ChannelID}
		if qa == q {
			data["contact_name"] = a.Name
		}
		if qb == q {
			data["other_name"] = b.Name
		}
		if err := tx.InsertActivity(ctx, &Activity{Queue: q, Kind: ak, ActorID: actor.ID, ActorName: actor.Name,
			Data: data, CreatedAt: now}); err != nil {
			return nil, err
		}
	}
	payload, err := json.Marshal(map[string]any{"contact_id": a.ID, "other_id": b.ID, "person_id": res.PersonID,
		"linked": res.Linked, "actor_id": actor.ID})
	if err != nil {
		return nil, err
	}
	// No status and no participants: only owners and admins receive it.
	evs := []Event{{Kind: ek, Queue: qa, Payload: payload, CreatedAt: now}}
	if err := tx.InsertEvents(ctx, evs); err != nil {
		return nil, err
	}
	return evs, nil
}

func (l *ContactLinks) publish(evs []Event) {
	if l.pub != nil && len(evs) > 0 {
		l.pub.Publish(evs)
	}
}

func without(ids []int64, id int64) []int64 {
	out := make([]int64, 0, len(ids))
	for _, x := range ids {
		if x != id {
			out = append(out, x)
		}
	}
	return out
}

// ContactNotFound is the answer for a contact that does not exist or that
// the viewer may not see (existence is not revealed).
func ContactNotFound() error { return Errorf(ENotFound, "contact not found") }
