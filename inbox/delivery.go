package inbox

// The delivery rule: a message's delivery state only moves forward.
// Provider reports arrive late, twice and out of order (a "sent" after
// "read", a "delivered" racing a "read"); the rule decides which of them
// a message takes. An agent's retry of a failed reply (failed → pending)
// is an action, not a report, and is not governed by it.

// deliveries lists every delivery state, in the order a message moves
// through them (failed aside).
var deliveries = []Delivery{DeliveryPending, DeliverySent, DeliveryDelivered, DeliveryRead, DeliveryFailed}

// step is the position of d on the way to the customer: pending, sent,
// delivered, read. Failed and unknown states have none.
func (d Delivery) step() (int, bool) {
	switch d {
	case DeliveryPending:
		return 0, true
	case DeliverySent:
		return 1, true
	case DeliveryDelivered:
		return 2, true
	case DeliveryRead:
		return 3, true
	}
	return 0, false
}

// AdvancesTo reports whether a message in state d takes a report of state
// next: a later step replaces an earlier one (a late "sent" never
// overwrites "read"); a failure replaces a message not yet delivered
// (pending or sent) and a failure (a newer error text), never one the
// customer has received. Failed is otherwise final; unknown states take
// nothing and replace nothing.
func (d Delivery) AdvancesTo(next Delivery) bool {
	from, okFrom := d.step()
	if next == DeliveryFailed {
		return d == DeliveryFailed || okFrom && from < 2
	}
	to, okTo := next.step()
	return okFrom && okTo && to > from
}

// AdvancesFrom lists the states a message may be in to take a report of
// state d (those whose AdvancesTo(d) holds): a store guards its update
// with them, so that a concurrent report that moved the message on wins.
func (d Delivery) AdvancesFrom() []Delivery {
	var from []Delivery
	for _, s := range deliveries {
		if s.AdvancesTo(d) {
			from = append(from, s)
		}
	}
	return from
}
