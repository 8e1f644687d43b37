// The [conference] table: the conference component's domain, who may
// create and join rooms, its secret, defaults and validation.

package config

import (
	"fmt"
	"os"
	"strings"
)

// Conference is the conference-room service in component mode (XEP-0114):
// every NAME@Domain is a room. Account mode is an [[account]] with role
// conference instead.
type Conference struct {
	// Enabled connects the component. Default false.
	Enabled bool `toml:"enabled"`
	// Domain is the component's JID, e.g. call.example.org, as declared
	// in the XMPP server (Prosody: Component "call.example.org").
	Domain string `toml:"domain"`
	// Exactly one of Secret, SecretFile, SecretEnv: the component secret
	// (Prosody's component_secret, ejabberd's ejabberd_service password).
	Secret     string `toml:"secret"`
	SecretFile string `toml:"secret_file"`
	SecretEnv  string `toml:"secret_env"`
	// Server is the XMPP server's component port. Default 127.0.0.1:5347.
	Server string `toml:"server"`
	// Create lists who may open a room by calling it: bare JIDs and
	// domains, "*" for everyone. Default: the server's own domain (Domain
	// minus its first label).
	Create []string `toml:"create"`
	// Join lists who may join an open room. Default: as Create.
	Join []string `toml:"join"`
	// MaxRooms bounds the rooms open at once. Default 100.
	MaxRooms int `toml:"max_rooms"`
	// MaxParticipants bounds each room. Default 32.
	MaxParticipants int `toml:"max_participants"`
	// Announce sends "alice@example.org joined, 3 in the call" chat
	// messages to the participants. Default true.
	Announce *bool `toml:"announce"`
	// MaxSpeakers is how many of the loudest participants are mixed at
	// once. Default 3.
	MaxSpeakers int `toml:"max_speakers"`
	// OverloadComplexity is the Opus encoder complexity (1-10) the
	// mixers fall back to while their ticks keep starting late, i.e. the
	// focus's CPU is nearly full (conference/mixer/overload.go): a little
	// voice quality for the latency. Default 2; 5 (the normal
	// complexity) or more turns the fallback off.
	OverloadComplexity int `toml:"overload_complexity"`
}

// ServerDomain is the domain whose users may open and join rooms by
// default: the component's domain minus its first label.
func (c *Conference) ServerDomain() string {
	_, parent, ok := strings.Cut(c.Domain, ".")
	if !ok {
		return c.Domain
	}
	return parent
}

// MayCreate reports whether peer may open a room.
func (c *Conference) MayCreate(peer string) bool {
	return matchJID(c.Create, peer, c.ServerDomain())
}

// MayJoin reports whether peer may join a room.
func (c *Conference) MayJoin(peer string) bool {
	if len(c.Join) == 0 {
		return c.MayCreate(peer)
	}
	return matchJID(c.Join, peer, c.ServerDomain())
}

// SecretValue returns the component secret from wherever the config says.
func (c *Conference) SecretValue() (string, error) {
	return secretFrom(c.Secret, c.SecretFile, c.SecretEnv, "secret_file")
}

// validate checks the [conference] table.
func (c *Conference) validate() error {
	bad := func(sub, format string, args ...any) error {
		return fmt.Errorf("%w: conference.%s: %s", ErrInvalid, sub, fmt.Sprintf(format, args...))
	}
	if c.Domain == "" || strings.ContainsAny(c.Domain, "@/ ") || !strings.Contains(c.Domain, ".") && c.Domain != "localhost" {
		return bad("domain", "%q is not a component domain such as call.example.org", c.Domain)
	}
	n := 0
	for _, s := range []string{c.Secret, c.SecretFile, c.SecretEnv} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return bad("secret", "give exactly one of secret, secret_file, secret_env (the component secret the XMPP server expects)")
	}
	if c.SecretFile != "" {
		if err := readable(c.SecretFile); err != nil {
			return bad("secret_file", "%v", err)
		}
	}
	if c.SecretEnv != "" && os.Getenv(c.SecretEnv) == "" {
		return bad("secret_env", "environment variable %s is empty or unset", c.SecretEnv)
	}
	if c.Server != "" {
		if err := checkHostPort(c.Server); err != nil {
			return bad("server", "%v", err)
		}
	}
	for key, v := range map[string]int{"max_rooms": c.MaxRooms, "max_participants": c.MaxParticipants, "max_speakers": c.MaxSpeakers} {
		if v < 0 {
			return bad(key, "must not be negative")
		}
	}
	if c.OverloadComplexity < 0 || c.OverloadComplexity > 10 {
		return bad("overload_complexity", "is %d; Opus encoder complexity runs from 1 to 10 (5 or more: no fallback)", c.OverloadComplexity)
	}
	return nil
}

// Defaults fills what the [conference] table left out.
func (c *Conference) Defaults() {
	if c.Server == "" {
		c.Server = "127.0.0.1:5347"
	}
	if c.MaxRooms == 0 {
		c.MaxRooms = 100
	}
	if c.MaxParticipants == 0 {
		c.MaxParticipants = 32
	}
	if c.MaxSpeakers == 0 {
		c.MaxSpeakers = 3
	}
	if c.Announce == nil {
		t := true
		c.Announce = &t
	}
}
