package inbox

import (
	"context"
	"slices"
	"strings"
	"time"
)

// WorkspaceStore is the persistence of the agents' shared tools: tags and
// canned replies. Implementations live in inbox/store.
type WorkspaceStore interface {
	// InWorkspaceTx runs fn in one transaction, as Store.InTx does.
	InWorkspaceTx(ctx context.Context, fn func(tx WorkspaceTx) error) error
	Tags(ctx context.Context) ([]Tag, error)
	// CannedReplies returns every shared reply and the personal ones of
	// ownerID, by shortcut.
	CannedReplies(ctx context.Context, ownerID int64) ([]CannedReply, error)
	// CannedReply returns one reply; ENotFound when absent.
	CannedReply(ctx context.Context, id int64) (*CannedReply, error)
	// ConversationView loads a conversation and its contact outside a
	// transaction.
	ConversationView(ctx context.Context, id int64) (*Conversation, *Contact, error)
	// TaggedAmong returns which of the conversations carry the tag named
	// name.
	TaggedAmong(ctx context.Context, name string, conversationIDs []int64) (map[int64]bool, error)
}

// WorkspaceTx is the work on tags and canned replies inside one
// transaction.
type WorkspaceTx interface {
	// Conversation loads and locks a conversation (as Tx.Conversation).
	Conversation(ctx context.Context, id int64) (*Conversation, error)
	InsertActivity(ctx context.Context, a *Activity) error
	InsertEvents(ctx context.Context, evs []Event) error

	// TagsNamed returns the stored tags among names.
	TagsNamed(ctx context.Context, names []string) ([]Tag, error)
	CountTags(ctx context.Context) (int, error)
	InsertTag(ctx context.Context, t *Tag) error
	// DeleteTag removes a tag from the list and from every conversation;
	// ENotFound when absent.
	DeleteTag(ctx context.Context, id int64) error
	// ConversationTags returns a conversation's tag names, sorted.
	ConversationTags(ctx context.Context, conversationID int64) ([]string, error)
	SetConversationTags(ctx context.Context, conversationID int64, tagIDs []int64) error

	// CannedReply loads and locks one reply; ENotFound when absent.
	CannedReply(ctx context.Context, id int64) (*CannedReply, error)
	// CannedInScope returns the reply of scope (CannedReply.Scope) with
	// shortcut, nil when none.
	CannedInScope(ctx context.Context, scope, shortcut string) (*CannedReply, error)
	// CountCanned counts the shared replies (ownerID 0) or one author's.
	CountCanned(ctx context.Context, ownerID int64) (int, error)
	InsertCanned(ctx context.Context, r *CannedReply) error
	UpdateCanned(ctx context.Context, r *CannedReply) error
	DeleteCanned(ctx context.Context, id int64) error
}

// Workspace manages tags and canned replies. Like Service, each change is
// one transaction with its activity entry and events, published after
// commit.
type Workspace struct {
	svc    *Service
	store  WorkspaceStore
	queues []string
}

// NewWorkspace returns the workspace over st; svc supplies the clock, the
// channels and the publisher; queues are the configured queue ids.
func NewWorkspace(svc *Service, st WorkspaceStore, queues []string) *Workspace {
	return &Workspace{svc: svc, store: st, queues: queues}
}

// inTx runs fn in a transaction, retrying a lost uniqueness race, and
// publishes fn's events after the commit.
func (w *Workspace) inTx(ctx context.Context, fn func(tx WorkspaceTx, evs *eventSink) error) error {
	return runTx(ctx, w.svc, w.store.InWorkspaceTx, fn)
}

// Tags lists the team's tags by name.
func (w *Workspace) Tags(ctx context.Context) ([]Tag, error) {
	ts, err := w.store.Tags(ctx)
	if ts == nil {
		ts = []Tag{}
	}
	return ts, err
}

