package config

import (
	"strings"
	"testing"
)

func TestRTPSend(t *testing.T) {
	t.Setenv("TEST_ECHO_PW", "pw")
	for _, c := range []struct {
		name, role, extra string
		wantKey           string // "" means valid
	}{
		{"record beside the recording", "record", `rtp_send = "127.0.0.1:5004"`, ""},
		{"echo with an SDP file", "echo", "rtp_send = \"localhost:5004\"\nrtp_sdp = \"/tmp/echo.sdp\"", ""},
		{"echo without an SDP file", "echo", `rtp_send = "127.0.0.1:5004"`, "rtp_sdp"},
		{"not loopback", "record", `rtp_send = "192.0.2.4:5004"`, "rtp_send"},
		{"not loopback, allowed", "record", "rtp_send = \"192.0.2.4:5004\"\nrtp_allow_remote = true", ""},
		{"not host:port", "record", `rtp_send = "5004"`, "rtp_send"},
		{"filedrop takes no calls", "filedrop", `rtp_send = "127.0.0.1:5004"`, "rtp_send"},
		{"sdp alone", "record", `rtp_sdp = "/tmp/x.sdp"`, "rtp_sdp"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := strings.Replace(good, `role = "echo"`, "role = \""+c.role+"\"\ndir = \"/tmp\"\n"+c.extra, 1)
			_, err := Parse([]byte(cfg), t.TempDir(), nil, nil)
			if c.wantKey == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "account[0]."+c.wantKey) {
				t.Fatalf("want an error naming %s, got %v", c.wantKey, err)
			}
		})
	}
}
