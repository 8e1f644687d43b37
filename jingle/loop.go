package jingle

import (
	"context"
	"runtime/debug"
	"sync/atomic"
)

// The session's serial loop (pion/ice taskloop style). Stanzas from the
// peer, calls of the session's methods, timers and what the application
// hands to Do all become tasks, run one at a time by run, so the fields
// the loop owns need no locks. Code running in a task acts on the
// session with Session.Queue; everything else goes through the queue and
// waits (Session.Send, Accept, Info, Terminate, which take a context).

// task is one unit of work of the loop. A waiter whose context ends
// before the task started cancels it; once started it runs to the end.
type task struct {
	fn     func(ctx context.Context)
	stanza bool
	st     atomic.Int32 // taskQueued, taskClaimed or taskCancelled
	done   chan struct{}
	// reply is the answer to a stanza task, read after done.
	reply *IQ
	// after holds what a stanza task asked to run once its reply is
	// out (Session.afterReply).
	after []func(context.Context)
}

const (
	taskQueued int32 = iota
	taskClaimed
	taskCancelled
)

// Do queues f to run in the session's loop and reports whether it was
// queued; f runs unless Do returns false (the session had ended). It does
// not wait for f. f acts on the session with Queue.
func (s *Session) Do(f func()) bool {
	return s.enqueue(&task{fn: func(context.Context) { f() }})
}

// DoContext is Do with the loop's context, which is cancelled when the
// session ends.
func (s *Session) DoContext(f func(ctx context.Context)) bool {
	return s.enqueue(&task{fn: f})
}

// call runs fn in the loop and waits for it, or for ctx: a task that has
// not started when ctx ends is cancelled. It must not be called from the
// loop, which would wait for itself.
func (s *Session) call(ctx context.Context, fn func(context.Context)) error {
	t := &task{fn: fn, done: make(chan struct{})}
	if !s.enqueue(t) {
		return ErrSessionEnded
	}
	select {
	case <-t.done:
		return nil
	case <-ctx.Done():
		if t.st.CompareAndSwap(taskQueued, taskCancelled) {
			return ctx.Err()
		}
		<-t.done
		return nil
	}
}

// enqueue queues t; false once the session has ended.
func (s *Session) enqueue(t *task) bool {
	s.qmu.Lock()
	if s.qclosed {
		s.qmu.Unlock()
		return false
	}
	s.queue = append(s.queue, t)
	s.qmu.Unlock()
	s.signal()
	return true
}

func (s *Session) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// submit queues a stanza of the peer for the loop, or returns the reply
// refusing it: the session ended, or the peer has too many stanzas
// waiting (a flood on one session stays bounded).
func (s *Session) submit(iq *IQ, j *Jingle) (*task, *IQ) {
	t := &task{stanza: true, done: make(chan struct{})}
	t.fn = func(ctx context.Context) { t.reply = s.onStanza(ctx, iq, j) }
	s.qmu.Lock()
	switch {
	case s.qclosed:
		s.qmu.Unlock()
		return nil, iq.ErrorReply(withText(ErrUnknownSession, "session %s has ended", j.SID))
	case s.nstanza >= maxQueuedStanzas:
		s.qmu.Unlock()
		return nil, iq.ErrorReply(withText(ErrResourceConstraint, "too many requests queued for session %s", j.SID))
	}
	s.nstanza++
	s.queue = append(s.queue, t)
	s.qmu.Unlock()
	s.signal()
	return t, nil
}

// await waits for a submitted stanza's reply, then releases what the
// stanza queued to send after it (an ack goes before the session-terminate
// or session-accept it causes).
func (s *Session) await(ctx context.Context, iq *IQ, t *task) *IQ {
	select {
	case <-t.done:
	case <-ctx.Done():
		if t.st.CompareAndSwap(taskQueued, taskCancelled) {
			return iq.ErrorReply(withText(&Error{Type: ErrorTypeWait, Condition: CondResourceConstraint}, "request abandoned: %v", ctx.Err()))
		}
		<-t.done
	}
	s.kickOut()
	if len(t.after) > 0 {
		after := t.after
		s.enqueue(&task{fn: func(ctx context.Context) {
			for _, f := range after {
				f(ctx)
			}
		}})
	}
	if t.reply == nil {
		return iq.ErrorReply(&Error{Type: ErrorTypeCancel, Condition: CondInternalServerError})
	}
	return t.reply
}

// handleIQ runs a stanza of the peer through the loop.
func (s *Session) handleIQ(ctx context.Context, iq *IQ, j *Jingle) *IQ {
	t, refused := s.submit(iq, j)
	if refused != nil {
		return refused
	}
	return s.await(ctx, iq, t)
}

// run is the session's loop. It ends once the session has ended and the
// tasks queued before that have run.
func (s *Session) run() {
	defer s.m.wg.Done()
	defer close(s.done)
	// Callbacks get the session's context: it ends with the session.
	lctx := s.ctx
	for {
		s.qmu.Lock()
		for len(s.queue) == 0 {
			if s.qclosed {
				s.qmu.Unlock()
				// Nothing can uncork the sender any more.
				s.kickOut()
				return
			}
			s.qmu.Unlock()
			<-s.wake
			s.qmu.Lock()
		}
		t := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		if t.stanza {
			s.nstanza--
		}
		s.qmu.Unlock()
		s.runTask(lctx, t)
	}
}

// runTask runs one task unless its waiter cancelled it. A panic in
// application code ends the session instead of the process.
func (s *Session) runTask(ctx context.Context, t *task) {
	if !t.st.CompareAndSwap(taskQueued, taskClaimed) {
		return
	}
	s.inTask.Store(true)
	defer func() {
		if r := recover(); r != nil {
			s.corked = false
			s.log.Error("jingle: panic in session loop", "panic", r, "stack", string(debug.Stack()))
			s.terminate(&Reason{Condition: ReasonGeneralError, Text: "internal error"})
		}
		after := s.after
		s.after = nil
		if t.stanza {
			t.after = after
		} else {
			for _, f := range after {
				f(ctx)
			}
		}
		s.inTask.Store(false)
		if t.done != nil {
			close(t.done)
		}
	}()
	// Stanzas we send while handling the peer's stanza wait until the
	// reply to it has been handed back (see await).
	s.corked = t.stanza
	t.fn(ctx)
	s.corked = false
}

// afterReply runs f in the loop after the reply to the stanza being
// handled has been handed back.
func (s *Session) afterReply(f func(context.Context)) {
	s.after = append(s.after, f)
}
