package inbox

import "testing"

func TestCanManageUser(t *testing.T) {
	owner, admin, agent := &User{Role: RoleOwner}, &User{Role: RoleAdmin}, &User{Role: RoleAgent}
	cases := []struct {
		actor  *User
		target Role
		want   bool
	}{
		{owner, RoleOwner, true}, {owner, RoleAdmin, true}, {owner, RoleAgent, true},
		{admin, RoleOwner, false}, {admin, RoleAdmin, false}, {admin, RoleAgent, true},
		{agent, RoleAgent, false}, {agent, RoleOwner, false},
	}
	for _, c := range cases {
		if got := CanManageUser(c.actor, c.target); got != c.want {
			t.Errorf("%s manages %s: %v, want %v", c.actor.Role, c.target, got, c.want)
		}
	}
}

func TestKeepsAnOwner(t *testing.T) {
	owner := &Account{User: User{Role: RoleOwner}, Status: AccountActive}
	invited := &Account{User: User{Role: RoleOwner}, Status: AccountInvited}
	agent := &Account{User: User{Role: RoleAgent}, Status: AccountActive}
	cases := []struct {
		name       string
		a          *Account
		after      Role
		deactivate bool
		owners     int
		conflict   bool
	}{
		{"last owner demoted", owner, RoleAdmin, false, 1, true},
		{"last owner deactivated", owner, RoleOwner, true, 1, true},
		{"last owner renamed", owner, RoleOwner, false, 1, false},
		{"one of two demoted", owner, RoleAgent, false, 2, false},
		{"an invited owner does not count", invited, RoleAgent, true, 1, false},
		{"an agent", agent, RoleAgent, true, 0, false},
	}
	for _, c := range cases {
		err := KeepsAnOwner(c.a, c.after, c.deactivate, c.owners)
		if (ErrorCode(err) == EConflict) != c.conflict || (err != nil && !c.conflict) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestNormalizeEmail(t *testing.T) {
	for in, want := range map[string]string{" Anna@Example.COM ": "anna@example.com", "a.b+c@mail.example.fi": "a.b+c@mail.example.fi"} {
		if got, err := NormalizeEmail(in); err != nil || got != want {
			t.Errorf("%q: %q %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "anna", "Anna <anna@example.com>", "anna@localhost", "a@b.c, d@e.f", string(make([]byte, 300)) + "@x.io"} {
		if _, err := NormalizeEmail(bad); ErrorCode(err) != EInvalid {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestCheckQueues(t *testing.T) {
	known := []string{"support", "sales"}
	if got, err := CheckQueues([]string{"sales", "support", "sales"}, known); err != nil || len(got) != 2 || got[0] != "sales" {
		t.Errorf("got %v %v", got, err)
	}
	if _, err := CheckQueues([]string{"nope"}, known); ErrorCode(err) != EInvalid {
		t.Errorf("unknown queue: %v", err)
	}
	if got, err := CheckQueues(nil, known); err != nil || len(got) != 0 {
		t.Errorf("every queue: %v %v", got, err)
	}
}

func TestAuditActionValid(t *testing.T) {
	if !AuditUserDeactivated.Valid() || AuditAction("user.deleted").Valid() {
		t.Error("Valid")
	}
}
