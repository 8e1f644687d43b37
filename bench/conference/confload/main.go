// Command confload is the load of the conference benchmark
// (bench/conference): participants that call conference rooms, each with
// its own XMPP connection (a resource of one of a few accounts) and its
// own call, placed with the project's library (xmpp, jingle,
// rtp) to ROOM@DOMAIN/focus.
//
// What they send is encoded once at start (pre-encoded Opus, so the load
// costs little): the first -talkers participants of each room send tone
// bursts, 100 ms every 200 ms, with RFC 6464 audio levels; the others
// send faint noise marked -65 dBov. What they receive is counted, not
// decoded (packets, sequence gaps), except on -probes receivers, which
// decode the mix and time each burst onset against the moment the
// talkers sent it: the latency added on the way through the mixer.
//
// It speaks a line protocol on stdin/stdout with bench/conference (see
// bench/conference/internal/loadwire).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pion/webrtc/v4"
	"gopkg.in/hraban/opus.v2"

	"github.com/jingled/jingled/bench/conference/internal/loadwire"
	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/rtp"
	"github.com/jingled/jingled/xmpp"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "confload:", err)
		os.Exit(1)
	}
}

type options struct {
	addr, ca, domain, password, prefix string
	accounts                           []string
	rooms, size, talkers, probes       int
	concurrency, shards                int
	warmup, contentsWait               time.Duration
	cpuprofile                         string
	video, allVideo                    bool
	mux                                bool
}

// load is the whole generated load.
type load struct {
	opts      options
	pk        *packets
	app       *rtp.Application
	shards    []*shard
	rooms     []*room
	measuring atomic.Bool

	mu    sync.Mutex
	parts []*participant

	// -video: the clip, and every camera by its number (the number each
	// packet's trailer names).
	clip *clip
	vsrc []atomic.Pointer[videoSource]
}

// participant is one caller.
type participant struct {
	load   *load
	room   *room
	talker bool
	client *xmpp.Client
	mgr    *jingle.Manager
	call   *rtp.Call
	src    *source
	sink   *sink
	video  *videoSource // -video only
	vsink  *videoSink   // the active-speaker view

	// -all-video: the sinks of the contents the room added (streams.go).
	smu     sync.Mutex
	streams []*videoSink
}

