package rtp

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/jingle"
)

// fastFail shortens pion's ICE timeouts so failure tests end quickly.
func fastFail(t *testing.T) PeerOptions {
	o := loopback(t)
	o.Configure = func(s *webrtc.SettingEngine) {
		s.SetICETimeouts(time.Second, time.Second, 200*time.Millisecond)
	}
	return o
}

var portAttr = regexp.MustCompile(`port=['"][0-9]+['"]`)

// TestICEFailureEndsWithConnectivityError: every candidate points to a
// dead port, so ICE fails; the call must end with connectivity-error.
func TestICEFailureEndsWithConnectivityError(t *testing.T) {
	l := newLink()
	l.filter = func(_, _ string, iq *jingle.IQ) *jingle.IQ {
		if bytes.Contains(iq.Payload, []byte("<candidate")) {
			iq.Payload = portAttr.ReplaceAll(iq.Payload, []byte(`port="9"`))
		}
		return iq
	}
	bobApp := NewApplication(ApplicationOptions{Peer: fastFail(t), AutoAnswer: &MediaOptions{Echo: true}})
	aliceMgr := l.manager(t, alice, jingle.WithTransport(ICEUDP{}))
	l.manager(t, bob, bobApp.Options()...)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	call, err := Dial(ctx, aliceMgr, bob, CallOptions{Peer: fastFail(t)})
	if err != nil {
		t.Fatal(err)
	}
	r := waitEnd(t, call, 60*time.Second)
	if r.Condition != jingle.ReasonConnectivityError {
		t.Fatalf("call ended with %s, want connectivity-error", r)
	}
	// The reason text carries the ICE diagnostics (diagnostics.go).
	t.Logf("reason: %s", r.Text)
	if !strings.Contains(r.Text, ErrICEFailed.Error()) || !strings.Contains(r.Text, "host") {
		t.Errorf("reason text %q lacks the ICE diagnostics", r.Text)
	}
}

var fingerprintValue = regexp.MustCompile(`(<fingerprint[^>]*>)([0-9A-F:]+)(</fingerprint>)`)

// TestDTLSFailureEndsWithSecurityError: the answer's fingerprint is not
// the callee's certificate, so ICE connects but DTLS must fail and the
// call must end with security-error.
func TestDTLSFailureEndsWithSecurityError(t *testing.T) {
	l := newLink()
	l.filter = func(from, _ string, iq *jingle.IQ) *jingle.IQ {
		if from == bob && bytes.Contains(iq.Payload, []byte("session-accept")) {
			iq.Payload = fingerprintValue.ReplaceAll(iq.Payload,
				[]byte("${1}00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF${3}"))
		}
		return iq
	}
	bobApp := NewApplication(ApplicationOptions{Peer: fastFail(t), AutoAnswer: &MediaOptions{Echo: true}})
	aliceMgr := l.manager(t, alice, jingle.WithTransport(ICEUDP{}))
	l.manager(t, bob, bobApp.Options()...)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	call, err := Dial(ctx, aliceMgr, bob, CallOptions{Peer: fastFail(t)})
	if err != nil {
		t.Fatal(err)
	}
	if r := waitEnd(t, call, 60*time.Second); r.Condition != jingle.ReasonSecurityError {
		t.Errorf("call ended with %s, want security-error", r)
	}
}
