package nat

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	pionice "github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/filetransfer"
	"github.com/jingled/jingled/filetransfer/datachannel"
	"github.com/jingled/jingled/internal/netnstest"
	"github.com/jingled/jingled/internal/xmpp"
	"github.com/jingled/jingled/jingle"
)

// fileSize is issue 7's file: 20 MiB.
const fileSize = 20 << 20

func init() {
	roles["files"] = roleFiles
}

// filesInput configures a file peer: the sender when Send is set, else
// a receiver of one file into Dir.
type filesInput struct {
	peerInput
	Send string `json:"send"`
	Dir  string `json:"dir"`
}

// fileResult is a peer's report of its transfer.
type fileResult struct {
	Transport   string `json:"transport"`
	Transferred int64  `json:"transferred"`
	Path        string `json:"path"`
	SHA256      string `json:"sha256"`
	Reason      string `json:"reason"`
	Err         string `json:"err,omitempty"`
}

// roleFiles logs into Prosody and sends or receives one file with the
// filetransfer package over the datachannel transport only (XEP-0343:
// ICE, DTLS and SCTP through the NATs).
func roleFiles(ctx context.Context, in []byte, _ <-chan string, out *json.Encoder) error {
	var fi filesInput
	if err := json.Unmarshal(in, &fi); err != nil {
		return err
	}
	pi := fi.peerInput
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("me", pi.Resource)
	c, err := xmpp.New(xmpp.Config{
		JID: pi.JID, Password: pi.Password, Resource: pi.Resource,
		Addr: pi.XMPPAddr, CAFile: pi.CAFile, MaxAttempts: 3, Logger: log,
	})
	if err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = c.Start(sctx)
	cancel()
	if err != nil {
		return fmt.Errorf("logging in: %w", err)
	}
	defer c.Close()
	dc := datachannel.New(datachannel.WithICEServers(pi.ICEServers...), datachannel.WithLogger(log),
		datachannel.WithSettingEngine(func(s *webrtc.SettingEngine) { configureICE(s, pi) }))
	results := make(chan *filetransfer.Result, 1)
	opts := []filetransfer.Option{
		filetransfer.WithTransports(dc),
		filetransfer.WithLogger(log),
		filetransfer.WithResults(func(r *filetransfer.Result) {
			select {
			case results <- r:
			default:
			}
		}),
	}
	if fi.Send == "" {
		d, err := filetransfer.OpenDir(fi.Dir)
		if err != nil {
			return err
		}
		defer d.Close()
		opts = append(opts, filetransfer.WithReceiveDir(d), filetransfer.WithAutoAccept(filetransfer.AcceptPolicy{MaxSize: -1}))
	}
	app := filetransfer.New(opts...)
	defer app.Close()
	mopts := []jingle.Option{jingle.WithApplication(app), jingle.WithTransport(dc), jingle.WithLogger(log)}
	for _, v := range app.Versions() {
		mopts = append(mopts, jingle.WithApplication(v))
	}
	mgr := jingle.NewManager(c.JID(), c, mopts...)
	c.Serve(mgr)
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = mgr.Close(cctx)
		cancel()
	}()
	if err := out.Encode(peerEvent{Event: "ready", JID: c.JID()}); err != nil {
		return err
	}
	var r *filetransfer.Result
	if fi.Send != "" {
		r, err = app.Send(ctx, mgr, pi.Call, fi.Send, filetransfer.SendOptions{Transport: filetransfer.FamilyDataChannel})
		if err != nil && r == nil {
			return fmt.Errorf("sending: %w", err)
		}
	} else {
		select {
		case r = <-results:
		case <-ctx.Done():
			return errors.New("no file came")
		}
	}
	res := fileResult{Transport: r.Transport, Transferred: r.Transferred, Path: r.Path}
	if r.Reason != nil {
		res.Reason = string(r.Reason.Condition)
	}
	if r.Err != nil {
		res.Err = r.Err.Error()
	}
	if r.Path != "" {
		if res.SHA256, err = fileSHA256(r.Path); err != nil {
			res.Err = err.Error()
		}
	}
	if err := out.Encode(res); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

