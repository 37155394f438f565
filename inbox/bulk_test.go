package inbox

import "testing"

func TestBulkable(t *testing.T) {
	msg := func(contact, name string) *Inbound {
		return &Inbound{ChannelID: "crm", ExternalID: contact + name, Contact: ContactInfo{ExternalID: contact, Name: name}, Text: "x"}
	}
	edit, thread, token := msg("c2", "B"), msg("c3", "C"), msg("c4", "D")
	edit.Kind = InboundEdit
	thread.References = []string{"<a@b>"}
	token.ThreadToken = "t"
	meta := msg("c1", "A")
	meta.Contact.Meta = map[string]string{"k": "v"}
	for _, tc := range []struct {
		name string
		ins  []*Inbound
		want bool
	}{
		{"one message", []*Inbound{msg("c1", "A")}, false},
		{"plain messages", []*Inbound{msg("c1", "A"), msg("c2", "B"), msg("c1", "A")}, true},
		{"an edit", []*Inbound{msg("c1", "A"), edit}, false},
		{"email references", []*Inbound{msg("c1", "A"), thread}, false},
		{"a reply token", []*Inbound{msg("c1", "A"), token}, false},
		{"a contact renamed within the group", []*Inbound{msg("c1", "A"), msg("c1", "A2")}, false},
		{"a contact's meta changes", []*Inbound{msg("c1", "A"), meta}, false},
	} {
		if got := bulkable(tc.ins); got != tc.want {
			t.Errorf("%s: bulkable = %v, want %v", tc.name, got, tc.want)
		}
	}
}
