// Command tcpcopy measures a plain TCP copy over loopback (127.0.0.1), the
// ceiling `make bench-ft-ref` prints beside the libwebrtc and pion
// datachannel references, measured in the same run on the same machine
// state.
//
// Each run dials a fresh connection and writes -size random bytes in
// -chunk writes (64 KiB, as filetransfer/integration's raw-tcp benchmark
// does); the receiver reads them and, unless -hash=false, hashes them with
// sha-256 and checks the sender's digest, the same per-byte work the
// datachannel receivers do. Timing runs from the first write to the last
// byte received; the handshake is reported apart as set-up.
//
//	go run ./bench/ftref/tcpcopy [-size BYTES] [-chunk BYTES] [-runs N] [-hash=false]
package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"hash"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/jingled/jingled/bench/ftref/internal/report"
	"github.com/jingled/jingled/internal/proccpu"
)

var (
	errArgs  = errors.New("tcpcopy: bad arguments")
	errCount = errors.New("tcpcopy: receiver byte count differs from sent")
	errHash  = errors.New("tcpcopy: sha-256 mismatch")
)

type options struct {
	size, chunk, runs int
	hash              bool
	timeout           time.Duration
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("tcpcopy", flag.ContinueOnError)
	var o options
	fs.IntVar(&o.size, "size", 32<<20, "bytes per run (the Go file-transfer benchmark's -ft.benchsize default)")
	fs.IntVar(&o.chunk, "chunk", 64<<10, "bytes per write")
	fs.IntVar(&o.runs, "runs", 3, "transfers, each over a fresh connection")
	fs.BoolVar(&o.hash, "hash", true, "receiver checks a sha-256 of the bytes (as the datachannel references do)")
	fs.DurationVar(&o.timeout, "timeout", 2*time.Minute, "limit per run")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", errArgs, err)
	}
	if fs.NArg() > 0 || o.size <= 0 || o.chunk <= 0 || o.runs <= 0 || o.timeout <= 0 {
		return fmt.Errorf("%w: need positive -size, -chunk, -runs and -timeout", errArgs)
	}
	data := make([]byte, o.size)
	_, _ = rand.Read(data) // never fails (crypto/rand documents it)
	want := sha256.Sum256(data)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("tcpcopy: %w", err)
	}
	defer l.Close()
	name, bp, check := "raw-tcp", "kernel (TCP window)", "sha-256 ok"
	if !o.hash {
		name, check = name+"-nohash", "not checked"
	}
	runs := make([]report.Run, 0, o.runs)
	for i := range o.runs {
		r, err := copyOnce(ctx, l, data, want, o)
		if err != nil {
			return fmt.Errorf("%s run %d: %w", name, i+1, err)
		}
		runs = append(runs, r)
		if err := report.PrintRun(out, name, i+1, o.runs, r, check); err != nil {
			return err
		}
	}
	impl := "Go " + runtime.Version() + " net, 127.0.0.1"
	res := report.Summarize(name, impl, o.chunk, bp, runs)
	if !o.hash {
		res.SHA256 = check
	}
	return res.Print(out)
}

type received struct {
	n   int64
	sum []byte
	end time.Time
	err error
}

// copyOnce sends data over one fresh loopback connection and waits for
// the receiver, which runs in a goroutine that ends before this returns.
func copyOnce(ctx context.Context, l net.Listener, data []byte, want [32]byte, o options) (report.Run, error) {
	deadline := time.Now().Add(o.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	res := make(chan received, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			res <- received{err: fmt.Errorf("accept: %w", err)}
			return
		}
		defer c.Close()
		_ = c.SetDeadline(deadline)
		var h hash.Hash
		w := io.Discard
		if o.hash {
			h = sha256.New()
			w = h
		}
		n, err := io.CopyBuffer(w, c, make([]byte, o.chunk))
		r := received{n: n, end: time.Now(), err: err}
		if h != nil {
			r.sum = h.Sum(nil)
		}
		res <- r
	}()

	setupStart := time.Now()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", l.Addr().String())
	if err != nil {
		// Unblock the accepting goroutine: nothing else will connect.
		_ = l.(*net.TCPListener).SetDeadline(time.Now())
		<-res
		_ = l.(*net.TCPListener).SetDeadline(time.Time{})
		return report.Run{}, fmt.Errorf("dial: %w", err)
	}
	setup := time.Since(setupStart)
	_ = c.SetDeadline(deadline)
	start, cpu0 := time.Now(), proccpu.Used()
	var werr error
	for off := 0; off < len(data) && werr == nil; off += o.chunk {
		_, werr = c.Write(data[off:min(off+o.chunk, len(data))])
	}
	// Closing tells the receiver the end; on a write error it also ends
	// its read.
	_ = c.Close()
	r := <-res
	cpu := proccpu.Used() - cpu0
	switch {
	case werr != nil:
		return report.Run{}, fmt.Errorf("write: %w", werr)
	case r.err != nil:
		return report.Run{}, fmt.Errorf("read: %w", r.err)
	case r.n != int64(len(data)):
		return report.Run{}, fmt.Errorf("%w: %d, sent %d", errCount, r.n, len(data))
	case o.hash && [32]byte(r.sum) != want:
		return report.Run{}, fmt.Errorf("%w: got %x, want %x", errHash, r.sum, want)
	}
	return report.Run{Bytes: len(data), Transfer: r.end.Sub(start), Setup: setup, CPU: cpu}, nil
}