// configureICE applies a peer's ICE settings to a SettingEngine: IPv4
// UDP, no mDNS (its names cannot travel in Jingle), the cone port range
// and the failure timeout when asked.
func configureICE(s *webrtc.SettingEngine, pi peerInput) {
	s.SetICEMulticastDNSMode(pionice.MulticastDNSModeDisabled)
	s.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	if pi.ConePorts {
		_ = s.SetEphemeralUDPPortRange(netnstest.ConePorts[0], netnstest.ConePorts[1])
	}
	if pi.FailTimeout > 0 {
		s.SetICETimeouts(pi.FailTimeout/2, pi.FailTimeout, time.Second)
	}
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// TestFileAcrossNAT is issue 7's file acceptance: in each NAT variant a
// 20 MiB file goes from LAN A to LAN B over the datachannel transport
// (signalled through Prosody), arrives with the right SHA-256, and took
// the path the variant allows. The data channel does not report its
// candidate pair, so the path is read where it cannot lie: the relay's
// byte counters (all 20 MiB through it, or almost nothing) and router B's
// counters of its TURN-over-TCP/TLS stream.
func TestFileAcrossNAT(t *testing.T) {
	payload := make([]byte, fileSize)
	_, _ = rand.Read(payload)
	src := filepath.Join(t.TempDir(), "payload.bin")
	if err := os.WriteFile(src, payload, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(payload)
	want := hex.EncodeToString(sum[:])
	for _, c := range callCases {
		t.Run(c.name, func(t *testing.T) {
			topo := netnstest.New(t, c.variant)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			if c.stream != "" {
				accountTURNStreams(ctx, t, topo)
			}
			pub := startPublic(t, topo, []string{"alice", "bob"}, false)
			env := []string{"SSL_CERT_FILE=" + filepath.Join(pub.dir, "turn-cert.pem")}
			recv := filesInput{peerInput: peerBase(topo, pub, c, 1, "bob", 0), Dir: t.TempDir()}
			bob := startRole(t, topo, topo.Sides[1].LAN, "files", recv, env...)
			var ready peerEvent
			bob.next(t, &ready, 60*time.Second)
			send := filesInput{peerInput: peerBase(topo, pub, c, 0, "alice", 0), Send: src}
			send.Call = ready.JID
			alice := startRole(t, topo, topo.Sides[0].LAN, "files", send, env...)
			alice.next(t, &ready, 60*time.Second)
			var sent, got fileResult
			alice.next(t, &sent, 2*time.Minute)
			bob.next(t, &got, 30*time.Second)
			t.Logf("sender: %+v", sent)
			t.Logf("receiver: %+v", got)
			if sent.Err != "" || got.Err != "" || got.Reason != "success" {
				t.Fatalf("transfer failed: sender %q (%s), receiver %q (%s)", sent.Err, sent.Reason, got.Err, got.Reason)
			}
			if filetransfer.Family(got.Transport) != filetransfer.FamilyDataChannel {
				t.Errorf("transport %q, want the datachannel", got.Transport)
			}
			if got.SHA256 != want || got.Transferred != fileSize {
				t.Fatalf("received %d bytes hashing %s, want %d bytes hashing %s", got.Transferred, got.SHA256, fileSize, want)
			}
			relayed := pub.relayedBytes(t)
			t.Logf("the relay carried %.0f bytes (both directions)", relayed)
			switch c.variant {
			case netnstest.Symmetric, netnstest.UDPBlocked:
				if relayed < fileSize {
					t.Errorf("%s: only %.0f bytes went through the relay, want the whole file", c.variant, relayed)
				}
			case netnstest.Cone:
				if relayed > fileSize/10 {
					t.Errorf("cone: %.0f bytes went through the relay, want a direct path", relayed)
				}
			}
			if c.stream != "" {
				_, n, err := topo.Counter(ctx, 1, "turn-"+c.stream)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("router B forwarded %d bytes to the relay over TURN-%s", n, c.stream)
				if n < fileSize {
					t.Errorf("only %d bytes crossed router B in its TURN-%s stream, want the whole file", n, c.stream)
				}
			}
		})
	}
}
