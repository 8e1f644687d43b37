// The [[account]] tables: an account's roles, limits and secrets, their
// defaults and validation, and who may call it.

package config

import (
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// Roles of an account.
const (
	RoleEcho     = "echo"
	RoleRecord   = "record"
	RolePlay     = "play"
	RoleFiledrop = "filedrop"
	// RoleConference makes the account one conference room: every caller
	// hears the mix of the others.
	RoleConference = "conference"
)

// Account is one XMPP account served by jingled ([[account]] tables).
type Account struct {
	// JID is the bare account JID.
	JID string `toml:"jid"`
	// Resource is the resource to bind. Default "jingled".
	Resource string `toml:"resource"`
	// Exactly one of Password, PasswordFile, PasswordEnv.
	Password     string `toml:"password"`
	PasswordFile string `toml:"password_file"`
	PasswordEnv  string `toml:"password_env"`
	// Server is host:port. Default: the JID's domain, port 5222.
	Server string `toml:"server"`
	// CAFile trusts a private CA (a test or LAN server's certificate).
	CAFile string `toml:"ca_file"`
	// AllowPlain permits an unencrypted connection, to loopback only.
	AllowPlain bool `toml:"allow_plain"`
	// Role is echo, record, play, filedrop or conference.
	Role string `toml:"role"`
	// Allow lists the JIDs (bare) and domains that may call or send files;
	// "*" allows everyone. Default: nobody but the account's own domain.
	Allow []string `toml:"allow"`
	// Subscriptions says which subscription requests are approved: allowed
	// (those matching Allow), all, or none. Default allowed.
	Subscriptions string `toml:"subscriptions"`
	// MaxDuration hangs up calls after this long. Default 10m.
	MaxDuration duration `toml:"max_duration"`
	// MaxCalls bounds the calls an echo, record or play account holds at
	// once; a caller beyond it hears <busy/>. Default 64 (a play role
	// with rtp_listen takes one: one input feeds one call).
	MaxCalls int `toml:"max_calls"`
	// EchoDelay plays the caller back this much later (echo role only,
	// 0 to 10s): an echo sent back at once is removed by the caller's
	// echo canceller (Dino, browsers), so echo-test services delay it.
	// Default 1s; "0s" echoes at once.
	EchoDelay *duration `toml:"echo_delay"`
	// Dir is where record writes recordings and filedrop stores files.
	Dir string `toml:"dir"`
	// ServeDir is where filedrop serves files from (XEP-0234 pull).
	ServeDir string `toml:"serve_dir"`
	// MaxFileSize is the largest file filedrop accepts. Default 100 MiB.
	MaxFileSize int64 `toml:"max_file_size"`
	// PartialMaxAge is how long filedrop keeps a partial file (an
	// interrupted transfer waiting for its sender to resume, or what a
	// crash left) before the clean-up at start removes it; one that a
	// running process holds is never removed. Default 24h
	// (filetransfer.DefaultPartialMaxAge); "0s" keeps them all.
	PartialMaxAge *duration `toml:"partial_max_age"`
	// Greeting is an Ogg/Opus file record plays first; File is what play
	// plays (Ogg/Opus or WAV audio, IVF or H.264 video); RTPListen is an
	// RTP/UDP input address for play, carrying audio in RTPCodec (opus,
	// the default, PCMU, PCMA or G722: as `ffmpeg -c:a libopus|pcm_mulaw|
	// pcm_alaw|g722 -f rtp rtp://ADDR` sends it; nothing is transcoded,
	// so the call offers only that codec). Recordings are Ogg/Opus for
	// Opus, WAV for G.711/G.722, IVF or H.264 for video.
	Greeting  string `toml:"greeting"`
	File      string `toml:"file"`
	RTPListen string `toml:"rtp_listen"`
	RTPCodec  string `toml:"rtp_codec"`
	// RTPSend forwards what each caller sends, as RTP, to HOST:PORT (audio
	// on PORT, video on PORT+2) for ffmpeg or GStreamer, described in the
	// SDP file RTPSDP (default for record: beside the recording,
	// PREFIX.sdp; the other roles need rtp_sdp). Echo, record and play
	// only; the account then takes one call at a time. Loopback only
	// unless RTPAllowRemote: plain RTP is unencrypted.
	RTPSend        string `toml:"rtp_send"`
	RTPSDP         string `toml:"rtp_sdp"`
	RTPAllowRemote bool   `toml:"rtp_allow_remote"`
	// MaxParticipants bounds a conference room. Default 32.
	MaxParticipants int `toml:"max_participants"`
	// Announce sends join/leave chat messages in a conference room.
	// Default true.
	Announce *bool `toml:"announce"`
}

// The echo role's delay: DefaultEchoDelay when echo_delay is not set, at
// most MaxEchoDelay (rtp.MaxEchoDelay; longer is no echo test).
const (
	DefaultEchoDelay = time.Second
	MaxEchoDelay     = 10 * time.Second
)

// PartialMaxAgeValue returns partial_max_age, or def when it is unset.
func (a *Account) PartialMaxAgeValue(def time.Duration) time.Duration {
	if a.PartialMaxAge == nil {
		return def
	}
	return a.PartialMaxAge.Duration
}

// Calls an account holds at once (max_calls): DefaultMaxCalls unless set,
// at most MaxCallsLimit (a bound on what one account's process takes from
// a flood of allowed callers, above what bench/calls measures).
const (
	DefaultMaxCalls = 64
	MaxCallsLimit   = 5000
)

// EchoDelayValue returns the echo delay (0 when unset, before Defaults).
func (a *Account) EchoDelayValue() time.Duration {
	if a.EchoDelay == nil {
		return 0
	}
	return a.EchoDelay.Duration
}

func (a *Account) validate(key string) error {
	bad := func(sub, format string, args ...any) error {
		return fmt.Errorf("%w: %s.%s: %s", ErrInvalid, key, sub, fmt.Sprintf(format, args...))
	}
	local, domain, ok := strings.Cut(a.JID, "@")
	if !ok || local == "" || domain == "" || strings.ContainsAny(a.JID, "/ ") {
		return bad("jid", "%q is not a bare JID (user@domain)", a.JID)
	}
	n := 0
	for _, s := range []string{a.Password, a.PasswordFile, a.PasswordEnv} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return bad("password_file", "give exactly one of password, password_file, password_env")
	}
	if a.PasswordFile != "" {
		if err := readable(a.PasswordFile); err != nil {
			return bad("password_file", "%v", err)
		}
	}
	if a.PasswordEnv != "" && os.Getenv(a.PasswordEnv) == "" {
		return bad("password_env", "environment variable %s is empty or unset", a.PasswordEnv)
	}
	if a.Server != "" {
		if err := checkHostPort(a.Server); err != nil {
			return bad("server", "%v", err)
		}
	}
	if a.CAFile != "" {
		if err := readable(a.CAFile); err != nil {
			return bad("ca_file", "%v", err)
		}
	}
	if a.MaxDuration.Duration < 0 {
		return bad("max_duration", "must not be negative")
	}
	if a.MaxCalls < 0 || a.MaxCalls > MaxCallsLimit {
		return bad("max_calls", "%d is not between 1 and %d", a.MaxCalls, MaxCallsLimit)
	}
	if a.EchoDelay != nil {
		if a.Role != RoleEcho {
			return bad("echo_delay", "only the echo role echoes (role is %q)", a.Role)
		}
		if d := a.EchoDelay.Duration; d < 0 || d > MaxEchoDelay {
			return bad("echo_delay", "%v is not between 0s and %v", d, MaxEchoDelay)
		}
	}
	if err := a.validateRTPSend(bad); err != nil {
		return err
	}
	if a.PartialMaxAge != nil {
		if a.Role != RoleFiledrop {
			return bad("partial_max_age", "only filedrop keeps partial files (role is %q)", a.Role)
		}
		if a.PartialMaxAge.Duration < 0 {
			return bad("partial_max_age", "must not be negative")
		}
	}
	switch a.Subscriptions {
	case "", "allowed", "all", "none":
	default:
		return bad("subscriptions", "%q is not allowed, all or none", a.Subscriptions)
	}
	switch a.Role {
	case RoleEcho:
	case RoleRecord:
		if a.Dir == "" {
			return bad("dir", "the record role needs a directory for recordings")
		}
		if a.Greeting != "" {
			if err := readable(a.Greeting); err != nil {
				return bad("greeting", "%v", err)
			}
		}
	case RolePlay:
		if (a.File == "") == (a.RTPListen == "") {
			return bad("file", "the play role needs exactly one of file or rtp_listen")
		}
		if a.File != "" {
			if err := readable(a.File); err != nil {
				return bad("file", "%v", err)
			}
		}
		if a.RTPListen != "" {
			if err := checkHostPort(a.RTPListen); err != nil {
				return bad("rtp_listen", "%v", err)
			}
		}
		switch strings.ToLower(a.RTPCodec) {
		case "", "opus", "pcmu", "pcma", "g722":
		default:
			return bad("rtp_codec", "%q is not opus, PCMU, PCMA or G722", a.RTPCodec)
		}
		if a.RTPCodec != "" && a.RTPListen == "" {
			return bad("rtp_codec", "says what rtp_listen carries: set rtp_listen too")
		}
	case RoleFiledrop:
		if a.Dir == "" && a.ServeDir == "" {
			return bad("dir", "the filedrop role needs dir (to receive) or serve_dir (to serve)")
		}
		if a.MaxFileSize < 0 {
			return bad("max_file_size", "must not be negative")
		}
	case RoleConference:
		if a.MaxParticipants < 0 {
			return bad("max_participants", "must not be negative")
		}
	case "":
		return bad("role", "missing (echo, record, play, filedrop or conference)")
	default:
		return bad("role", "%q is not echo, record, play, filedrop or conference", a.Role)
	}
	return nil
}

