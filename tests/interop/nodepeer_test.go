package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/prosodytest"
)

// peerResource is the resource every StanzaJS peer binds, so its full JID
// is known before it connects.
const peerResource = "stanzajs"

// event is one line of peer.mjs output. Only the fields the tests read are
// decoded; Raw keeps the whole line for failure messages.
type event struct {
	Event  string     `json:"event"`
	T      int64      `json:"t"`
	SID    string     `json:"sid"`
	Peer   string     `json:"peer"`
	JID    string     `json:"jid"`
	Kind   string     `json:"kind"`
	Reason string     `json:"reason"`
	State  string     `json:"state"`
	Label  string     `json:"label"`
	Name   string     `json:"name"`
	Size   int64      `json:"size"`
	SHA256 string     `json:"sha256"`
	Path   string     `json:"path"`
	Codecs []string   `json:"codecs"`
	File   *fileMeta  `json:"file"`
	Stats  *peerStats `json:"stats"`
	// Inbound and the rest are set on "stats" events (and inside "ended").
	peerStats
	// Epoch is the wall clock in ms (record-start, video-colour).
	Epoch int64 `json:"epoch"`
	// Colour is the colour of the received video from Epoch on.
	Colour  string `json:"colour"`
	Message string `json:"message"`
	Dir     string `json:"dir"`
	XML     string `json:"xml"`
	Raw     string `json:"-"`
}

type fileMeta struct {
	Name       string   `json:"name"`
	Size       int64    `json:"size"`
	HashesUsed []string `json:"hashesUsed"`
	Hashes     []string `json:"hashes"`
}

type rtpCounters struct {
	Packets int64 `json:"packets"`
	Bytes   int64 `json:"bytes"`
}

type peerStats struct {
	Inbound  *rtpCounters `json:"inbound"`
	Outbound *rtpCounters `json:"outbound"`
	// CodecsUsed are the codecs of the RTP streams in each direction.
	CodecsUsed []struct {
		Dir         string `json:"dir"`
		MimeType    string `json:"mimeType"`
		PayloadType int    `json:"payloadType"`
	} `json:"codecsUsed"`
	Pair *struct {
		Local      string `json:"local"`
		LocalType  string `json:"localType"`
		Remote     string `json:"remote"`
		RemoteType string `json:"remoteType"`
	} `json:"pair"`
	// Tone is what StanzaJS measured in the audio it received: the
	// frequency, level and amount (ms) of audible audio, and the number of
	// 10 ms frames its audio sink delivered.
	Tone *struct {
		Freq     *float64 `json:"freq"`
		DBFS     *float64 `json:"dbfs"`
		SignalMs int64    `json:"signalMs"`
		Frames   int64    `json:"frames"`
	} `json:"tone"`
}

// interopDir is this package's directory: go test runs in it.
func interopDir(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

// requireNode fails (never skips) when node or the npm packages are
// missing: the interop tests are part of `make test`.
func requireNode(t *testing.T) (node, script string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("interop: node not found in PATH: install Debian's nodejs (or run `make deps`)")
	}
	dir := interopDir(t)
	for _, p := range []string{"node_modules/stanza/package.json", "node_modules/@roamhq/wrtc/package.json", "node_modules/@roamhq/wrtc-linux-x64/package.json"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Fatalf("interop: %s is missing: run `make interop-deps` (npm ci in tests/interop)", p)
		}
	}
	return node, filepath.Join(dir, "peer.mjs")
}

// nodePeer is a running peer.mjs process and the events it printed.
type nodePeer struct {
	t    *testing.T
	name string
	jid  string // full JID it binds
	cmd  *exec.Cmd
	// stdin carries driver commands (see tell); peer.mjs reads it only
	// when an option asks for one.
	stdin io.WriteCloser

	mu     sync.Mutex
	events []event
	notify chan struct{} // closed and replaced on each new event
	stderr bytes.Buffer

	exited  chan struct{}
	waitErr error
}