func run() error {
	var o options
	var accounts string
	flag.StringVar(&o.addr, "addr", "", "XMPP server c2s address host:port")
	flag.StringVar(&o.ca, "ca", "", "PEM file of the server's certificate")
	flag.StringVar(&o.domain, "domain", "call.localhost", "the conference component's domain")
	flag.StringVar(&accounts, "accounts", "", "comma-separated bare JIDs the participants log in as (as resources)")
	flag.StringVar(&o.password, "password", "", "the accounts' password")
	flag.StringVar(&o.prefix, "prefix", "room", "room name prefix: rooms are PREFIX-0, PREFIX-1, ...")
	flag.IntVar(&o.rooms, "rooms", 1, "rooms")
	flag.IntVar(&o.size, "size", 3, "participants per room")
	flag.IntVar(&o.talkers, "talkers", 3, "talkers per room (the others send faint noise)")
	flag.IntVar(&o.probes, "probes", 2, "receivers that decode the mix and time the bursts (spread over the rooms)")
	flag.IntVar(&o.concurrency, "concurrency", 16, "participants joining at once")
	flag.IntVar(&o.shards, "shards", 4, "pacer goroutines")
	flag.DurationVar(&o.warmup, "warmup", 3*time.Second, "time between the last join and Ready")
	flag.BoolVar(&o.video, "video", false, "every participant also sends VP8 video and counts the forwarded video it receives")
	flag.BoolVar(&o.allVideo, "all-video", false, "implies -video; every participant also advertises the room's multi-stream feature and counts every other participant's video, one added content each")
	flag.DurationVar(&o.contentsWait, "contents-wait", 2*time.Minute, "with -all-video: how long to wait after the last join for every added content to carry media (then the warmup)")
	flag.BoolVar(&o.mux, "mux", false, "every participant's call on one UDP port of the load's (read with recvmmsg): a cheaper receive for the load; not with a focus whose calls share one port too (pion tells muxed calls apart by the peer's address)")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the load over the window to this file (what the load itself spends its core on)")
	flag.Parse()
	o.video = o.video || o.allVideo
	o.accounts = strings.Split(accounts, ",")
	if o.addr == "" || accounts == "" || o.password == "" {
		return errors.New("-addr, -accounts and -password are required")
	}
	if o.talkers > o.size {
		o.talkers = o.size
	}
	pk, err := encodePackets()
	if err != nil {
		return err
	}
	l := &load{opts: o, pk: pk}
	if o.video {
		c, err := encodeVideo(context.Background())
		if err != nil {
			return err
		}
		l.clip = c
		l.vsrc = make([]atomic.Pointer[videoSource], o.rooms*o.size)
		fmt.Fprintf(os.Stderr, "confload: video clip %d frames at %d fps, %.0f kbit/s\n", len(c.frames), videoFPS, c.kbps())
	}
	// DirectAudio: the receivers take the mixes past pion's read path,
	// as the focus takes their audio, so the load costs little and its
	// own core does not time the bursts late.
	peer := rtp.PeerOptions{Loopback: true, AudioLevels: true, DirectAudio: true, Logger: slog.New(slog.DiscardHandler)}
	if o.mux {
		m, err := rtp.ListenUDPMux(0, true, peer.Logger)
		if err != nil {
			return fmt.Errorf("the load's UDP port: %w", err)
		}
		defer m.Close()
		peer.UDPMux = m
	}
	l.app = rtp.NewApplication(rtp.ApplicationOptions{Peer: peer})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	epoch := time.Now()
	var wg sync.WaitGroup
	for range max(1, o.shards) {
		sh := &shard{pk: pk, epoch: epoch}
		l.shards = append(l.shards, sh)
		wg.Add(1)
		go func() { defer wg.Done(); sh.run(ctx) }()
	}
	defer wg.Wait()
	defer cancel()

	t0 := time.Now()
	if err := l.join(ctx); err != nil {
		l.hangup()
		return err
	}
	var contents, contentsExpected int
	var contentsWait time.Duration
	if o.allVideo {
		contents, contentsExpected, contentsWait = l.waitContents(ctx, o.contentsWait)
		fmt.Fprintf(os.Stderr, "confload: %d of %d added video contents have media, after %v\n", contents, contentsExpected, contentsWait.Round(10*time.Millisecond))
	}
	time.Sleep(o.warmup)
	setup := time.Since(t0)
	joined := 0
	for _, p := range l.parts {
		if p.call != nil {
			joined++
		}
	}
	fmt.Println(loadwire.Ready)
	in := bufio.NewScanner(os.Stdin)
	if !waitLine(in, loadwire.Start) {
		l.hangup()
		return errors.New("no START on stdin")
	}
	// Senders before receivers, at both ends of the window: a receiver's
	// window then holds what was sent in the senders' (the few ms of the
	// way through the focus apart), so packets in flight are not loss.
	var vsent0, vsent1 []uint64
	if o.video {
		vsent0 = l.videoSent()
	}
	counts0 := l.counts()
	vcounts0 := l.videoCounts()
	ticks0, late0 := l.ticks()
	cpu0 := cpuTime()
	w0 := time.Now()
	for _, r := range l.rooms {
		r.take()
	}
	for _, p := range l.parts {
		for _, s := range p.videoSinks() {
			s.takeLatency()
		}
		if p.video != nil {
			p.video.openWindow()
		}
	}
	stopProfile, err := startProfile(o.cpuprofile)
	if err != nil {
		l.hangup()
		return err
	}
	l.measuring.Store(true)
	fmt.Println(loadwire.Started)
	if !waitLine(in, loadwire.Stop) {
		l.hangup()
		return errors.New("no STOP on stdin")
	}
	l.measuring.Store(false)
	stopProfile()
	window := time.Since(w0)
	cpu := cpuTime() - cpu0
	if o.video {
		vsent1 = l.videoSent()
		for _, p := range l.parts {
			if p.video != nil {
				p.video.closeWindow()
			}
		}
	}
	counts1 := l.counts()
	vcounts1 := l.videoCounts()
	ticks1, late1 := l.ticks()

	res := loadwire.Result{
		Participants: o.rooms * o.size, Joined: joined, Rooms: o.rooms,
		SetupSeconds: setup.Seconds(), WindowSeconds: window.Seconds(),
		CPUSeconds: cpu.Seconds(), Ticks: int(ticks1 - ticks0), LateTicks: int(late1 - late0),
	}
	expectRate := uint64(window.Seconds()*50 + 0.5)
	for i, p := range l.parts {
		if p.call == nil {
			continue
		}
		a, b := counts0[i], counts1[i]
		res.Sent += b.sent - a.sent
		got := b.count - a.count
		res.Received += got
		res.ExpectedSeq += b.maxSeq - a.maxSeq
		res.ExpectedRate += expectRate
		if loss := 1 - float64(got)/float64(expectRate); loss > res.WorstLoss {
			res.WorstLoss = loss
		}
		select {
		case <-p.call.Done():
			res.Ended++
		default:
		}
		if p.sink.dec != nil {
			res.Probes++
		}
	}
	for _, r := range l.rooms {
		lat, un := r.take()
		for _, d := range lat {
			res.LatencyMS = append(res.LatencyMS, float64(d.Microseconds())/1000)
		}
		res.Unmatched += un
	}
	if o.video {
		// The packets sent in the window that are still on their way
		// get videoGrace to arrive; later than that they count as lost
		// (a video packet a second late is of no use to a receiver).
		time.Sleep(videoGrace)
		l.videoResult(&res, vsent0, vsent1, vcounts0, vcounts1)
		if o.allVideo {
			res.Video.Contents, res.Video.ContentsExpected = contents, contentsExpected
			res.Video.ContentsWaitSeconds = contentsWait.Seconds()
		}
	}
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	fmt.Println(loadwire.ResultPrefix + string(b))
	l.hangup()
	return nil
}

