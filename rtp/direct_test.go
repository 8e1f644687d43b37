package rtp

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	pionrtp "github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/transport/v4/stdnet"
	"golang.org/x/net/ipv4"
)

// TestDirectStreamCounts: the direct path's loss count follows RFC 3550
// A.1: sequence numbers extended across the wrap, reordering is not loss.
func TestDirectStreamCounts(t *testing.T) {
	for _, tc := range []struct {
		name string
		seqs []uint16
		lost uint64
	}{
		{"in order", []uint16{10, 11, 12}, 0},
		{"gap", []uint16{10, 12, 13}, 1},
		{"reordered", []uint16{10, 12, 11}, 0},
		{"wrap", []uint16{65534, 65535, 0, 1}, 0},
		{"gap across the wrap", []uint16{65534, 1}, 2},
		{"late packet from before the wrap", []uint16{65535, 1, 0}, 0},
		{"late packet right after the first", []uint16{5, 7, 4}, 1},
		{"first after the wrap, late one from before", []uint16{1, 65535}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s directStream
			for _, q := range tc.seqs {
				s.count(&pionrtp.Packet{Header: pionrtp.Header{SequenceNumber: q}})
			}
			c := s.counts()
			if c.packets != uint64(len(tc.seqs)) || c.lost != tc.lost {
				t.Errorf("packets %d lost %d, want %d and %d", c.packets, c.lost, len(tc.seqs), tc.lost)
			}
		})
	}
}

// TestDirectTake: take hands an armed stream's authentic packets to its
// sink, drops forged and replayed ones (taken, never delivered), and
// leaves everything else to pion: STUN, DTLS, RTCP, streams not armed.
//
// With reuse (a CopyingSink) the packet is parsed into pooled memory; what
// the sink copied during deliver stays right while later packets reuse it.
func TestDirectTake(t *testing.T) {
	for _, reuse := range []bool{false, true} {
		t.Run(fmt.Sprintf("reuse=%v", reuse), func(t *testing.T) { testDirectTake(t, reuse) })
	}
}

