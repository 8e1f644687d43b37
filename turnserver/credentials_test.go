package turnserver

import (
	"errors"
	"testing"
	"time"

	"github.com/pion/turn/v5"
)

func TestGenerateCredentials(t *testing.T) {
	expiry := time.Unix(1700000000, 0)
	for _, tc := range []struct {
		name, user, wantUser, wantPass string
	}{
		// Expected passwords computed independently (Python hmac, sha1, base64).
		{"prosody with turn_external_user", "romeo", "1700000000:romeo", "4KwdPuiw7rP0eTOUtzAaK6ZMiSs="},
		{"prosody without user", "", "1700000000", "CWyHi3zCeWqXBir9thl4m+iZPRY="},
		{"ejabberd two hashes", "3f7a1c2b9e0d:8a41c0ff", "1700000000:3f7a1c2b9e0d:8a41c0ff", "gaoKiTEo8dkca0ZOYTE1f3uk83I="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, p, err := GenerateCredentials("north", tc.user, time.Hour, expiry.Add(-time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if u != tc.wantUser || p != tc.wantPass {
				t.Fatalf("got %q/%q, want %q/%q", u, p, tc.wantUser, tc.wantPass)
			}
			exp, user, err := ParseRESTUsername(u)
			if err != nil || !exp.Equal(expiry) || user != tc.user {
				t.Fatalf("ParseRESTUsername(%q) = %v, %q, %v", u, exp, user, err)
			}
		})
	}
	if _, _, err := GenerateCredentials("", "x", time.Hour, time.Now()); err == nil {
		t.Fatal("empty secret accepted")
	}
}

// pion's generator is what a pion-based client uses; ours must agree.
func TestCredentialsAgreeWithPion(t *testing.T) {
	u, p, err := turn.GenerateLongTermTURNRESTCredentials("north", "juliet", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got := restPassword("north", u); got != p {
		t.Fatalf("password for %q: ours %q, pion %q", u, got, p)
	}
}

func TestParseRESTUsernameRejects(t *testing.T) {
	for _, u := range []string{"", "alice", ":alice", "-5:alice", "12x:alice", "99999999999999999999:a"} {
		if _, _, err := ParseRESTUsername(u); !errors.Is(err, ErrBadUsername) {
			t.Errorf("ParseRESTUsername(%q) = %v, want ErrBadUsername", u, err)
		}
	}
}
