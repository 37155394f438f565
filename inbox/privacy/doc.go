// Package privacy owns what inboxd keeps about a person, and for how long:
// the retention policy of conversations (which inactive conversations are
// old enough to delete), a contact's export and its erasure, who may ask
// for them, and the audit entries they leave. It applies them to the store
// through the Store interface, with an injected clock; it imports no echo
// and no gorm.
package privacy