// startPeer runs peer.mjs as acc against srv (STARTTLS, trusting the
// server's certificate) in mode with args. The process is stopped with
// SIGTERM at the end of the test; its output is logged if the test failed.
func startPeer(t *testing.T, srv *prosodytest.Server, acc prosodytest.Account, mode string, args ...string) *nodePeer {
	t.Helper()
	requireIsolated(t)
	node, script := requireNode(t)
	argv := []string{script, acc.JID, acc.Password, srv.Addr, mode}
	argv = append(argv, args...)
	argv = append(argv, "--ca", srv.CAFile, "--resource", peerResource, "--log-xml")
	p := &nodePeer{
		t:      t,
		name:   acc.Local,
		jid:    acc.JID + "/" + peerResource,
		cmd:    exec.Command(node, argv...),
		notify: make(chan struct{}),
		exited: make(chan struct{}),
	}
	p.cmd.Dir = interopDir(t)
	p.cmd.SysProcAttr = peerProcAttr()
	p.cmd.Stderr = &lockedWriter{mu: &p.mu, w: &p.stderr}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("interop: start node peer: %v", err)
	}
	go p.read(out)
	t.Cleanup(p.stop)
	return p
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// read owns the stdout pipe until the process exits.
func (p *nodePeer) read(out interface{ Read([]byte) (int, error) }) {
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		var ev event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			// peer.mjs and this struct disagree: fail loudly (waitFor)
			// rather than let a wait time out on an event it never sees.
			ev = event{Event: "unparsed", Message: err.Error()}
		}
		ev.Raw = line
		p.mu.Lock()
		p.events = append(p.events, ev)
		close(p.notify)
		p.notify = make(chan struct{})
		p.mu.Unlock()
	}
	err := p.cmd.Wait()
	p.mu.Lock()
	p.waitErr = err
	p.mu.Unlock()
	close(p.exited)
}

// waitFor returns the first event named name that satisfies match (nil:
// any), waiting at most d. It fails the test if the peer exits or d
// passes first.
func (p *nodePeer) waitFor(d time.Duration, name string, match func(event) bool) event {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	seen := 0
	for {
		p.mu.Lock()
		evs := p.events[seen:]
		seen = len(p.events)
		notify := p.notify
		p.mu.Unlock()
		for _, ev := range evs {
			if ev.Event == "unparsed" {
				p.t.Fatalf("%s: cannot decode %s: %s", p.name, ev.Raw, ev.Message)
			}
			if ev.Event == name && (match == nil || match(ev)) {
				return ev
			}
		}
		select {
		case <-notify:
		case <-p.exited:
			p.mu.Lock()
			more := len(p.events) > seen
			p.mu.Unlock()
			if !more {
				p.t.Fatalf("%s: exited (%v) before a %q event\n%s", p.name, p.exitErr(), name, p.dump())
			}
		case <-ctx.Done():
			p.t.Fatalf("%s: no %q event within %v\n%s", p.name, name, d, p.dump())
		}
	}
}

// wait waits at most d for the process to exit by itself and returns its
// exit error.
func (p *nodePeer) wait(d time.Duration) error {
	p.t.Helper()
	select {
	case <-p.exited:
		return p.exitErr()
	case <-time.After(d):
		p.t.Fatalf("%s: still running after %v\n%s", p.name, d, p.dump())
		return nil
	}
}

func (p *nodePeer) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waitErr
}

// all returns the events named name seen so far.
func (p *nodePeer) all(name string) []event {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []event
	for _, ev := range p.events {
		if ev.Event == name {
			out = append(out, ev)
		}
	}
	return out
}

// jingleXML returns the Jingle IQs the peer sent ("out") or received
// ("in"), verbatim.
func (p *nodePeer) jingleXML(dir string) []string {
	var out []string
	for _, ev := range p.all("xml") {
		if ev.Dir == dir && strings.Contains(ev.XML, "urn:xmpp:jingle:1") {
			out = append(out, ev.XML)
		}
	}
	return out
}

// dump renders the peer's output for failure messages, XML frames last.
func (p *nodePeer) dump() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "--- %s events ---\n", p.name)
	for _, ev := range p.events {
		if ev.Event != "xml" {
			b.WriteString(ev.Raw + "\n")
		}
	}
	fmt.Fprintf(&b, "--- %s jingle xml ---\n", p.name)
	for _, ev := range p.events {
		if ev.Event == "xml" && strings.Contains(ev.XML, "jingle") {
			fmt.Fprintf(&b, "%s %s\n", ev.Dir, ev.XML)
		}
	}
	if p.stderr.Len() > 0 {
		fmt.Fprintf(&b, "--- %s stderr ---\n%s", p.name, p.stderr.String())
	}
	return b.String()
}

// tell writes one command line to the peer's stdin (e.g. "send" for
// --hold-data).
func (p *nodePeer) tell(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		p.t.Fatalf("%s: tell %q: %v", p.name, line, err)
	}
}

// stop ends the process (SIGTERM: the peer ends its sessions and closes
// its stream; SIGKILL after a grace period) and logs its output if the
// test failed.
func (p *nodePeer) stop() {
	select {
	case <-p.exited:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	}
	if p.t.Failed() {
		p.t.Log(p.dump())
	}
}
