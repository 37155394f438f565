package hours

import (
	"strings"
	"testing"
)

func TestEffective(t *testing.T) {
	tests := []struct {
		open bool
		o    Override
		want bool
	}{
		{true, OverrideAuto, true},
		{false, OverrideAuto, false},
		{true, OverrideOpen, true},
		{false, OverrideOpen, true},
		{true, OverrideClosed, false},
		{false, OverrideClosed, false},
		{true, "", true},        // unset: auto
		{false, "", false},      // unset: auto
		{false, "bogus", false}, // unknown: auto
	}
	for _, tt := range tests {
		if got := Effective(tt.open, tt.o); got != tt.want {
			t.Errorf("Effective(%v, %q) = %v, want %v", tt.open, tt.o, got, tt.want)
		}
	}
	for o, valid := range map[Override]bool{OverrideAuto: true, OverrideOpen: true, OverrideClosed: true, "": false, "Open": false} {
		if o.Valid() != valid {
			t.Errorf("Override(%q).Valid() = %v", o, !valid)
		}
	}
}

// TestDecideMode checks every row of the decision table, for every
// override that yields the row's effective state.
func TestDecideMode(t *testing.T) {
	type row struct {
		open, online bool
		offline      string
		want         Mode
	}
	rows := []row{
		{true, true, OfflineMessage, ModeLive},
		{true, true, OfflineContactForm, ModeLive},
		{true, true, OfflineMessenger, ModeLive},
		{true, true, OfflineHidden, ModeLive},
		{true, false, OfflineMessage, ModeOffline},
		{true, false, OfflineContactForm, ModeContactForm},
		{true, false, OfflineMessenger, ModeMessenger},
		{true, false, OfflineHidden, ModeHidden},
		{true, false, "", ModeOffline},
		{false, true, OfflineMessage, ModeOffline},
		{false, true, OfflineContactForm, ModeContactForm},
		{false, true, OfflineMessenger, ModeMessenger},
		{false, true, OfflineHidden, ModeHidden},
		{false, false, OfflineMessage, ModeOffline},
		{false, false, OfflineContactForm, ModeContactForm},
		{false, false, OfflineMessenger, ModeMessenger},
		{false, false, OfflineHidden, ModeHidden},
		{false, false, "", ModeOffline},
	}
	// Each effective state is reached from the schedule and the override:
	// open = auto+open schedule or forced open; closed = auto+closed or forced closed.
	ways := map[bool][]struct {
		sched bool
		o     Override
	}{
		true:  {{true, OverrideAuto}, {false, OverrideOpen}, {true, OverrideOpen}},
		false: {{false, OverrideAuto}, {true, OverrideClosed}, {false, OverrideClosed}},
	}
	for _, r := range rows {
		for _, w := range ways[r.open] {
			got := DecideMode(w.sched, w.o, r.online, OfflineConfig{Mode: r.offline})
			if got != r.want || !got.Valid() {
				t.Errorf("DecideMode(schedule=%v, %q, online=%v, %q) = %q, want %q", w.sched, w.o, r.online, r.offline, got, r.want)
			}
		}
	}
}

func TestOfflineConfigValidate(t *testing.T) {
	for _, m := range []string{"", OfflineMessage, OfflineContactForm, OfflineMessenger, OfflineHidden} {
		if err := (OfflineConfig{Mode: m}).Validate(); err != nil {
			t.Errorf("mode %q: %v", m, err)
		}
	}
	for _, m := range []string{"live", "offline", "Message"} {
		err := OfflineConfig{Mode: m}.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), "offline.mode: ") {
			t.Errorf("mode %q: got %v, want an offline.mode error", m, err)
		}
	}
	for _, m := range []Mode{ModeLive, ModeMessenger, ModeOffline, ModeContactForm, ModeHidden} {
		if !m.Valid() {
			t.Errorf("%q not valid", m)
		}
	}
	if Mode("message").Valid() {
		t.Error(`"message" is an offline config value, not a mode`)
	}
}
