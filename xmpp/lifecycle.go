package xmpp

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// lifecycle is what a Client and a Component share from Start to Close:
// the goroutines they own (the dispatch loop, the supervisor that serves
// the stream and reconnects), the channel closed when they stop for good,
// and why they stopped. The stream itself, and what "stopped for good"
// means, are the owner's.
type lifecycle struct {
	cancel     context.CancelFunc // ends dispatcher.ctx
	wg         sync.WaitGroup
	done       chan struct{}
	started    atomic.Bool
	supervised atomic.Bool
	closeOnce  sync.Once

	errMu   sync.Mutex
	permErr error // why the supervisor stopped, if it did
}

func newLifecycle(cancel context.CancelFunc) lifecycle {
	return lifecycle{cancel: cancel, done: make(chan struct{})}
}

// Done is closed when the connection stops for good: Close, or a
// permanent failure while reconnecting (see Err).
func (l *lifecycle) Done() <-chan struct{} { return l.done }

// Err returns why the connection stopped reconnecting, or nil.
func (l *lifecycle) Err() error {
	l.errMu.Lock()
	defer l.errMu.Unlock()
	return l.permErr
}

// stopped records why the connection stopped for good.
func (l *lifecycle) stopped(err error) {
	l.errMu.Lock()
	l.permErr = err
	l.errMu.Unlock()
}

// owner is what start and supervise drive of a Client or Component.
type owner struct {
	d *dispatcher
	// connect dials until a stream is up or a permanent error; lost is
	// zero for the first connection, else when the last stream broke.
	connect func(ctx context.Context, lost time.Time) (*stream, error)
	// install makes a stream the current one; serve reads it until it
	// ends.
	install func(*stream) error
	serve   func(*stream) error
	// broke is told why a stream ended (not by Close): it reports the
	// disconnection, and returns non-nil when reconnecting is pointless
	// (another connection took our place), which stops the owner.
	broke func(err error) error
	// gaveUp is told why reconnecting stopped for good.
	gaveUp func(err error)
	// close is the owner's Close.
	close func() error
}

// start is Start for o: the dispatch loop, the first connection (obeying
// both ctx and Close), then the supervisor. A failure is the returned
// error and Err, and closes the owner.
func (l *lifecycle) start(ctx context.Context, o owner) error {
	if !l.started.CompareAndSwap(false, true) {
		return errors.New("xmpp: Start called twice")
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		o.d.dispatchLoop()
	}()
	cctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(o.d.ctx, cancel)
	s, err := o.connect(cctx, time.Time{})
	stop()
	cancel()
	if err == nil {
		err = o.install(s)
	}
	if err != nil {
		l.stopped(err)
		_ = o.close()
		return err
	}
	l.supervised.Store(true)
	l.wg.Add(1)
	go l.supervise(o, s)
	return nil
}

// supervise owns the stream: it serves s until it breaks, then
// reconnects, until Close or a failure that ends the owner for good.
func (l *lifecycle) supervise(o owner, s *stream) {
	defer l.wg.Done()
	defer close(l.done)
	for {
		err := o.serve(s)
		if o.d.ctx.Err() != nil {
			return
		}
		if stop := o.broke(err); stop != nil {
			l.stopped(stop)
			return
		}
		s, err = o.connect(o.d.ctx, time.Now())
		if err == nil {
			err = o.install(s)
		}
		if err != nil {
			if !errors.Is(err, ErrClosed) {
				l.stopped(err)
				o.gaveUp(err)
			}
			return
		}
	}
}

// close is Close's frame: once, shut (the owner's: close its stream,
// having cancelled the context), then wait for every goroutine; done is
// closed by the supervisor, or here when none ran.
func (l *lifecycle) close(shut func()) {
	l.closeOnce.Do(func() {
		shut()
		l.wg.Wait()
		if !l.supervised.Load() {
			close(l.done)
		}
	})
}