// startProfile starts a CPU profile into path (none when empty); the
// returned function stops it and closes the file.
func startProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "confload: cpuprofile:", err)
		}
	}, nil
}

func waitLine(in *bufio.Scanner, want string) bool {
	for in.Scan() {
		if strings.TrimSpace(in.Text()) == want {
			return true
		}
	}
	return false
}

// join logs every participant in and calls its room, -concurrency at a
// time, room by room (the first caller opens the room; the focus
// serializes the opening, so callers may arrive together).
func (l *load) join(ctx context.Context) error {
	o := l.opts
	for r := range o.rooms {
		l.rooms = append(l.rooms, &room{jid: fmt.Sprintf("%s-%d@%s", o.prefix, r, o.domain), load: l, sends: map[int64]time.Time{}})
	}
	// Probes: silent participants, one per room in turn.
	probe := map[[2]int]bool{}
	for i := range o.probes {
		r, k := i%o.rooms, o.talkers+i/o.rooms
		if k < o.size {
			probe[[2]int{r, k}] = true
		}
	}
	type job struct{ r, k, n int }
	jobs := make(chan job)
	var failed atomic.Int64
	var wg sync.WaitGroup
	for range max(1, o.concurrency) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if err := l.joinOne(ctx, j.r, j.k, j.n, probe[[2]int{j.r, j.k}]); err != nil {
					// A participant that cannot join is reported (Joined
					// in the result), not fatal: past capacity some fail.
					if failed.Add(1) <= 5 {
						fmt.Fprintln(os.Stderr, "confload: join:", err)
					}
				}
			}
		}()
	}
	n := 0
	for r := range o.rooms {
		for k := range o.size {
			jobs <- job{r, k, n}
			n++
		}
	}
	close(jobs)
	wg.Wait()
	if f := int(failed.Load()); f == n {
		return fmt.Errorf("no participant could join (%d tried)", n)
	}
	return nil
}

