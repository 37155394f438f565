package api

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/inboxd/inboxd/inbox"
)

// Who holds the live feeds. Every feed (the hub's feeds and the
// notifications feed) takes a slot of its owner before it writes its
// headers: a staff user's slots are counted per user id, a visitor's per
// channel and visitor, an anonymous widget page's per channel and client
// address. Beyond the cap the request gets 429. A staff feed also keeps
// the hash of the credential it was opened with, so that it can be closed
// when that credential is no longer valid (revalidateFeeds).

// Default caps of concurrent feeds (limits.feeds_per_user,
// limits.feeds_per_visitor).
const (
	DefaultFeedsPerUser    = 32
	DefaultFeedsPerVisitor = 4
)

// feedRecheckTimeout bounds one credential check of the open feeds.
const feedRecheckTimeout = 5 * time.Second

// feedOwners counts the open feeds per owner and remembers the credential
// of each staff feed.
type feedOwners struct {
	mu     sync.Mutex
	count  map[string]int
	leases map[*feedLease]struct{}
}

func newFeedOwners() *feedOwners {
	return &feedOwners{count: map[string]int{}, leases: map[*feedLease]struct{}{}}
}

// feedLease is one feed's slot.
type feedLease struct {
	owners    *feedOwners
	key       string
	userID    int64  // 0: a visitor's feed
	tokenHash string // the credential the feed was opened with
	closeFeed func() // set once the feed exists; ends it
	revoked   bool   // found invalid before closeFeed was set
	once      sync.Once
}

// acquire takes a slot of key, or answers 429 when key holds limit feeds.
func (o *feedOwners) acquire(key string, limit int, userID int64, tokenHash string) (*feedLease, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.count[key] >= limit {
		return nil, inbox.Errorf(inbox.ERateLimited, "too many open live feeds (at most %d): close one first", limit)
	}
	o.count[key]++
	l := &feedLease{owners: o, key: key, userID: userID, tokenHash: tokenHash}
	o.leases[l] = struct{}{}
	return l, nil
}

// bind sets what closes the lease's feed; a credential found invalid
// meanwhile closes it at once.
func (l *feedLease) bind(closeFeed func()) {
	l.owners.mu.Lock()
	l.closeFeed = closeFeed
	revoked := l.revoked
	l.owners.mu.Unlock()
	if revoked {
		closeFeed()
	}
}

// release frees the slot; idempotent, nil-safe.
func (l *feedLease) release() {
	if l == nil {
		return
	}
	l.once.Do(func() {
		o := l.owners
		o.mu.Lock()
		defer o.mu.Unlock()
		delete(o.leases, l)
		if o.count[l.key]--; o.count[l.key] <= 0 {
			delete(o.count, l.key)
		}
	})
}

// held reports how many slots key holds (tests).
func (o *feedOwners) held(key string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.count[key]
}

// staff returns the open staff feeds: all of them (userID 0) or one user's.
func (o *feedOwners) staff(userID int64) []*feedLease {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []*feedLease
	for l := range o.leases {
		if l.tokenHash != "" && (userID == 0 || l.userID == userID) {
			out = append(out, l)
		}
	}
	return out
}

func userFeedKey(id int64) string { return "user:" + strconv.FormatInt(id, 10) }

func visitorFeedKey(channel, contactKey string) string {
	return "visitor:" + channel + "\x00" + contactKey
}

func pageFeedKey(channel, ip string) string { return "page:" + channel + "\x00" + ip }

// feedRetryAfter is the Retry-After of a feed refused for the cap: slots
// of clients that went are freed within a sweep (feedSweep).
const feedRetryAfter = "5"

// lease takes a slot of key for the request's feed; beyond limit it
// answers 429 with Retry-After.
func (s *Server) lease(c echo.Context, key string, limit int, userID int64, tokenHash string) (*feedLease, error) {
	l, err := s.owners.acquire(key, limit, userID, tokenHash)
	if err != nil {
		c.Response().Header().Set("Retry-After", feedRetryAfter)
	}
	return l, err
}

// staffLease takes a slot for the caller's feed (limits.feeds_per_user).
func (s *Server) staffLease(c echo.Context) (*feedLease, error) {
	u := currentUser(c)
	return s.lease(c, userFeedKey(u.ID), s.o.FeedsPerUser, u.ID, HashToken(s.callerToken(c)))
}

// revalidateFeeds closes the open feeds of user userID (0: of every user)
// whose credential is no longer valid (logged out, revoked, expired),
// with one query for their distinct credentials.
func (s *Server) revalidateFeeds(ctx context.Context, userID int64) {
	leases := s.owners.staff(userID)
	if len(leases) == 0 {
		return
	}
	seen := map[string]bool{}
	var hashes []string
	for _, l := range leases {
		if !seen[l.tokenHash] {
			seen[l.tokenHash] = true
			hashes = append(hashes, l.tokenHash)
		}
	}
	live, err := s.o.Users.LiveTokens(ctx, hashes, s.o.Clock.Now())
	if err != nil {
		// Keep the feeds: the next check decides (a failed read is no
		// revocation).
		s.o.Logger.Warn("live feeds: checking credentials failed", "feeds", len(leases), "err", err)
		return
	}
	closed := 0
	for _, l := range leases {
		if live[l.tokenHash] {
			continue
		}
		s.owners.mu.Lock()
		end := l.closeFeed
		l.revoked = true
		s.owners.mu.Unlock()
		if end != nil {
			end()
		}
		closed++
	}
	if closed > 0 {
		attrs := []any{"feeds", closed}
		if userID != 0 {
			attrs = append(attrs, "user_id", userID)
		}
		s.o.Logger.Info("live feeds closed: credential no longer valid", attrs...)
	}
}

// recheckFeeds is revalidateFeeds for every user: RunFeeds calls it at
// each heartbeat, which also covers expiry and revocation on another
// replica.
func (s *Server) recheckFeeds(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, feedRecheckTimeout)
	defer cancel()
	s.revalidateFeeds(ctx, 0)
}
