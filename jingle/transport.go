package jingle

import (
	"context"
	"io"
)

// Transports plug in once, on the Manager (WithTransport), for every
// application: the manager advertises their features, refuses offers
// whose transport namespace none of them has (unsupported-transports) and
// lists them by priority for fallback (Manager.Transports). An
// application finds them there, by the session's manager: filetransfer
// asks a StreamTransport for a TransportHandle per content and falls back
// to the next one with transport-replace. A Datagram transport carries
// RTP: the rtp package registers ICE-UDP (rtp.ICEUDP), whose work is done
// by the PeerConnection of each call, so it needs no handle here.

// TransportKind tells what a transport yields (Dino's
// content_transport.vala / component.vala split).
type TransportKind int

// Transport kinds.
const (
	// Datagram transports carry RTP (ICE-UDP).
	Datagram TransportKind = iota + 1
	// Stream transports carry a byte stream (SOCKS5, IBB, datachannel).
	Stream
)

func (k TransportKind) String() string {
	switch k {
	case Datagram:
		return "datagram"
	case Stream:
		return "stream"
	}
	return "unknown"
}

// Transport plugs a transport namespace into the Manager.
type Transport interface {
	// Namespace is the transport namespace.
	Namespace() string
	// Features are the XEP-0030 features it adds, Namespace included.
	Features() []string
	// Kind says whether it carries datagrams or a stream.
	Kind() TransportKind
	// Priority orders fallback: higher is tried first (datachannel over
	// SOCKS5 over IBB for files).
	Priority() int
}

// StreamTransport is a Transport that yields a byte stream for a content,
// the way mellium/xmpp's ibb.Conn is a net.Conn.
type StreamTransport interface {
	Transport
	// NewHandle prepares the transport of one content of the session s.
	// The handle speaks for our side; the application puts Local() into
	// its offer or answer and feeds the peer's transport elements to
	// HandleRemote. It may be called before the session exists (see
	// TransportSession).
	NewHandle(ctx context.Context, s TransportSession, content string) (TransportHandle, error)
}

// TransportSession is what a transport handle needs of its session: the
// two parties, our role, and a way to send its own actions
// (transport-info). *Session implements it. An initiator needs its
// transport element for session-initiate, before Manager.Initiate
// creates the session, so an application may pass its own
// TransportSession whose Send waits until the session runs.
type TransportSession interface {
	// Local is our full JID, Peer the other party's.
	Local() string
	Peer() string
	// IsInitiator reports whether we initiate the session.
	IsInitiator() bool
	// Send sends an action of the transport and waits for the peer's
	// acknowledgement (Session.Send): handles call it from their own
	// goroutines, never from HandleRemote, which runs in the session's
	// loop.
	Send(ctx context.Context, j *Jingle) error
}

// TransportHandle is one content's transport on one session.
type TransportHandle interface {
	// Local returns our <transport/> element for session-initiate,
	// session-accept, transport-replace or transport-accept.
	Local(ctx context.Context) (Element, error)
	// HandleRemote takes the peer's <transport/> from session-initiate,
	// session-accept, transport-info, transport-replace or
	// transport-accept. It must not block.
	HandleRemote(ctx context.Context, a Action, t Element) error
	// Conn waits until the stream is established, or fails with the reason
	// the transport gave up (the caller then tries the next transport).
	Conn(ctx context.Context) (io.ReadWriteCloser, error)
	// Close releases the transport's resources.
	Close() error
}

var _ TransportSession = (*Session)(nil)
