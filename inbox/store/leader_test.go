package store_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox/store"
	"github.com/inboxd/inboxd/inbox/store/storetest"
)

func TestRunAsLeaderOnePostgresReplica(t *testing.T) {
	if len(storetest.Dialects(t)) < 2 {
		t.Skip("PostgreSQL is not configured (" + storetest.PostgresEnv + ")")
	}
	url := storetest.URL(t, store.Postgres)
	open := func() *store.Store {
		s, err := store.Open(context.Background(), url, "", slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := open(), open()
	defer b.Close()
	var running, leaderA, leaderB atomic.Int32
	job := func(who *atomic.Int32) func(ctx context.Context) {
		return func(ctx context.Context) {
			if running.Add(1) != 1 {
				t.Error("two leaders at once")
			}
			who.Add(1)
			<-ctx.Done()
			running.Add(-1)
		}
	}
	log := slog.New(slog.DiscardHandler)
	ctxA, cancelA := context.WithCancel(context.Background())
	doneA := make(chan struct{})
	go func() { a.RunAsLeader(ctxA, "job", log, job(&leaderA)); close(doneA) }()
	waitFor(t, func() bool { return leaderA.Load() == 1 })
	ctxB, cancelB := context.WithCancel(context.Background())
	defer cancelB()
	go b.RunAsLeader(ctxB, "job", log, job(&leaderB))
	time.Sleep(store.LeaderRetry + 500*time.Millisecond)
	if leaderB.Load() != 0 {
		t.Fatal("b became leader while a held the lock")
	}
	// a's process "dies": its connections close, PostgreSQL frees the lock.
	cancelA()
	<-doneA
	a.Close()
	waitFor(t, func() bool { return leaderB.Load() == 1 })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
