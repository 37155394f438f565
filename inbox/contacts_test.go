package inbox

import (
	"slices"
	"testing"
)

func TestPlanLink(t *testing.T) {
	alone := func(id int64) Person { return Person{Root: id, Members: []int64{id}} }
	for _, c := range []struct {
		name     string
		id, into int64
		from, to Person
		root     int64
		move     []int64
		err      string
	}{
		{name: "two alone", id: 1, into: 2, from: alone(1), to: alone(2), root: 2, move: []int64{1}},
		{name: "into itself", id: 1, into: 1, from: alone(1), to: alone(1), err: EConflict},
		{name: "same person", id: 1, into: 3, from: Person{Root: 3, Members: []int64{1, 3}}, to: Person{Root: 3, Members: []int64{1, 3}}, err: EConflict},
		{name: "persons join: the whole of from moves to to's root", id: 4, into: 2,
			from: Person{Root: 5, Members: []int64{4, 5}}, to: Person{Root: 1, Members: []int64{1, 2}}, root: 1, move: []int64{4, 5}},
		{name: "too many", id: 1, into: 2, from: Person{Root: 1, Members: make([]int64, 10)}, to: Person{Root: 2, Members: make([]int64, 11)}, err: EConflict},
		{name: "just enough", id: 1, into: 2, from: Person{Root: 1, Members: make([]int64, 10)}, to: Person{Root: 2, Members: make([]int64, 10)}, root: 2, move: make([]int64, 10)},
	} {
		p, err := PlanLink(c.id, c.into, c.from, c.to)
		if c.err != "" {
			if ErrorCode(err) != c.err {
				t.Errorf("%s: err %v, want %s", c.name, err, c.err)
			}
			continue
		}
		if err != nil || p.Root != c.root || !slices.Equal(p.Move, c.move) {
			t.Errorf("%s: %+v %v, want root %d move %v", c.name, p, err, c.root, c.move)
		}
	}
}

func TestPlanUnlink(t *testing.T) {
	p := Person{Root: 2, Members: []int64{2, 5, 7, 9}}
	for _, c := range []struct {
		name string
		id   int64
		p    Person
		want UnlinkPlan
		err  string
	}{
		{name: "alone", id: 3, p: Person{Root: 3, Members: []int64{3}}, err: EConflict},
		{name: "a member", id: 7, p: p, want: UnlinkPlan{Alone: []int64{7}, NewRoot: 2}},
		{name: "the root: the lowest leads", id: 2, p: p, want: UnlinkPlan{Alone: []int64{2, 5}, NewRoot: 5, Move: []int64{7, 9}}},
		{name: "the root of two: both alone", id: 2, p: Person{Root: 2, Members: []int64{2, 8}}, want: UnlinkPlan{Alone: []int64{2, 8}, Move: []int64{}}},
	} {
		got, err := PlanUnlink(c.id, c.p)
		if c.err != "" {
			if ErrorCode(err) != c.err {
				t.Errorf("%s: err %v, want %s", c.name, err, c.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got.Alone, c.want.Alone) || got.NewRoot != c.want.NewRoot || !slices.Equal(got.Move, c.want.Move) {
			t.Errorf("%s: %+v %v, want %+v", c.name, got, err, c.want)
		}
	}
}

func TestCanViewContact(t *testing.T) {
	admin := &User{ID: 1, Role: RoleAdmin}
	agent := &User{ID: 2, Role: RoleAgent, Queues: []string{"support"}}
	everywhere := &User{ID: 3, Role: RoleAgent}
	for _, c := range []struct {
		u     *User
		queue string
		sees  bool
		want  bool
	}{
		{admin, "sales", false, true},
		{agent, "support", false, true},
		{agent, "sales", false, false},
		{agent, "sales", true, true},
		{everywhere, "sales", false, true},
	} {
		if got := CanViewContact(c.u, c.queue, c.sees); got != c.want {
			t.Errorf("user %d, queue %s, sees %v: %v, want %v", c.u.ID, c.queue, c.sees, got, c.want)
		}
	}
	if !CanManageContacts(admin) || CanManageContacts(agent) || !CanManageContacts(&User{Role: RoleOwner}) {
		t.Error("CanManageContacts: owners and admins only")
	}
	// Link events carry no status: agents do not receive them.
	ev := Event{Kind: EventContactLinked, Queue: "support"}
	if ev.Visible(agent) || !ev.Visible(admin) {
		t.Error("a contact link event is for owners and admins")
	}
}
