package hours

import "fmt"

// Override is the global switch of a queue (PUT /api/v1/queues/{id}/override).
type Override string

// Overrides.
const (
	OverrideAuto   Override = "auto"   // the schedule decides
	OverrideOpen   Override = "open"   // open whatever the schedule says
	OverrideClosed Override = "closed" // closed whatever the schedule says
)

// Valid reports whether o is a known override.
func (o Override) Valid() bool {
	return o == OverrideAuto || o == OverrideOpen || o == OverrideClosed
}

// Effective applies the override to the schedule's answer. An empty or
// unknown override counts as auto, so a queue never closes by accident.
func Effective(open bool, o Override) bool {
	switch o {
	case OverrideOpen:
		return true
	case OverrideClosed:
		return false
	}
	return open
}

// Mode is what the customer sees of a queue (the widget's data-mode).
type Mode string

// Queue modes.
const (
	ModeLive        Mode = "live"         // open and someone online: chat now
	ModeMessenger   Mode = "messenger"    // write now, expect a delayed answer
	ModeOffline     Mode = "offline"      // the offline message and the hours
	ModeContactForm Mode = "contact_form" // the form with its questions
	ModeHidden      Mode = "hidden"       // nothing is shown
)

// Valid reports whether m is a known mode.
func (m Mode) Valid() bool {
	switch m {
	case ModeLive, ModeMessenger, ModeOffline, ModeContactForm, ModeHidden:
		return true
	}
	return false
}

// Offline modes, as written in queues[].offline.mode.
const (
	OfflineMessage     = "message"
	OfflineContactForm = "contact_form"
	OfflineMessenger   = "messenger"
	OfflineHidden      = "hidden"
)

// OfflineConfig is a queue's queues[].offline section, as far as the mode
// decision needs it.
type OfflineConfig struct {
	// Mode is message, contact_form, messenger or hidden; empty means message.
	Mode string `yaml:"mode" json:"mode"`
}

// Validate checks the offline mode; the error names the key.
func (c OfflineConfig) Validate() error {
	switch c.Mode {
	case "", OfflineMessage, OfflineContactForm, OfflineMessenger, OfflineHidden:
		return nil
	}
	return fmt.Errorf("offline.mode: %q is not one of message, contact_form, messenger, hidden", c.Mode)
}

// DecideMode is the one decision of what the customer sees.
//
// open is the schedule's answer (Schedule.IsOpen), override the global
// switch, anyAgentOnline whether an agent serving the queue is online
// (invisible agents look offline to customers, so they do not count).
//
//	effective open  agent online  offline.mode   mode
//	yes             yes           any            live
//	yes             no            message        offline
//	yes             no            contact_form   contact_form
//	yes             no            messenger      messenger
//	yes             no            hidden         hidden
//	no              any           message        offline
//	no              any           contact_form   contact_form
//	no              any           messenger      messenger
//	no              any           hidden         hidden
//
// "effective open" is Effective(open, override): an override of open opens a
// closed queue, closed closes an open one. Nobody online in open hours is
// treated like closed hours, because nobody could answer a live chat; the
// messenger mode is the one that still takes messages for a delayed answer.
// An empty or unknown offline mode counts as message.
func DecideMode(open bool, override Override, anyAgentOnline bool, offline OfflineConfig) Mode {
	if Effective(open, override) && anyAgentOnline {
		return ModeLive
	}
	switch offline.Mode {
	case OfflineContactForm:
		return ModeContactForm
	case OfflineMessenger:
		return ModeMessenger
	case OfflineHidden:
		return ModeHidden
	}
	return ModeOffline
}
