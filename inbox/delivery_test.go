package inbox

import (
	"slices"
	"testing"
)

func TestDeliveryAdvancesTo(t *testing.T) {
	const bogus Delivery = "bounced"
	states := append(slices.Clone(deliveries), "", bogus)
	// Every move the rule allows; every other pair is refused.
	allowed := map[[2]Delivery]bool{
		{DeliveryPending, DeliverySent}:      true,
		{DeliveryPending, DeliveryDelivered}: true,
		{DeliveryPending, DeliveryRead}:      true,
		{DeliveryPending, DeliveryFailed}:    true,
		{DeliverySent, DeliveryDelivered}:    true,
		{DeliverySent, DeliveryRead}:         true,
		{DeliverySent, DeliveryFailed}:       true,
		{DeliveryDelivered, DeliveryRead}:    true,
		// A newer failure report replaces the error text.
		{DeliveryFailed, DeliveryFailed}: true,
	}
	n := 0
	for _, from := range states {
		for _, to := range states {
			want := allowed[[2]Delivery{from, to}]
			if want {
				n++
			}
			if got := from.AdvancesTo(to); got != want {
				t.Errorf("%q.AdvancesTo(%q) = %v, want %v", from, to, got, want)
			}
		}
	}
	if n != len(allowed) {
		t.Fatalf("the table names states outside the list: %d of %d pairs seen", n, len(allowed))
	}
}

func TestDeliveryAdvancesFrom(t *testing.T) {
	tests := []struct {
		to   Delivery
		want []Delivery
	}{
		{DeliveryPending, nil},
		{DeliverySent, []Delivery{DeliveryPending}},
		{DeliveryDelivered, []Delivery{DeliveryPending, DeliverySent}},
		{DeliveryRead, []Delivery{DeliveryPending, DeliverySent, DeliveryDelivered}},
		{DeliveryFailed, []Delivery{DeliveryPending, DeliverySent, DeliveryFailed}},
		{"", nil},
		{"bounced", nil},
	}
	for _, tt := range tests {
		if got := tt.to.AdvancesFrom(); !slices.Equal(got, tt.want) {
			t.Errorf("%q.AdvancesFrom() = %q, want %q", tt.to, got, tt.want)
		}
	}
}