func testDirectTake(t *testing.T, reuse bool) {
	rx, packet := directPair(t)
	var got []*pionrtp.Packet
	deliver := func(p *pionrtp.Packet) { got = append(got, p) }
	if reuse {
		deliver = func(p *pionrtp.Packet) { got = append(got, p.Clone()) }
	}
	rx.streams[1234] = &directStream{content: "audio", deliver: deliver, reuse: reuse}
	rx.armed.Store(1)
	good := packet(1234, 1)
	forged := packet(1234, 2)
	forged[len(forged)-1] ^= 1
	rtcp := []byte{0x80, 200, 0, 6, 0, 0, 0x04, 0xd2, 0, 0, 0, 0}
	for _, tc := range []struct {
		name    string
		b       []byte
		taken   bool
		deliver int
	}{
		{"STUN", []byte{0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, false, 0},
		{"DTLS", []byte{22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, false, 0},
		{"RTCP sender report", rtcp, false, 0},
		{"stream not armed", packet(99, 1), false, 0},
		{"armed stream", good, true, 1},
		{"replayed", good, true, 1},
		{"forged", forged, true, 1},
		{"short", good[:8], false, 1},
	} {
		if taken := rx.take(append([]byte(nil), tc.b...)); taken != tc.taken {
			t.Errorf("%s: taken %v, want %v", tc.name, taken, tc.taken)
		}
		if len(got) != tc.deliver {
			t.Errorf("%s: %d packets delivered, want %d", tc.name, len(got), tc.deliver)
		}
	}
	if len(got) == 1 && (string(got[0].Payload) != "opus frame" || got[0].SequenceNumber != 1) {
		t.Errorf("delivered %+v", got[0])
	}
	if c := rx.counts("audio"); c.packets != 1 {
		t.Errorf("counted %+v, want 1 packet", c)
	}
	if s := rx.streams[1234]; s.authFailed != 2 {
		t.Errorf("%d packets failed authentication, want 2 (replay, forgery)", s.authFailed)
	}
	if reuse {
		// More packets through the same scratch (a second stream) leave
		// the copies made of the earlier ones be.
		rx.streams[5678] = &directStream{content: "audio2", deliver: deliver, reuse: true}
		rx.armed.Store(2)
		for q := uint16(10); q < 20; q++ {
			if !rx.take(packet(5678, q)) {
				t.Fatalf("packet %d of the second stream not taken", q)
			}
		}
		if len(got) != 11 {
			t.Fatalf("%d packets delivered, want 11", len(got))
		}
		for i, p := range got {
			want := uint16(1)
			if i > 0 {
				want = uint16(9 + i)
			}
			if string(p.Payload) != "opus frame" || p.SequenceNumber != want {
				t.Errorf("packet %d: seq %d payload %q, want %d %q", i, p.SequenceNumber, p.Payload, want, "opus frame")
			}
		}
		rx.disarm(5678)
	}
	rx.disarm(1234)
	if rx.take(packet(1234, 3)) {
		t.Error("a disarmed stream's packet was taken")
	}
	if c := rx.counts("audio"); c.packets != 1 {
		t.Errorf("after disarm counted %+v, want the stream's 1 packet kept", c)
	}
}

// TestDirectTakeAfterWrap: a stream whose sequence numbers wrap between
// pion's last packet and the direct path's first is still decrypted (the
// direct context starts at rollover counter 1, as the sender's is).
func TestDirectTakeAfterWrap(t *testing.T) {
	for _, tc := range []struct {
		name      string
		pions     []uint16 // what pion decrypted before the arm
		direct    []uint16
		delivered int
	}{
		{"no wrap", []uint16{100}, []uint16{101, 102}, 2},
		{"wrap right after the arm", []uint16{65534, 65535}, []uint16{0, 1}, 2},
		{"wrap later", []uint16{65000}, []uint16{65001, 65535, 0, 1}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rx, packet := directPair(t)
			for _, q := range tc.pions {
				packet(42, q)
			}
			n := 0
			rx.streams[42] = &directStream{content: "audio", armSeq: tc.pions[len(tc.pions)-1], deliver: func(*pionrtp.Packet) { n++ }}
			rx.armed.Store(1)
			for _, q := range tc.direct {
				rx.take(packet(42, q))
			}
			if n != tc.delivered {
				t.Errorf("%d packets delivered, want %d (auth failures %d)", n, tc.delivered, rx.streams[42].authFailed)
			}
		})
	}
}

// directPair is a direct receiver with no stream armed yet, and a
// function that makes the SRTP packets a peer with the same keys sends

// TestDirectTakeStreams: packets of two armed streams in turn each reach
// their own sink (take remembers the last stream looked up, and must not
// hand one stream's packet to the other's); a disarmed stream's packets,
// the last looked up or not, are left to pion at once; each stream's
// jitter state, found once when armed, sees its packets.
func TestDirectTakeStreams(t *testing.T) {
	rx, packet := directPair(t)
	rx.jitter = newJitterMeter()
	got := map[string][]uint16{}
	arm := func(ssrc uint32, content string) {
		rx.jitter.streams[ssrc] = &jitterState{clockRate: 48000}
		rx.mu.Lock()
		rx.streams[ssrc] = &directStream{content: content, jitter: rx.jitter.state(ssrc),
			deliver: func(p *pionrtp.Packet) { got[content] = append(got[content], p.SequenceNumber) }}
		rx.armed.Store(int32(len(rx.streams)))
		rx.mu.Unlock()
	}
	arm(1, "a")
	arm(2, "b")
	for q := uint16(1); q <= 3; q++ {
		for _, ssrc := range []uint32{1, 2, 2} {
			if !rx.take(packet(ssrc, q*10+uint16(ssrc)+uint16(len(got["b"])))) {
				t.Fatalf("packet of stream %d not taken", ssrc)
			}
		}
	}
	if len(got["a"]) != 3 || len(got["b"]) != 6 {
		t.Fatalf("delivered %v, want 3 to a and 6 to b", got)
	}
	for _, ssrc := range []uint32{1, 2} {
		if st := rx.jitter.streams[ssrc]; !st.started {
			t.Errorf("stream %d's jitter state saw no packet", ssrc)
		}
	}
	rx.disarm(2) // the last one taken
	if rx.take(packet(2, 100)) {
		t.Error("a disarmed stream's packet was taken")
	}
	if !rx.take(packet(1, 100)) {
		t.Error("the other stream's packet was not taken after a disarm")
	}
	rx.disarm(1)
	if rx.take(packet(1, 101)) || len(got["a"]) != 4 || len(got["b"]) != 6 {
		t.Errorf("after both disarmed: delivered %v", got)
	}
}

// (payload "opus frame").
func directPair(t *testing.T) (*directRx, func(ssrc uint32, seq uint16) []byte) {
	t.Helper()
	key, salt := bytes.Repeat([]byte{7}, 16), bytes.Repeat([]byte{9}, 14)
	profile := srtp.ProtectionProfileAes128CmHmacSha1_80
	send, err := srtp.CreateContext(key, salt, profile)
	if err != nil {
		t.Fatal(err)
	}
	rx := newDirectRx(nil, nil)
	if rx.srtp, err = directContext(key, salt, profile); err != nil {
		t.Fatal(err)
	}
	return rx, func(ssrc uint32, seq uint16) []byte {
		p := pionrtp.Packet{Header: pionrtp.Header{Version: 2, PayloadType: 111, SequenceNumber: seq, SSRC: ssrc}, Payload: []byte("opus frame")}
		b, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		enc, err := send.EncryptRTP(nil, b, nil)
		if err != nil {
			t.Fatal(err)
		}
		return enc
	}
}

// TestTxStreamFollow: direct send takes over a stream with the rollover
// counter pion's context has, counted from every sequence number.
func TestTxStreamFollow(t *testing.T) {
	for _, tc := range []struct {
		name string
		seqs []uint16
		roc  uint32
	}{
		{"no wrap", []uint16{1, 2, 3}, 0},
		{"wrap", []uint16{65534, 65535, 0}, 1},
		{"reordered across the wrap", []uint16{65535, 1, 0, 2}, 1},
		{"two wraps", []uint16{65535, 0, 16000, 32000, 48000, 65535, 0}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s txStream
			for _, q := range tc.seqs {
				s.follow(q)
			}
			if s.roc != tc.roc {
				t.Errorf("roc %d, want %d", s.roc, tc.roc)
			}
		})
	}
}

