package xmpp

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/prosodytest"
)

// TestRetryDelay pins the reconnection schedule: doubling from the first
// delay, capped, plus up to 20 % jitter on top of the base.
func TestRetryDelay(t *testing.T) {
	const ms = time.Millisecond
	for _, tc := range []struct {
		name             string
		lo, hi           time.Duration
		attempt          int
		jitter           float64
		wantBase, wantAt time.Duration
	}{
		{"first attempt, no jitter", 500 * ms, time.Minute, 1, 0, 500 * ms, 500 * ms},
		{"second doubles", 500 * ms, time.Minute, 2, 0, time.Second, time.Second},
		{"fifth", 500 * ms, time.Minute, 5, 0, 8 * time.Second, 8 * time.Second},
		{"capped at max", 500 * ms, time.Minute, 9, 0, time.Minute, time.Minute},
		{"far beyond the cap does not overflow", 500 * ms, time.Minute, 500, 0, time.Minute, time.Minute},
		{"half jitter adds 10 %", time.Second, time.Minute, 1, 0.5, time.Second, 1100 * ms},
		{"full jitter adds 20 % of the capped base", 500 * ms, time.Minute, 20, 1, time.Minute, 72 * time.Second},
		{"jitter below 0 is none", time.Second, time.Minute, 1, -3, time.Second, time.Second},
		{"jitter above 1 is 1", time.Second, time.Minute, 1, 7, time.Second, 1200 * ms},
		{"max below min: min", time.Second, time.Second, 4, 0, time.Second, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base, at := retryDelay(tc.lo, tc.hi, tc.attempt, tc.jitter)
			if base != tc.wantBase || at != tc.wantAt {
				t.Fatalf("retryDelay(%v, %v, %d, %v) = %v, %v; want %v, %v", tc.lo, tc.hi, tc.attempt, tc.jitter, base, at, tc.wantBase, tc.wantAt)
			}
		})
	}
}

// TestRetryWait: a bounded reconnection never sleeps past its bound and
// stops once the bound has passed.
func TestRetryWait(t *testing.T) {
	now := time.Date(2026, 12, 6, 7, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		delay    time.Duration
		deadline time.Time
		want     time.Duration
		ok       bool
	}{
		{"no deadline: the whole delay", 8 * time.Second, time.Time{}, 8 * time.Second, true},
		{"deadline far: the whole delay", 8 * time.Second, now.Add(time.Minute), 8 * time.Second, true},
		{"deadline sooner: up to it", 8 * time.Second, now.Add(3 * time.Second), 3 * time.Second, true},
		{"deadline now: no attempt left", 8 * time.Second, now, 0, false},
		{"deadline passed: no attempt left", 8 * time.Second, now.Add(-time.Second), 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := retryWait(tc.delay, now, tc.deadline)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("retryWait = %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

// TestReconnectForGivesUp: a client whose server is gone for good stops
// once ReconnectFor has passed since the loss: Done closes and Err says
// when the stream was lost and why the last attempt failed. Before, a
// client that stopped reconnecting did so silently and its program lived
// on without a connection.
func TestReconnectForGivesUp(t *testing.T) {
	srv := prosodytest.Shared(t)
	cut := newCutter(t, srv.Addr)
	var mu sync.Mutex
	var kinds []EventKind
	c := newClient(t, srv, srv.NewAccount(t, "gone"), "desk", func(c *Config) {
		c.Addr = cut.l.Addr().String()
		c.MinBackoff = 20 * time.Millisecond
		c.ReconnectFor = 300 * time.Millisecond
		c.OnEvent = func(e Event) {
			mu.Lock()
			kinds = append(kinds, e.Kind)
			mu.Unlock()
		}
	})
	// The server is gone: nothing listens at the address any more.
	cut.l.Close()
	cut.cut()
	select {
	case <-c.Done():
	case <-testCtx(t).Done():
		t.Fatal("the client still runs after ReconnectFor")
	}
	var gu *GaveUpError
	if err := c.Err(); !errors.As(err, &gu) || !errors.Is(err, ErrGaveUp) {
		t.Fatalf("Err() = %v, want a *GaveUpError", err)
	}
	var op *net.OpError
	if gu.For != 300*time.Millisecond || gu.Lost.IsZero() || gu.Attempts < 2 || !errors.As(gu, &op) {
		t.Fatalf("GaveUpError %+v: want the bound, the loss time, several attempts and the dial error", gu)
	}
	mu.Lock()
	defer mu.Unlock()
	if last := kinds[len(kinds)-1]; last != EventGaveUp {
		t.Fatalf("events %v: want gave-up last", kinds)
	}
}

// TestHandshakeFailureClass: a STARTTLS handshake cut by the connection
// going away is retried; one the certificate fails, or the server's TLS
// refuses, is not.
func TestHandshakeFailureClass(t *testing.T) {
	op := func(op string, err error) error {
		return &net.OpError{Op: op, Net: "tcp", Err: &os.SyscallError{Syscall: op, Err: err}}
	}
	for _, tc := range []struct {
		name      string
		err       error
		permanent bool
	}{
		{"eof", io.EOF, false},
		{"reset", op("read", syscall.ECONNRESET), false},
		{"broken pipe", op("write", syscall.EPIPE), false},
		{"timeout", op("read", os.ErrDeadlineExceeded), false},
		{"unknown authority", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, true},
		{"other name", x509.HostnameError{Certificate: &x509.Certificate{}, Host: "localhost"}, true},
		{"protocol version", tls.AlertError(70), true},
	} {
		err := tlsHandshakeError(tc.err)
		if got := permanentClient(err); got != tc.permanent {
			t.Errorf("%s: permanent %v, want %v (%v)", tc.name, got, tc.permanent, err)
		}
	}
}