// CreateTag adds a tag (owners and admins); a taken name is a conflict.
func (w *Workspace) CreateTag(ctx context.Context, actor *User, name, color string) (*Tag, error) {
	if !CanManageTags(actor) {
		return nil, Errorf(EForbidden, "tags are managed by owners and admins")
	}
	t, err := NewTag(name, color, w.svc.clock.Now())
	if err != nil {
		return nil, err
	}
	err = w.inTx(ctx, func(tx WorkspaceTx, _ *eventSink) error {
		if got, err := tx.TagsNamed(ctx, []string{t.Name}); err != nil {
			return err
		} else if len(got) > 0 {
			return &Error{Code: EConflict, Field: "name", Message: "a tag named " + t.Name + " exists"}
		}
		if n, err := tx.CountTags(ctx); err != nil {
			return err
		} else if n >= MaxTags {
			return Errorf(EConflict, "there are already %d tags, the most there may be", MaxTags)
		}
		return tx.InsertTag(ctx, t)
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// DeleteTag removes a tag from the list and from its conversations
// (owners and admins). The conversations' events are not rewritten: the
// console reloads the list of tags.
func (w *Workspace) DeleteTag(ctx context.Context, actor *User, id int64) error {
	if !CanManageTags(actor) {
		return Errorf(EForbidden, "tags are managed by owners and admins")
	}
	return w.inTx(ctx, func(tx WorkspaceTx, _ *eventSink) error { return tx.DeleteTag(ctx, id) })
}

// SetConversationTags replaces a conversation's tags with names (anyone
// who may act on it). Unknown names are invalid. A change is an activity
// entry and a conversation.updated event carrying the tags.
func (w *Workspace) SetConversationTags(ctx context.Context, actor *User, conversationID int64, names []string) ([]string, error) {
	next, err := NormalizeTagSet(names)
	if err != nil {
		return nil, err
	}
	err = w.inTx(ctx, func(tx WorkspaceTx, evs *eventSink) error {
		conv, err := tx.Conversation(ctx, conversationID)
		if err != nil {
			return err
		}
		if !CanAct(actor, conv) {
			return Errorf(ENotFound, "conversation not found")
		}
		tags, err := tx.TagsNamed(ctx, next)
		if err != nil {
			return err
		}
		if len(tags) != len(next) {
			var unknown []string
			for _, n := range next {
				if !slices.ContainsFunc(tags, func(t Tag) bool { return t.Name == n }) {
					unknown = append(unknown, n)
				}
			}
			return Invalid("tags", "unknown tag: %s", strings.Join(unknown, ", "))
		}
		old, err := tx.ConversationTags(ctx, conv.ID)
		if err != nil {
			return err
		}
		change := DiffTags(old, next)
		if !change.Changes() {
			return nil
		}
		ids := make([]int64, len(tags))
		for i, t := range tags {
			ids[i] = t.ID
		}
		if err := tx.SetConversationTags(ctx, conv.ID, ids); err != nil {
			return err
		}
		now := w.svc.clock.Now()
		if err := tx.InsertActivity(ctx, &Activity{Queue: conv.Queue, Kind: ActivityTagged, ConversationID: conv.ID,
			ActorID: actor.ID, ActorName: actor.Name, CreatedAt: now, Data: map[string]string{
				"added": strings.Join(change.Added, ","), "removed": strings.Join(change.Removed, ",")}}); err != nil {
			return err
		}
		conv.Tags = next
		evs.add(EventConversationUpdated, conv, s2json(TaggedSummary{ConversationSummary: w.svc.Summary(conv), Tags: next}), now)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return next, nil
}

// TaggedAmong returns which of the conversations carry the tag named name
// (statistics split by tag); a malformed name is invalid (field "tag").
func (w *Workspace) TaggedAmong(ctx context.Context, name string, conversationIDs []int64) (map[int64]bool, error) {
	n, err := NormalizeTagName(name)
	if err != nil {
		return nil, Invalid("tag", "is not a tag name")
	}
	return w.store.TaggedAmong(ctx, n, conversationIDs)
}

// CannedView is a canned reply as the API shows it.
type CannedView struct {
	ID        int64     `json:"id"`
	Shortcut  string    `json:"shortcut"`
	Title     string    `json:"title"`
	Text      string    `json:"text"`
	Queue     *string   `json:"queue"`
	Personal  bool      `json:"personal"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// View returns the client shape of r.
func (r *CannedReply) View() CannedView {
	v := CannedView{ID: r.ID, Shortcut: r.Shortcut, Title: r.Title, Text: r.Text, Personal: r.Personal(),
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if r.Queue != "" {
		q := r.Queue
		v.Queue = &q
	}
	return v
}

// CannedInput is a canned reply to create or the new fields of one.
type CannedInput struct {
	Shortcut string
	Title    string
	Text     string
	Queue    string // "": every queue
	Personal bool
}

// Canned lists the replies actor may use, by shortcut; queue, when given,
// keeps those that apply to that queue's conversations.
func (w *Workspace) Canned(ctx context.Context, actor *User, queue string) ([]CannedView, error) {
	if queue != "" && !slices.Contains(w.queues, queue) {
		return nil, Invalid("queue", "is not a configured queue")
	}
	rs, err := w.store.CannedReplies(ctx, actor.ID)
	if err != nil {
		return nil, err
	}
	out := []CannedView{}
	for i := range rs {
		r := &rs[i]
		if CanReadCanned(actor, r) && (queue == "" || r.AppliesTo(queue)) {
			out = append(out, r.View())
		}
	}
	return out, nil
}

// CreateCanned adds a reply: a personal one for anyone, a shared one for
// owners and admins.
func (w *Workspace) CreateCanned(ctx context.Context, actor *User, in CannedInput) (*CannedReply, error) {
	now := w.svc.clock.Now()
	r := &CannedReply{Shortcut: in.Shortcut, Title: in.Title, Text: in.Text, Queue: in.Queue, CreatedAt: now, UpdatedAt: now}
	if in.Personal {
		r.OwnerID = actor.ID
	}
	if err := w.checkCanned(actor, r); err != nil {
		return nil, err
	}
	err := w.inTx(ctx, func(tx WorkspaceTx, _ *eventSink) error {
		if err := uniqueShortcut(ctx, tx, r); err != nil {
			return err
		}
		if n, err := tx.CountCanned(ctx, r.OwnerID); err != nil {
			return err
		} else if max := cannedLimit(r); n >= max {
			return Errorf(EConflict, "there are already %d such canned replies, the most there may be", max)
		}
		return tx.InsertCanned(ctx, r)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// UpdateCanned replaces a reply's fields; whether it is personal does not
// change.
func (w *Workspace) UpdateCanned(ctx context.Context, actor *User, id int64, in CannedInput) (*CannedReply, error) {
	var r *CannedReply
	err := w.inTx(ctx, func(tx WorkspaceTx, _ *eventSink) error {
		cur, err := w.manageable(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		if in.Personal != cur.Personal() {
			return Invalid("personal", "cannot change; create a new canned reply instead")
		}
		next := *cur
		next.Shortcut, next.Title, next.Text, next.Queue = in.Shortcut, in.Title, in.Text, in.Queue
		next.UpdatedAt = w.svc.clock.Now()
		if err := w.checkCanned(actor, &next); err != nil {
			return err
		}
		if err := uniqueShortcut(ctx, tx, &next); err != nil {
			return err
		}
		if err := tx.UpdateCanned(ctx, &next); err != nil {
			return err
		}
		r = &next
		return nil
	})
	return r, err
}

// DeleteCanned removes a reply.
func (w *Workspace) DeleteCanned(ctx context.Context, actor *User, id int64) error {
	return w.inTx(ctx, func(tx WorkspaceTx, _ *eventSink) error {
		if _, err := w.manageable(ctx, tx, actor, id); err != nil {
			return err
		}
		return tx.DeleteCanned(ctx, id)
	})
}

// RenderCanned fills a reply's placeholders for a conversation the actor
// may see; the reply must be readable by the actor and apply to the
// conversation's queue.
func (w *Workspace) RenderCanned(ctx context.Context, actor *User, conversationID, cannedID int64) (string, error) {
	conv, contact, err := w.store.ConversationView(ctx, conversationID)
	if err != nil {
		return "", err
	}
	if !CanView(actor, conv) {
		return "", Errorf(ENotFound, "conversation not found")
	}
	r, err := w.store.CannedReply(ctx, cannedID)
	if err != nil {
		return "", err
	}
	if !CanReadCanned(actor, r) || !r.AppliesTo(conv.Queue) {
		return "", Errorf(ENotFound, "canned reply not found")
	}
	v := CannedValues{AgentName: actor.Name, ConversationNumber: conv.Number}
	if contact != nil {
		v.ContactName, v.ContactEmail = contact.Name, contact.Email
		if v.ContactName == "" {
			v.ContactName = contact.Username
		}
	}
	return FillCanned(r.Text, v), nil
}

// manageable loads a reply actor may change: 404 when it may not even
// read it, 403 when it may read but not manage it.
func (w *Workspace) manageable(ctx context.Context, tx WorkspaceTx, actor *User, id int64) (*CannedReply, error) {
	r, err := tx.CannedReply(ctx, id)
	if err != nil {
		return nil, err
	}
	switch {
	case !CanReadCanned(actor, r):
		return nil, Errorf(ENotFound, "canned reply not found")
	case !CanManageCanned(actor, r):
		return nil, Errorf(EForbidden, "shared canned replies are managed by owners and admins")
	}
	return r, nil
}

// checkCanned validates r's fields and that actor may own it.
func (w *Workspace) checkCanned(actor *User, r *CannedReply) error {
	if err := ValidateCanned(r); err != nil {
		return err
	}
	if r.Queue != "" && !slices.Contains(w.queues, r.Queue) {
		return Invalid("queue", "is not a configured queue")
	}
	if r.Personal() && r.Queue != "" {
		return Invalid("queue", "a personal canned reply serves every queue (queue must be null)")
	}
	if !CanManageCanned(actor, r) {
		return Errorf(EForbidden, "shared canned replies are managed by owners and admins")
	}
	return nil
}

// uniqueShortcut refuses a shortcut taken by another reply of r's scope.
func uniqueShortcut(ctx context.Context, tx WorkspaceTx, r *CannedReply) error {
	got, err := tx.CannedInScope(ctx, r.Scope(), r.Shortcut)
	if err != nil {
		return err
	}
	if got != nil && got.ID != r.ID {
		return &Error{Code: EConflict, Field: "shortcut", Message: "the shortcut /" + r.Shortcut + " is taken in this scope"}
	}
	return nil
}

func cannedLimit(r *CannedReply) int {
	if r.Personal() {
		return MaxPersonalCanned
	}
	return MaxSharedCanned
}
