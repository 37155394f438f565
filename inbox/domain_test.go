package inbox

import (
	"slices"
	"testing"
)

func TestAvailablePresences(t *testing.T) {
	want := []Presence{PresenceOnline, PresenceInvisible}
	if got := AvailablePresences(); !slices.Equal(got, want) {
		t.Fatalf("AvailablePresences() = %q, want %q", got, want)
	}
	for _, p := range []Presence{PresenceOnline, PresenceOffline, PresenceInvisible, "", "away"} {
		if got, in := p.Available(), slices.Contains(AvailablePresences(), p); got != in {
			t.Errorf("%q: Available() = %v but in AvailablePresences() = %v", p, got, in)
		}
		if p.Valid() != (p != "" && p != "away") {
			t.Errorf("%q: Valid() = %v", p, p.Valid())
		}
	}
}