// Defaults fills what the file left out; call after Validate.
func (a *Account) Defaults() {
	if a.Resource == "" {
		a.Resource = "jingled"
	}
	if a.Server == "" {
		_, domain, _ := strings.Cut(a.JID, "@")
		a.Server = net.JoinHostPort(domain, "5222")
	}
	if a.MaxDuration.Duration == 0 {
		a.MaxDuration.Duration = 10 * time.Minute
	}
	if a.MaxCalls == 0 {
		a.MaxCalls = DefaultMaxCalls
	}
	if a.EchoDelay == nil && a.Role == RoleEcho {
		a.EchoDelay = &duration{DefaultEchoDelay}
	}
	if a.MaxFileSize == 0 {
		a.MaxFileSize = 100 << 20
	}
	if a.Subscriptions == "" {
		a.Subscriptions = "allowed"
	}
}

// Secret returns the account's password from wherever the config says.
func (a *Account) Secret() (string, error) {
	return secretFrom(a.Password, a.PasswordFile, a.PasswordEnv, "password_file")
}

// Allowed reports whether bare JID peer may call or send to this account.
func (a *Account) Allowed(peer string) bool {
	_, own, _ := strings.Cut(a.JID, "@")
	return matchJID(a.Allow, peer, own)
}

// matchJID reports whether peer (bare or full JID) matches list: a bare
// JID, a domain, or "*". An empty list admits the users of ownDomain.
func matchJID(list []string, peer, ownDomain string) bool {
	if i := strings.IndexByte(peer, '/'); i >= 0 {
		peer = peer[:i]
	}
	_, domain, _ := strings.Cut(peer, "@")
	if len(list) == 0 {
		return strings.EqualFold(domain, ownDomain)
	}
	for _, x := range list {
		if x == "*" || strings.EqualFold(x, peer) || (!strings.Contains(x, "@") && strings.EqualFold(x, domain)) {
			return true
		}
	}
	return false
}
