package journal

import (
	"context"

	"github.com/inboxd/inboxd/inbox"
)

// withLinks fills the items' links, with one query for them all (an empty
// list for a conversation without links).
func (j *Journal) withLinks(ctx context.Context, items []Item) error {
	if len(items) == 0 {
		return nil
	}
	ids := make([]int64, len(items))
	for i := range items {
		ids[i] = items[i].ID
	}
	links, err := j.r.LinksOf(ctx, ids)
	if err != nil {
		return err
	}
	for i := range items {
		items[i].Links = links[items[i].ID]
		if items[i].Links == nil {
			items[i].Links = []inbox.Link{}
		}
	}
	return nil
}

// Links returns the links of a conversation the viewer may see (ENotFound
// otherwise: existence is not revealed).
func (j *Journal) Links(ctx context.Context, viewer *inbox.User, id int64) ([]inbox.Link, error) {
	c, _, err := j.r.ConversationView(ctx, id)
	if err != nil {
		return nil, err
	}
	if !inbox.CanReadLinks(viewer, c) {
		return nil, inbox.Errorf(inbox.ENotFound, "conversation not found")
	}
	links, err := j.r.LinksOf(ctx, []int64{id})
	if err != nil {
		return nil, err
	}
	if links[id] == nil {
		return []inbox.Link{}, nil
	}
	return links[id], nil
}