// TestDirectNetWrapsCandidateSocketsOnly: a candidate's socket (a unicast
// address) is wrapped for the direct path; pion's mDNS socket (the
// multicast group) stays a *net.UDPConn, which x/net's ipv4.PacketConn
// needs to read at all.
func TestDirectNetWrapsCandidateSocketsOnly(t *testing.T) {
	n, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	dn := directNet{Net: n, rx: newDirectRx(nil, nil), sockets: &directSockets{}}
	for _, tc := range []struct {
		name    string
		addr    *net.UDPAddr
		wrapped bool
	}{
		{"host candidate", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}, true},
		{"mDNS group", &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251)}, false},
		{"unspecified", &net.UDPAddr{IP: net.IPv4zero}, false},
	} {
		c, err := dn.ListenUDP("udp4", tc.addr)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		_, wrapped := c.(*directConn)
		if wrapped != tc.wrapped {
			t.Errorf("%s: wrapped %v, want %v", tc.name, wrapped, tc.wrapped)
		}
		if !wrapped {
			// What pion's mDNS does with it: a read that fails only by
			// its deadline, not by the conn's type.
			pc := ipv4.NewPacketConn(c.(*net.UDPConn))
			_ = pc.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
			if _, _, _, err := pc.ReadFrom(make([]byte, 100)); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("%s: ipv4 read: %v, want a deadline error", tc.name, err)
			}
		}
		c.Close()
	}
	if len(dn.sockets.by) != 0 {
		t.Errorf("closed sockets still listed for direct send: %v", dn.sockets.by)
	}
}
