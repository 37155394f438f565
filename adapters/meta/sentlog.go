package meta

import (
	"container/list"
	"sync"
	"time"

	"github.com/inboxd/inboxd/inbox"
)

const (
	// sentLogSize bounds the contacts whose recent sends are remembered.
	sentLogSize = 10000
	// sentPerContact bounds the sends remembered per contact.
	sentPerContact = 32
)

// sentLog remembers, in memory, the message ids recently sent to each
// contact and when, so that Messenger's read and delivery watermarks ("all
// messages before T"), which name no message, can be turned into reports
// on our messages. It is best effort: a restart or another replica's sends
// are not covered.
type sentLog struct {
	mu     sync.Mutex
	max    int
	order  *list.List // of contact ids, front: most recently used
	byUser map[string]*sentContact
	byMid  map[string]*sentItem
}

type sentContact struct {
	el    *list.Element
	items []*sentItem
}

type sentItem struct {
	mid string
	at  time.Time
}

func newSentLog(max int) *sentLog {
	return &sentLog{max: max, order: list.New(), byUser: map[string]*sentContact{}, byMid: map[string]*sentItem{}}
}

// record notes that mid was sent to contact at about at (our clock).
func (s *sentLog) record(contact, mid string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc, ok := s.byUser[contact]
	if !ok {
		sc = &sentContact{el: s.order.PushFront(contact)}
		s.byUser[contact] = sc
	} else {
		s.order.MoveToFront(sc.el)
	}
	it := &sentItem{mid: mid, at: at}
	sc.items = append(sc.items, it)
	s.byMid[mid] = it
	if len(sc.items) > sentPerContact {
		delete(s.byMid, sc.items[0].mid)
		sc.items = sc.items[1:]
	}
	for s.order.Len() > s.max {
		last := s.order.Back()
		s.order.Remove(last)
		id := last.Value.(string)
		for _, it := range s.byUser[id].items {
			delete(s.byMid, it.mid)
		}
		delete(s.byUser, id)
	}
}

// confirm replaces our clock's send time with Meta's (from the echo), the
// clock the watermarks use.
func (s *sentLog) confirm(mid string, at time.Time) {
	if at.IsZero() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if it, ok := s.byMid[mid]; ok {
		it.at = at
	}
}

// resolve returns reports for the remembered sends the watermark covers.
func (s *sentLog) resolve(channelID string, wm Watermark) []inbox.DeliveryUpdate {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc, ok := s.byUser[wm.Contact]
	if !ok {
		return nil
	}
	var ups []inbox.DeliveryUpdate
	for _, it := range sc.items {
		if !it.at.After(wm.At) {
			ups = append(ups, inbox.DeliveryUpdate{ChannelID: channelID, ProviderID: it.mid, State: wm.State, At: wm.At})
		}
	}
	return ups
}
