// A content's sink, held across the remote tracks that feed it.

package rtp

// heldSink is the sink of one content and how many track readers use it.
//
// Why: without BUNDLE (Dino), the peer's SSRC was never signalled, and
// pion stops such a receiver at every renegotiation (an ICE restart
// included) because the new remote description does not list its SSRC;
// the same stream then comes back as a new track. A sink per track would
// open the content's recording anew, in the same file, and the one
// before, closed later, would leave the file with only what came before
// the restart. So the call keeps one sink per content for as long as the
// content is part of the call, and hands it to each track that comes.
type heldSink struct {
	sink  Sink
	users int
}

// acquireSink returns the sink of content, the one already held or a new
// one from newSink; nil with a nil error when there is none to make. It
// runs on the call's loop.
func (c *Call) acquireSink(content string, newSink func() (Sink, error)) (Sink, error) {
	if h := c.sinks[content]; h != nil {
		h.users++
		c.log.Debug("rtp: a new track for the content's sink", "content", content)
		return h.sink, nil
	}
	s, err := newSink()
	if err != nil || s == nil {
		return nil, err
	}
	c.sinks[content] = &heldSink{sink: s, users: 1}
	return s, nil
}

// releaseSink is told that a track reader of content ended. The sink
// closes when no reader uses it and the content has left the call (a
// content-remove, a rejected content); while the content stays, a new
// track may come for it, and the end of the call closes it (closeSinks).
// It runs on the call's loop.
func (c *Call) releaseSink(content string) {
	h := c.sinks[content]
	if h == nil {
		return
	}
	h.users--
	if h.users > 0 || c.byContent[content] != nil {
		return
	}
	delete(c.sinks, content)
	c.closeSink(content, h.sink)
}

// closeSinks closes every sink still held, once the track readers are
// done (Call.afterEnd).
func (c *Call) closeSinks() {
	for content, h := range c.sinks {
		delete(c.sinks, content)
		c.closeSink(content, h.sink)
	}
}

func (c *Call) closeSink(content string, s Sink) {
	if err := s.Close(); err != nil {
		c.log.Warn("rtp: closing recording", "content", content, "err", err)
	}
}
