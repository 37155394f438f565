package meta

import (
	"container/list"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/inboxd/inboxd/adapters/providerhttp"
	"github.com/inboxd/inboxd/inbox"
)

const (
	// profileCacheSize bounds the names kept in memory per channel.
	profileCacheSize = 10000
	// profileFailTTL is how long a failed lookup is not repeated: a page
	// without the profile permission must not pay a Graph call per message.
	profileFailTTL = 10 * time.Minute
)

// Profile is what the Graph API tells about a customer.
type Profile struct {
	Name     string
	Username string
	Avatar   string
}

// graphProfile is the answer of GET /{psid} (Messenger: first_name,
// last_name, name, profile_pic; Instagram: name, username, profile_pic).
type graphProfile struct {
	Name       string `json:"name"`
	FirstName  string `json:"first_name"`
	LastName   string `json:"last_name"`
	Username   string `json:"username"`
	ProfilePic string `json:"profile_pic"`
}

// profile returns the contact's profile, from the cache or the Graph API.
func (c *Channel) profile(ctx context.Context, psid string) (Profile, bool) {
	now := c.clock.Now()
	if p, ok, known := c.profiles.get(psid, now); known {
		return p, ok
	}
	p, err := c.fetchProfile(ctx, psid)
	if err != nil {
		// The PSID stands in; the message is stored regardless.
		c.log.Warn("meta profile lookup failed", "contact_id", psid, "err", err)
		if ctx.Err() == nil {
			c.profiles.put(psid, Profile{}, false, now)
		}
		return Profile{}, false
	}
	c.profiles.put(psid, p, true, now)
	return p, true
}

func (c *Channel) fetchProfile(ctx context.Context, psid string) (Profile, error) {
	fields := "first_name,last_name,name,profile_pic"
	if c.platform == Instagram {
		fields = "name,username,profile_pic"
	}
	u := c.cfg.APIBaseURL + "/" + url.PathEscape(psid) + "?fields=" + fields
	status, h, body, err := providerhttp.Call(ctx, c.client, http.MethodGet, u,
		map[string]string{"Authorization": "Bearer " + c.cfg.PageAccessToken}, nil)
	if err != nil {
		return Profile{}, err
	}
	if err := providerhttp.Classify(status, h, graphReason(body)); err != nil {
		return Profile{}, err
	}
	var gp graphProfile
	if err := json.Unmarshal(body, &gp); err != nil {
		return Profile{}, fmt.Errorf("decode profile: %w", err)
	}
	name := strings.TrimSpace(gp.Name)
	if name == "" {
		name = strings.TrimSpace(gp.FirstName + " " + gp.LastName)
	}
	return Profile{Name: clipName(name), Username: clipName(gp.Username), Avatar: gp.ProfilePic}, nil
}

// nameContacts fills the contact names of msgs from their profiles, within
// the channel's lookup budget; a contact whose name is unknown gets its
// PSID as the conversation title.
func (c *Channel) nameContacts(ctx context.Context, msgs []inbox.Inbound) {
	ctx, cancel := context.WithTimeout(ctx, c.profileBudget)
	defer cancel()
	for i := range msgs {
		in := &msgs[i]
		p, ok := c.profile(ctx, in.Contact.ExternalID)
		if !ok || (p.Name == "" && p.Username == "") {
			in.Title = in.Contact.ExternalID
			continue
		}
		in.Contact.Name = firstNonEmpty(p.Name, p.Username)
		in.Contact.Username = p.Username
		if p.Avatar != "" {
			if in.Contact.Meta == nil {
				in.Contact.Meta = map[string]string{}
			}
			in.Contact.Meta["avatar_url"] = p.Avatar
		}
	}
}

// profileCache is a bounded LRU of profiles, remembering failures for a
// while so that they are not retried on every message.
type profileCache struct {
	mu      sync.Mutex
	max     int
	failTTL time.Duration
	order   *list.List // front: most recent; values are *profileEntry
	byID    map[string]*list.Element
}

type profileEntry struct {
	id     string
	p      Profile
	ok     bool
	stored time.Time
}

func newProfileCache(max int, failTTL time.Duration) *profileCache {
	return &profileCache{max: max, failTTL: failTTL, order: list.New(), byID: map[string]*list.Element{}}
}

// get returns the cached profile, whether the lookup had succeeded, and
// whether anything usable was cached.
func (pc *profileCache) get(id string, now time.Time) (Profile, bool, bool) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	el, found := pc.byID[id]
	if !found {
		return Profile{}, false, false
	}
	e := el.Value.(*profileEntry)
	if !e.ok && now.Sub(e.stored) > pc.failTTL {
		pc.order.Remove(el)
		delete(pc.byID, id)
		return Profile{}, false, false
	}
	pc.order.MoveToFront(el)
	return e.p, e.ok, true
}

func (pc *profileCache) put(id string, p Profile, ok bool, now time.Time) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if el, found := pc.byID[id]; found {
		el.Value = &profileEntry{id: id, p: p, ok: ok, stored: now}
		pc.order.MoveToFront(el)
		return
	}
	pc.byID[id] = pc.order.PushFront(&profileEntry{id: id, p: p, ok: ok, stored: now})
	for pc.order.Len() > pc.max {
		last := pc.order.Back()
		pc.order.Remove(last)
		delete(pc.byID, last.Value.(*profileEntry).id)
	}
}

func (pc *profileCache) len() int {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return pc.order.Len()
}
