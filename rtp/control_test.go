package rtp

import (
	"context"
	"encoding/xml"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/jingled/jingled/ice"
	"github.com/jingled/jingled/internal/mediatest"
	"github.com/jingled/jingled/jingle"
)

// events collects a call's events and lets a test wait for one.
// events follows a call's events. An event a wait did not ask for stays
// available to a later wait, so events whose order is not defined (media
// on two non-bundled transports) can be awaited in any order; each event
// satisfies one wait at most.
type events struct {
	ch    <-chan Event
	got   []Event
	taken []bool
}

func (e *events) wait(t *testing.T, typ EventType, content string) Event {
	t.Helper()
	match := func(ev Event) bool { return ev.Type == typ && (content == "" || ev.Content == content) }
	for i, ev := range e.got {
		if !e.taken[i] && match(ev) {
			e.taken[i] = true
			return ev
		}
	}
	timeout := time.After(15 * time.Second)
	for {
		select {
		case ev, ok := <-e.ch:
			if !ok {
				t.Fatalf("call ended before %s %s (events %v)", typ, content, e.got)
			}
			e.got = append(e.got, ev)
			e.taken = append(e.taken, match(ev))
			if match(ev) {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s %s event (events %v)", typ, content, e.got)
		}
	}
}

// TestCallControl exercises a running call: session-info both ways, an
// ICE restart, video added with content-add and removed with
// content-remove, while audio keeps flowing to the end.
func TestCallControl(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	const d = 6 * time.Second
	dir := t.TempDir()
	tone := sine(t, 440, d)
	video := filepath.Join(dir, "v.ivf")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := mediatest.TestsrcVP8(ctx, video, 30, 15, 160, 120); err != nil {
		t.Fatal(err)
	}
	l := newLink()
	bobOpts := ApplicationOptions{Peer: loopback(t), AutoAnswer: &MediaOptions{Echo: true}}
	in := incomingCalls(&bobOpts)
	bobApp := NewApplication(bobOpts)
	aliceMgr := l.manager(t, alice, jingle.WithTransport(ICEUDP{}))
	l.manager(t, bob, bobApp.Options()...)
	call, err := Dial(ctx, aliceMgr, bob, CallOptions{
		MediaOptions: MediaOptions{Audio: tone, Record: filepath.Join(dir, "alice"), Duration: d + time.Second},
		Peer:         loopback(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	bobCall := <-in
	ae := &events{ch: call.Events()}
	be := &events{ch: bobCall.Events()}
	ae.wait(t, EventMedia, "audio")

	if err := call.Info(ctx, EventHold, ""); err != nil {
		t.Fatal(err)
	}
	be.wait(t, EventHold, "")
	if err := bobCall.Info(ctx, EventMute, "audio"); err != nil {
		t.Fatal(err)
	}
	ae.wait(t, EventMute, "audio")
	if err := bobCall.Info(ctx, EventUnmute, "audio"); err != nil {
		t.Fatal(err)
	}
	ae.wait(t, EventUnmute, "audio")
	if err := call.Info(ctx, EventUnhold, ""); err != nil {
		t.Fatal(err)
	}
	be.wait(t, EventUnhold, "")

	before := call.Stats().PacketsReceived
	if err := call.RestartICE(ctx); err != nil {
		t.Fatal(err)
	}
	be.wait(t, EventRestart, "")
	ae.wait(t, EventRestart, "")
	src, err := OpenFile(video, "video", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := call.AddContent(ctx, "video", webrtc.RTPCodecTypeVideo, src); err != nil {
		t.Fatal(err)
	}
	// Bob echoes the video back once content-accept is through.
	ae.wait(t, EventMedia, "video")
	if err := call.RemoveContent(ctx, "video"); err != nil {
		t.Fatal(err)
	}
	// Now the callee adds video of its own.
	bsrc, err := OpenFile(video, "bob-video", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := bobCall.AddContent(ctx, "bob-video", webrtc.RTPCodecTypeVideo, bsrc); err != nil {
		t.Fatal(err)
	}
	ae.wait(t, EventMedia, "bob-video")
	if r := waitEnd(t, call, 30*time.Second); r.Condition != jingle.ReasonSuccess {
		t.Fatalf("call ended with %s", r)
	}
	waitEnd(t, bobCall, 10*time.Second)
	after := call.Stats()
	if after.PacketsReceived <= before+50 {
		t.Errorf("received %d packets before the ICE restart and %d at the end: media stopped", before, after.PacketsReceived)
	}
	checkTone(t, filepath.Join(dir, "alice.ogg"), 440, d)
	// XEP-0176 restart as Conversations reads it: our offer carried new
	// credentials and no candidates, the answer new credentials and
	// candidates.
	var offer, answer, nextGeneration bool
	l.mu.Lock()
	for _, iq := range l.seen {
		j, err := jingle.Parse(iq.Payload)
		if err != nil || j.Action != jingle.ActionTransportInfo {
			continue
		}
		tr, _, err := ice.Decode(j.Contents[0].Transport)
		if err != nil {
			continue
		}
		for _, c := range tr.Candidates {
			nextGeneration = nextGeneration || (iq.From == alice && c.Generation >= 1)
		}
		if tr.Pwd == "" || len(tr.Fingerprints) == 0 {
			continue
		}
		switch {
		case iq.From == alice && len(tr.Candidates) == 0:
			offer = true
		case iq.From == bob && len(tr.Candidates) > 0 && tr.Fingerprints[0].Setup == ice.SetupActive:
			answer = true
		}
	}
	l.mu.Unlock()
	if !offer || !answer || !nextGeneration {
		t.Errorf("ICE restart on the wire: offer without candidates %v, answer with candidates and setup active %v, candidates of generation 1 %v",
			offer, answer, nextGeneration)
	}
	actions := l.actions()
	for _, want := range []jingle.Action{jingle.ActionSessionInfo, jingle.ActionContentAdd, jingle.ActionContentAccept, jingle.ActionContentRemove} {
		found := false
		for _, a := range actions {
			found = found || a == want
		}
		if !found {
			t.Errorf("no %s on the wire", want)
		}
	}
}

// TestCodecPreference: the answer follows the peer's preference order
// among the codecs we support.
func TestCodecPreference(t *testing.T) {
	d := &Description{Media: MediaAudio, PayloadTypes: []PayloadType{
		{ID: 96, Name: "AMR-WB", ClockRate: 16000},
		{ID: 8, Name: "PCMA", ClockRate: 8000},
		{ID: 9, Name: "G722", ClockRate: 8000},
		{ID: 111, Name: "opus", ClockRate: 48000, Channels: 2},
		{ID: 0, Name: "PCMU", ClockRate: 8000},
	}}
	got := commonCodecs(webrtc.RTPCodecTypeAudio, d)
	var names []string
	for _, c := range got {
		names = append(names, c.MimeType)
	}
	want := []string{"audio/PCMA", "audio/G722", "audio/opus", "audio/PCMU"}
	if len(names) != len(want) {
		t.Fatalf("common codecs %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("common codecs %v, want %v", names, want)
		}
	}
	v := &Description{Media: MediaVideo, PayloadTypes: []PayloadType{
		{ID: 100, Name: "H264", ClockRate: 90000, Parameters: []Parameter{{"profile-level-id", "64001f"}, {"packetization-mode", "1"}}},
		{ID: 101, Name: "VP9", ClockRate: 90000, Parameters: []Parameter{{"profile-id", "2"}}},
		{ID: 98, Name: "VP9", ClockRate: 90000},
		{ID: 102, Name: "H264", ClockRate: 90000, Parameters: []Parameter{{"profile-level-id", "42e01f"}, {"packetization-mode", "1"}}},
		{ID: 96, Name: "VP8", ClockRate: 90000},
	}}
	var ids []int
	for _, c := range commonCodecs(webrtc.RTPCodecTypeVideo, v) {
		ids = append(ids, int(c.PayloadType))
	}
	if !slices.Equal(ids, []int{100, 98, 102, 96}) {
		t.Errorf("video common payload types %v, want [100 98 102 96] (High profile H.264 is carried, VP9 profile 2 is not)", ids)
	}
}

// TestMuteStopsMedia: muting a content stops what we send on it, and
// unmuting resumes it; the peer sees the session-info.
func TestMuteStopsMedia(t *testing.T) {
	tone := sine(t, 440, 20*time.Second)
	l := newLink()
	bobOpts := ApplicationOptions{Peer: loopback(t), AutoAnswer: &MediaOptions{}}
	in := incomingCalls(&bobOpts)
	bobApp := NewApplication(bobOpts)
	aliceMgr := l.manager(t, alice, jingle.WithTransport(ICEUDP{}))
	l.manager(t, bob, bobApp.Options()...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	call, err := Dial(ctx, aliceMgr, bob, CallOptions{MediaOptions: MediaOptions{Audio: tone}, Peer: loopback(t)})
	if err != nil {
		t.Fatal(err)
	}
	bobCall := <-in
	be := &events{ch: bobCall.Events()}
	be.wait(t, EventMedia, "audio")
	received := func() uint64 { return bobCall.Stats().PacketsReceived }

	if err := call.Info(ctx, EventMute, "audio"); err != nil {
		t.Fatal(err)
	}
	be.wait(t, EventMute, "audio")
	// Eventually nothing more arrives: two reads 500 ms apart agree.
	muted, stopped := settle(received)
	if !stopped {
		t.Fatal("media kept flowing after mute")
	}
	if err := call.Info(ctx, EventUnmute, "audio"); err != nil {
		t.Fatal(err)
	}
	be.wait(t, EventUnmute, "audio")
	if !eventually(func() bool { return received() > muted }) {
		t.Fatal("media did not resume after unmute")
	}
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestAnswerLeavesContentOut: the callee's session-accept mentions only
// the audio of our audio+video offer (as an audio-only client answers);
// the call goes on with audio, video rejected.
func TestAnswerLeavesContentOut(t *testing.T) {
	for _, noBundle := range []bool{false, true} {
		t.Run(map[bool]string{false: "bundle", true: "no-bundle"}[noBundle], func(t *testing.T) {
			const d = 2 * time.Second
			dir := t.TempDir()
			tone := sine(t, 440, d)
			video := filepath.Join(dir, "v.ivf")
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if err := mediatest.TestsrcVP8(ctx, video, 15, 15, 160, 120); err != nil {
				t.Fatal(err)
			}
			l := newLink()
			l.filter = func(from, _ string, iq *jingle.IQ) *jingle.IQ {
				j, err := jingle.Parse(iq.Payload)
				if err != nil || j.Action != jingle.ActionSessionAccept {
					return iq
				}
				j.Contents = j.Contents[:1] // audio only
				var group []jingle.Element
				for _, p := range j.Payloads {
					if p.XMLName.Local != "group" {
						group = append(group, p)
					}
				}
				j.Payloads = group
				b, err := xml.Marshal(j)
				if err != nil {
					t.Error(err)
					return iq
				}
				iq.Payload = b
				return iq
			}
			bobOpts := ApplicationOptions{Peer: loopback(t), AutoAnswer: &MediaOptions{Echo: true}}
			bobApp := NewApplication(bobOpts)
			aliceMgr := l.manager(t, alice, jingle.WithTransport(ICEUDP{}))
			l.manager(t, bob, bobApp.Options()...)
			call, err := Dial(ctx, aliceMgr, bob, CallOptions{
				MediaOptions: MediaOptions{Audio: tone, Video: video, Record: filepath.Join(dir, "alice"), Duration: d + time.Second},
				Peer:         loopback(t), NoBundle: noBundle,
			})
			if err != nil {
				t.Fatal(err)
			}
			if r := waitEnd(t, call, 30*time.Second); r.Condition != jingle.ReasonSuccess {
				t.Fatalf("call ended with %s", r)
			}
			checkTone(t, filepath.Join(dir, "alice.ogg"), 440, d)
		})
	}
}

// TestContentModifyStopsSending: the caller's content-modify with
// senders='initiator' means the callee no longer sends on the content, so
// it stops; senders='both' resumes it.
func TestContentModifyStopsSending(t *testing.T) {
	tone := sine(t, 440, 20*time.Second)
	l := newLink()
	bobOpts := ApplicationOptions{Peer: loopback(t), AutoAnswer: &MediaOptions{Audio: tone}}
	in := incomingCalls(&bobOpts)
	bobApp := NewApplication(bobOpts)
	aliceMgr := l.manager(t, alice, jingle.WithTransport(ICEUDP{}))
	l.manager(t, bob, bobApp.Options()...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	call, err := Dial(ctx, aliceMgr, bob, CallOptions{Peer: loopback(t)})
	if err != nil {
		t.Fatal(err)
	}
	<-in
	ae := &events{ch: call.Events()}
	ae.wait(t, EventMedia, "audio")
	received := func() uint64 { return call.Stats().PacketsReceived }
	modify := func(s jingle.Senders) {
		t.Helper()
		j := &jingle.Jingle{Action: jingle.ActionContentModify, Contents: []jingle.Content{{Creator: jingle.CreatorInitiator, Name: "audio", Senders: s}}}
		if err := call.Session().Send(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	modify(jingle.SendersInitiator)
	stopped := false
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !stopped; {
		a := received()
		time.Sleep(500 * time.Millisecond)
		stopped = received() == a
	}
	if !stopped {
		t.Fatal("callee kept sending after content-modify senders=initiator")
	}
	paused := received()
	modify(jingle.SendersBoth)
	resumed := false
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !resumed; time.Sleep(100 * time.Millisecond) {
		resumed = received() > paused
	}
	if !resumed {
		t.Fatal("callee did not resume after content-modify senders=both")
	}
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestRestartICEWithoutBundle: the callee restarts ICE on a call with
// one transport per content; every transport restarts and media goes on.
func TestRestartICEWithoutBundle(t *testing.T) {
	tone := sine(t, 440, 20*time.Second)
	dir := t.TempDir()
	video := filepath.Join(dir, "v.ivf")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := mediatest.TestsrcVP8(ctx, video, 150, 15, 160, 120); err != nil {
		t.Fatal(err)
	}
	l := newLink()
	bobOpts := ApplicationOptions{Peer: loopback(t), AutoAnswer: &MediaOptions{Echo: true}}
	in := incomingCalls(&bobOpts)
	bobApp := NewApplication(bobOpts)
	aliceMgr := l.manager(t, alice, jingle.WithTransport(ICEUDP{}))
	l.manager(t, bob, bobApp.Options()...)
	call, err := Dial(ctx, aliceMgr, bob, CallOptions{MediaOptions: MediaOptions{Audio: tone, Video: video}, Peer: loopback(t), NoBundle: true})
	if err != nil {
		t.Fatal(err)
	}
	bobCall := <-in
	ae := &events{ch: call.Events()}
	ae.wait(t, EventMedia, "audio")
	ae.wait(t, EventMedia, "video")
	be := &events{ch: bobCall.Events()}
	if err := bobCall.RestartICE(ctx); err != nil {
		t.Fatal(err)
	}
	// One completed restart per transport on each side.
	for range 2 {
		be.wait(t, EventRestart, "")
		ae.wait(t, EventRestart, "")
	}
	before := call.Stats()
	grew := false
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !grew; time.Sleep(100 * time.Millisecond) {
		after := call.Stats()
		grew = len(after.Streams) == 2 && len(before.Streams) == 2 &&
			after.Streams[0].PacketsReceived > before.Streams[0].PacketsReceived+10 &&
			after.Streams[1].PacketsReceived > before.Streams[1].PacketsReceived+5
	}
	if !grew {
		t.Fatalf("media did not flow on both transports after the restart: %+v", call.Stats().Streams)
	}
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
}
