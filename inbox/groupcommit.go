package inbox

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"time"
)

// Group commit: concurrent Ingest calls are queued to a few committers,
// each of which takes whatever is waiting (up to maxGroup) and runs it in
// ONE transaction, a savepoint per message, so that one fsync serves many
// webhooks. Each caller is answered only after that commit (the durability
// rule holds: acknowledged means committed). A message that fails is
// rolled back to its savepoint alone and gets its own error.

// ingestReq is one queued Ingest.
type ingestReq struct {
	ctx  context.Context
	in   Inbound
	res  IngestResult
	err  error
	done chan struct{}
}

// StartGroupCommit starts n committers taking up to maxGroup queued
// ingests each; they stop when ctx is done. A committer whose group is
// not full waits up to linger for more (0: it commits what it found).
// Without it, Ingest commits each message on its own. SQLite has one
// writer: n = 1 there.
func (s *Service) StartGroupCommit(ctx context.Context, n, maxGroup int, linger time.Duration) {
	if n <= 0 {
		n = 1
	}
	if maxGroup <= 0 {
		maxGroup = 64
	}
	s.queue = make(chan *ingestReq, n*maxGroup*4)
	s.linger = linger
	for range n {
		go s.committer(ctx, maxGroup)
	}
}

func (s *Service) committer(ctx context.Context, maxGroup int) {
	group := make([]*ingestReq, 0, maxGroup)
	for {
		group = group[:0]
		select {
		case <-ctx.Done():
			return
		case r := <-s.queue:
			group = append(group, r)
		}
	more:
		for len(group) < maxGroup {
			select {
			case r := <-s.queue:
				group = append(group, r)
			default:
				break more
			}
		}
		if s.linger > 0 && len(group) < maxGroup {
			// A small group costs nearly what a full one does: give the
			// senders answered by the last commit a moment to come back.
			t := time.NewTimer(s.linger)
		wait:
			for len(group) < maxGroup {
				select {
				case r := <-s.queue:
					group = append(group, r)
				case <-t.C:
					break wait
				}
			}
			t.Stop()
		}
		s.commitGroup(group)
	}
}

// commitGroup runs a group in one transaction. Callers that gave up
// (their context is done) are skipped before the transaction starts.
func (s *Service) commitGroup(group []*ingestReq) {
	live := group[:0]
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			close(r.done)
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	// The transaction is not tied to one caller's context: a caller that
	// disconnects must not roll back its neighbours.
	ctx := context.WithoutCancel(live[0].ctx)
	started := time.Now()
	if !s.commitWhole(ctx, live) {
		s.commitOneByOne(ctx, live)
	}
	// The group is reported before its callers are answered, so that a
	// caller sees its own commit counted.
	s.obs.Group(len(live), time.Since(started))
	for _, r := range live {
		close(r.done)
	}
}

// commitWhole runs the group through the pipeline in one transaction and
// reports whether that settled the callers: a message the planner could
// not place fails alone there. When the store fails (a constraint, a lost
// connection) nothing of the group is kept and it runs again one by one.
func (s *Service) commitWhole(ctx context.Context, group []*ingestReq) bool {
	if len(group) == 1 {
		return false // one by one is the same transaction, without the retry
	}
	ins := make([]*Inbound, len(group))
	for i, r := range group {
		ins[i] = &r.in
	}
	var results []IngestResult
	var errs []error
	err := s.inTx(ctx, func(tx Tx, evs *eventSink) error {
		var err error
		results, errs, err = s.ingestGroup(ctx, tx, evs, ins, s.clock.Now())
		return err
	})
	if err != nil {
		s.log.Debug("group commit: the group failed, one by one now", "messages", len(group), "err", err)
		return false
	}
	for i, r := range group {
		r.res, r.err = results[i], errs[i]
	}
	return true
}

// commitOneByOne runs the group in one transaction, each message a group
// of one under its own savepoint, so that a message the store refuses
// fails alone.
func (s *Service) commitOneByOne(ctx context.Context, live []*ingestReq) {
	// One lock order for every committer: contacts sorted, so that two
	// groups sharing contacts queue behind each other instead of
	// deadlocking.
	sort.SliceStable(live, func(i, j int) bool {
		a, b := live[i].in, live[j].in
		if a.ChannelID != b.ChannelID {
			return a.ChannelID < b.ChannelID
		}
		return a.Contact.ExternalID < b.Contact.ExternalID
	})
	err := s.inTx(ctx, func(tx Tx, evs *eventSink) error {
		now := s.clock.Now()
		one := func(r *ingestReq, sink *eventSink) error {
			rs, errs, err := s.ingestGroup(ctx, tx, sink, []*Inbound{&r.in}, now)
			if err != nil {
				return err
			}
			r.res, r.err = rs[0], errs[0]
			return nil
		}
		if len(live) == 1 {
			// No savepoint: its failure is the whole transaction's.
			return one(live[0], evs)
		}
		for i, r := range live {
			r.err = nil
			sp := "g" + strconv.Itoa(i)
			if err := tx.Savepoint(ctx, sp); err != nil {
				return err
			}
			sub := &eventSink{svc: s}
			err := one(r, sub)
			if errors.Is(err, ErrRetryTx) {
				// A duplicate committed by another replica meanwhile: the
				// second attempt finds it.
				if err := tx.RollbackTo(ctx, sp); err != nil {
					return err
				}
				sub = &eventSink{svc: s}
				err = one(r, sub)
			}
			if err != nil {
				// Undo this message alone; if even that fails, the
				// connection is gone and the whole group fails.
				if rerr := tx.RollbackTo(ctx, sp); rerr != nil {
					return rerr
				}
				r.err = err
				continue
			}
			evs.events = append(evs.events, sub.events...)
		}
		return nil
	})
	if err != nil {
		for _, r := range live {
			r.err = err
		}
	}
}

// enqueue hands one ingest to the committers and waits for its commit.
func (s *Service) enqueue(ctx context.Context, in Inbound) (IngestResult, error) {
	r := &ingestReq{ctx: ctx, in: in, done: make(chan struct{})}
	select {
	case s.queue <- r:
	case <-ctx.Done():
		return IngestResult{}, ctx.Err()
	}
	<-r.done // never abandoned: the caller learns whether it committed
	return r.res, r.err
}
