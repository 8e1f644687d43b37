package nat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/internal/xmpp"
	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/rtp"
)

func init() {
	roles["peer"] = rolePeer
}

// peerInput configures one call peer in a LAN namespace.
type peerInput struct {
	XMPPAddr string `json:"xmpp_addr"`
	CAFile   string `json:"ca_file"`
	JID      string `json:"jid"`
	Password string `json:"password"`
	Resource string `json:"resource"`
	// Call is the full JID to call; empty answers one incoming call.
	Call       string             `json:"call"`
	ICEServers []webrtc.ICEServer `json:"ice_servers"`
	// ConePorts binds ICE's UDP sockets in netnstest.ConePorts (the
	// range the cone routers forward).
	ConePorts bool `json:"cone_ports"`
	// Audio is the file to send, Record the prefix to record to.
	Audio  string `json:"audio"`
	Record string `json:"record"`
	// Duration hangs up (caller) this long after media connected.
	Duration time.Duration `json:"duration"`
	// FailTimeout is pion's ICE failed timeout (0: pion's 25 s).
	FailTimeout time.Duration `json:"fail_timeout"`
}

// peerEvent is what a peer reports: "ready" once logged in, "ended"
// when its call is over.
type peerEvent struct {
	Event  string    `json:"event"`
	JID    string    `json:"jid,omitempty"`
	Reason string    `json:"reason,omitempty"`
	Text   string    `json:"text,omitempty"`
	Stats  rtp.Stats `json:"stats"`
	// Accepted is when the callee accepted (caller side) or when the call
	// arrived (callee side); Ended when the call ended.
	Accepted time.Time `json:"accepted"`
	Ended    time.Time `json:"ended"`
	Events   []string  `json:"events,omitempty"`
}

// rolePeer logs into Prosody on the public host, then places or answers
// one call with the rtp package (our call engine, unchanged), and reports
// how it ended with the final stats, including the selected candidate
// pair.
func rolePeer(ctx context.Context, in []byte, _ <-chan string, out *json.Encoder) error {
	var pi peerInput
	if err := json.Unmarshal(in, &pi); err != nil {
		return err
	}
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
	// The LAN namespace holds only lo and the LAN link: gathering on
	// everything reaches nothing beyond the topology.
	popts := rtp.PeerOptions{ICEServers: pi.ICEServers, Logger: log, Configure: func(s *webrtc.SettingEngine) { configureICE(s, pi) }}
	incoming := make(chan *rtp.Call, 1)
	var opts []jingle.Option
	if pi.Call == "" {
		app := rtp.NewApplication(rtp.ApplicationOptions{
			Peer:       popts,
			AutoAnswer: &rtp.MediaOptions{Audio: pi.Audio, Record: pi.Record},
			OnIncoming: func(c *rtp.Call) {
				select {
				case incoming <- c:
				default:
				}
			},
		})
		opts = app.Options()
	} else {
		opts = []jingle.Option{jingle.WithTransport(rtp.ICEUDP{})}
	}
	mgr := jingle.NewManager(c.JID(), c, append(opts, jingle.WithLogger(log))...)
	c.Serve(mgr)
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = mgr.Close(cctx)
		cancel()
	}()
	if err := out.Encode(peerEvent{Event: "ready", JID: c.JID()}); err != nil {
		return err
	}
	var call *rtp.Call
	ev := peerEvent{Event: "ended"}
	if pi.Call != "" {
		dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		call, err = rtp.Dial(dctx, mgr, pi.Call, rtp.CallOptions{
			MediaOptions: rtp.MediaOptions{Audio: pi.Audio, Record: pi.Record, Duration: pi.Duration},
			Peer:         popts,
		})
		cancel()
		if err != nil {
			return fmt.Errorf("dialling: %w", err)
		}
	} else {
		select {
		case call = <-incoming:
			ev.Accepted = time.Now()
		case <-ctx.Done():
			return errors.New("no call came")
		}
	}
	for e := range call.Events() {
		log.Info("call event", "type", e.Type, "reason", e.Reason, "text", e.Text)
		ev.Events = append(ev.Events, string(e.Type))
		if e.Type == rtp.EventAccepted {
			ev.Accepted = time.Now()
		}
	}
	ev.Ended = time.Now()
	if r := call.Reason(); r != nil {
		ev.Reason, ev.Text = string(r.Condition), r.Text
	}
	ev.Stats = call.Stats()
	if err := out.Encode(ev); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}
