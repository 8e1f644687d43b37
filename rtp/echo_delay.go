// The echo role's delay: received packets held back
// MediaOptions.EchoDelay before they are sent back, bounded.

package rtp

import (
	"context"
	"sync"
	"time"

	pionrtp "github.com/pion/rtp"
)

// maxEchoBacklog bounds the packets an echo holds back: 4096 is over 10 s
// of 20 ms audio and seconds of video, so a delay within
// MaxEchoDelay drops nothing in a normal call, and a flood cannot grow
// memory without limit.
const maxEchoBacklog = 4096

// MaxEchoDelay is the longest MediaOptions.EchoDelay that makes sense for
// an echo test: the caller waits that long to hear itself.
const MaxEchoDelay = 10 * time.Second

// delayedPacket is a received packet and when it arrived.
type delayedPacket struct {
	at  time.Time
	pkt *pionrtp.Packet
}

// delayLine sends each packet pushed to it delay after it was pushed,
// in order, from one goroutine. An echo sent back at once is removed by
// the caller's echo canceller (Dino, every browser): echo-test services
// play the caller back after a pause, and so does this one.
type delayLine struct {
	delay time.Duration
	in    chan delayedPacket
	quit  chan struct{}
	once  sync.Once
}

func newDelayLine(delay time.Duration) *delayLine {
	return &delayLine{delay: delay, in: make(chan delayedPacket, maxEchoBacklog), quit: make(chan struct{})}
}

// push queues pkt; it never blocks and reports false when the backlog is
// full (the packet is dropped, as a congested network would).
func (d *delayLine) push(now time.Time, pkt *pionrtp.Packet) bool {
	select {
	case d.in <- delayedPacket{at: now, pkt: pkt}:
		return true
	default:
		return false
	}
}

// stop ends run; what is still queued is dropped.
func (d *delayLine) stop() { d.once.Do(func() { close(d.quit) }) }

// run writes each packet at its arrival plus the delay, until stop or
// ctx ends. write errors are reported to onErr and do not stop the line.
func (d *delayLine) run(ctx context.Context, write func(*pionrtp.Packet) error, onErr func(error)) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		var p delayedPacket
		select {
		case p = <-d.in:
		case <-d.quit:
			return
		case <-ctx.Done():
			return
		}
		if wait := time.Until(p.at.Add(d.delay)); wait > 0 {
			t.Reset(wait)
			select {
			case <-t.C:
			case <-d.quit:
				return
			case <-ctx.Done():
				return
			}
		}
		if err := write(p.pkt); err != nil && onErr != nil {
			onErr(err)
		}
	}
}

// echoSender returns how onTrack sends a received packet back on echo:
// at once without MediaOptions.EchoDelay, else through a delay line run
// by a worker of the call. stop ends that worker (when the track ends).
func (c *Call) echoSender(echo *PayloadTrack, delay time.Duration) (send func(*pionrtp.Packet) error, stop func()) {
	if echo == nil || delay <= 0 {
		return func(p *pionrtp.Packet) error {
			if echo == nil {
				return nil
			}
			return echo.WriteRTP(p)
		}, func() {}
	}
	d := newDelayLine(min(delay, MaxEchoDelay))
	c.workers.Add(1)
	go func() {
		defer c.workers.Done()
		d.run(c.ctx, echo.WriteRTP, func(err error) { c.log.Debug("rtp: delayed echo write", "err", err) })
	}()
	return func(p *pionrtp.Packet) error {
		if !d.push(time.Now(), p.Clone()) {
			c.log.Debug("rtp: echo backlog full, packet dropped")
		}
		return nil
	}, d.stop
}
