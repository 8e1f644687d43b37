package config

import (
	"errors"
	"strings"
	"testing"
)

func TestConference(t *testing.T) {
	const base = `
[conference]
enabled = true
domain = "call.example.org"
`
	cases := []struct {
		name, extra, key string // key: "" for valid
	}{
		{"valid", `secret = "s"`, ""},
		{"no secret", ``, "conference.secret"},
		{"two secrets", "secret = \"s\"\nsecret_env = \"X\"", "conference.secret"},
		{"bad server", "secret = \"s\"\nserver = \"nope\"", "conference.server"},
		{"negative limit", "secret = \"s\"\nmax_participants = -1", "conference.max_participants"},
		{"unknown key", "secret = \"s\"\nrooms = 3", "conference.rooms"},
		{"overload complexity kept", "secret = \"s\"\noverload_complexity = 3", ""},
		{"overload complexity out of range", "secret = \"s\"\noverload_complexity = 11", "conference.overload_complexity"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse([]byte(base+c.extra), "", nil, nil)
			if c.key == "" {
				if err != nil {
					t.Fatal(err)
				}
				cfg.Conference.Defaults()
				if cfg.Conference.Server != "127.0.0.1:5347" || cfg.Conference.MaxParticipants != 32 || !*cfg.Conference.Announce {
					t.Errorf("defaults: %+v", cfg.Conference)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.key) {
				t.Errorf("error %v does not name %s", err, c.key)
			}
		})
	}
	bad, err := Parse([]byte("[conference]\nenabled = true\ndomain = \"a@b\"\nsecret = \"s\"\n"), "", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "conference.domain") {
		t.Errorf("domain a@b accepted: %+v %v", bad, err)
	}
}

func TestConferencePolicy(t *testing.T) {
	c := Conference{Domain: "call.example.org"}
	cases := []struct {
		create, join []string
		peer         string
		mayCreate    bool
		mayJoin      bool
	}{
		{nil, nil, "alice@example.org/phone", true, true},
		{nil, nil, "mallory@evil.example/x", false, false},
		{[]string{"alice@example.org"}, nil, "bob@example.org/x", false, false},
		{[]string{"alice@example.org"}, []string{"example.org"}, "bob@example.org/x", false, true},
		{[]string{"*"}, nil, "anyone@anywhere/x", true, true},
	}
	for _, tc := range cases {
		c.Create, c.Join = tc.create, tc.join
		if got := c.MayCreate(tc.peer); got != tc.mayCreate {
			t.Errorf("create %v join %v: MayCreate(%s) = %v", tc.create, tc.join, tc.peer, got)
		}
		if got := c.MayJoin(tc.peer); got != tc.mayJoin {
			t.Errorf("create %v join %v: MayJoin(%s) = %v", tc.create, tc.join, tc.peer, got)
		}
	}
}

func TestConferenceRole(t *testing.T) {
	t.Setenv("TEST_ROOM_PW", "pw")
	c, err := Parse([]byte("[[account]]\njid = \"team@example.org\"\npassword_env = \"TEST_ROOM_PW\"\nrole = \"conference\"\nmax_participants = 8\n"), "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Accounts[0].Role != RoleConference || c.Accounts[0].MaxParticipants != 8 {
		t.Errorf("account: %+v", c.Accounts[0])
	}
}
