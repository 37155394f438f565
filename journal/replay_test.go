package journal

import "testing"

func TestReplayGap(t *testing.T) {
	for _, c := range []struct {
		after, oldest, newest int64
		want                  bool
	}{
		{0, 0, 0, false},                     // no events
		{0, 1, ReplayCap, false},             // the whole table, within the cap
		{0, 1, ReplayCap + 1, true},          // beyond the cap
		{5, 1, ReplayCap + 5, false},         // just within
		{100, 200, 300, true},                // events after the resume point were deleted
		{199, 200, 300, false},               // the next one is the oldest kept
		{300, 200, 300, false},               // up to date
		{ReplayCap * 5, 1, ReplayCap, false}, // from the future: nothing to replay
	} {
		if got := ReplayGap(c.after, c.oldest, c.newest); got != c.want {
			t.Errorf("ReplayGap(%d, %d, %d) = %v", c.after, c.oldest, c.newest, got)
		}
	}
}
