package api

import (
	"testing"
	"time"
)

func TestThrottleProgressiveDelay(t *testing.T) {
	th := newThrottle(3, time.Second, 8*time.Second, time.Hour)
	now := time.Unix(1000, 0)
	for i := 0; i < 3; i++ {
		if d := th.fail("k", now); d != 0 {
			t.Fatalf("free failure %d locked for %s", i+1, d)
		}
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second}
	for i, w := range want {
		if d := th.fail("k", now); d != w {
			t.Fatalf("failure %d: lockout %s, want %s", i+4, d, w)
		}
	}
	if d := th.wait("k", now.Add(3*time.Second)); d != 5*time.Second {
		t.Fatalf("wait = %s", d)
	}
	if th.wait("other", now) != 0 {
		t.Fatal("other key throttled")
	}
	th.reset("k")
	if th.wait("k", now) != 0 {
		t.Fatal("reset did not clear")
	}
	// Old failures are forgotten.
	for i := 0; i < 4; i++ {
		th.fail("old", now)
	}
	if d := th.fail("old", now.Add(2*time.Hour)); d != 0 {
		t.Fatalf("forgotten failures still count: %s", d)
	}
}