func (l *load) joinOne(ctx context.Context, r, k, n int, isProbe bool) error {
	o := l.opts
	rm := l.rooms[r]
	p := &participant{load: l, room: rm, talker: k < o.talkers}
	p.sink = &sink{p: p}
	if isProbe {
		d, err := opus.NewDecoder(sampleRate, 1)
		if err != nil {
			return err
		}
		p.sink.dec, p.sink.pcm = d, make([]float32, 0, 5760)
	}
	src, err := newSource(p, l.shards[r%len(l.shards)])
	if err != nil {
		return err
	}
	p.src = src
	var vsrc rtp.Source
	if o.video {
		v, err := newVideoSource(n, rm, l.clip, l.shards[r%len(l.shards)])
		if err != nil {
			return err
		}
		p.video, p.vsink = v, &videoSink{p: p}
		l.vsrc[n].Store(v)
		vsrc = v
	}
	l.mu.Lock()
	l.parts = append(l.parts, p)
	l.mu.Unlock()
	acct := o.accounts[n%len(o.accounts)]
	c, err := xmpp.New(xmpp.Config{JID: acct, Password: o.password, Resource: fmt.Sprintf("%s-r%d-p%d", o.prefix, r, k), Addr: o.addr, CAFile: o.ca, MaxAttempts: 3})
	if err != nil {
		return err
	}
	if o.allVideo {
		// The room asks our disco#info for it when the call connects.
		c.AddFeatures(rtp.FeatureAllVideo)
	}
	sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := c.Start(sctx); err != nil {
		return fmt.Errorf("login %s/%s-r%d-p%d: %w", acct, o.prefix, r, k, err)
	}
	p.client = c
	p.mgr = jingle.NewManager(c.JID(), c, jingle.WithTransport(rtp.ICEUDP{}))
	c.Serve(p.mgr)
	call, err := l.app.Dial(sctx, p.mgr, rm.jid+"/focus", rtp.CallOptions{MediaOptions: rtp.MediaOptions{
		AudioSource: src,
		VideoSource: vsrc,
		Sinks: func(content string, c webrtc.RTPCodecParameters) (rtp.Sink, error) {
			if strings.HasPrefix(strings.ToLower(c.MimeType), "video/") {
				if p.vsink == nil {
					return nil, nil
				}
				if o.allVideo && content != "video" {
					// A content the room added: one other participant.
					return p.streamSink(), nil
				}
				return p.vsink, nil
			}
			return p.sink, nil
		},
	}})
	if err != nil {
		return fmt.Errorf("%s calling %s: %w", c.JID(), rm.jid, err)
	}
	if err := waitMedia(sctx, call); err != nil {
		_ = call.Hangup(context.Background())
		return fmt.Errorf("%s in %s: %w", c.JID(), rm.jid, err)
	}
	l.mu.Lock()
	p.call = call
	l.mu.Unlock()
	return nil
}

func waitMedia(ctx context.Context, c *rtp.Call) error {
	for {
		select {
		case e, ok := <-c.Events():
			if !ok || e.Type == rtp.EventEnded {
				return fmt.Errorf("call ended before media: %v", c.Reason())
			}
			if e.Type == rtp.EventMedia {
				// Drain the rest so the call never blocks on its events.
				go func() {
					for range c.Events() {
					}
				}()
				return nil
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

type counts struct{ sent, count, maxSeq uint64 }

func (l *load) counts() []counts {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]counts, len(l.parts))
	for i, p := range l.parts {
		out[i].sent = atomic.LoadUint64(&p.src.sent)
		out[i].count, out[i].maxSeq = p.sink.snapshot()
	}
	return out
}

func (l *load) ticks() (ticks, late int64) {
	for _, sh := range l.shards {
		ticks += sh.ticks.Load()
		late += sh.late.Load()
	}
	return ticks / int64(len(l.shards)), late
}

// hangup ends every call and connection, bounded in time.
func (l *load) hangup() {
	l.mu.Lock()
	parts := l.parts
	l.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if p.call != nil {
				_ = p.call.Hangup(ctx)
			}
			if p.mgr != nil {
				_ = p.mgr.Close(ctx)
			}
			if p.client != nil {
				_ = p.client.Close()
			}
		}()
	}
	wg.Wait()
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
