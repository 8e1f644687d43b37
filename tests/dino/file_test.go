package dino

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Dino's chat: the attach button, shown only when the peer's resource
// advertises file-transfer:5 and s5b:1 or ibb:1 (evaluated as the chat
// opens).
var attachButton = image.Pt(337, 663)

// randomFile writes size random bytes and returns the path and sha-256.
func randomFile(t *testing.T, name string, size int) (string, string) {
	t.Helper()
	b := make([]byte, size)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return p, hex.EncodeToString(sum[:])
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestFileToDino: `jingle send` offers files to Dino's bare JID; Dino
// auto-accepts them (a roster contact, under 5 MB) over SOCKS5. Over IBB
// (the CLI offering only IBB) Dino 0.4.2 cannot receive at all, which the
// ibb case pins down.
func TestFileToDino(t *testing.T) {
	t.Run("s5b", func(t *testing.T) {
		l := getLab(t)
		d := l.dino
		name, want, c := sendToDino(t, l, "s5b", 2<<20)
		r := c.wait(t, 80*time.Second)
		if r.code != 0 {
			t.Fatalf("jingle send: %s", r)
		}
		sum := r.summary()
		t.Logf("jingle send: transport %v, %v bytes in %v s", sum["transport"], sum["transferred"], sum["seconds"])
		if sum["transport"] != "s5b" {
			t.Errorf("transport %v, want s5b", sum["transport"])
		}
		got := d.receivedFile(t, name)
		h := sha256File(t, got)
		t.Logf("Dino saved %s: sha-256 %s (sent %s)", filepath.Base(got), h, want)
		if h != want {
			t.Errorf("Dino's copy has sha-256 %s, want %s", h, want)
		}
	})
	t.Run("ibb", func(t *testing.T) {
		l := getLab(t)
		d := l.dino
		off := len(d.log())
		name, want, c := sendToDino(t, l, "ibb", 256<<10)
		// Dino accepts, then its JingleFileTransfer.accept closes the
		// stream's output side synchronously, which an in-band
		// bytestream refuses ("can't do non-async closes", xmpp-vala
		// 0047_in_band_bytestreams.vala; still so in Dino 0.4.5 and
		// master): the download fails at once, while the IBB layer
		// keeps acking the data.
		var rows [][]string
		err := d.waitFor(context.Background(), 30*time.Second, "Dino's verdict on the IBB file", func() (bool, error) {
			rows = d.query(t, fmt.Sprintf("SELECT state, IFNULL(path, '') FROM file_transfer WHERE direction = 0 AND file_name = '%s'", name))
			return len(rows) == 1 && (rows[0][0] == "0" || rows[0][0] == "3"), nil
		})
		if err != nil {
			t.Fatalf("%v: %v\n%s", err, rows, c.result)
		}
		err = d.waitFor(context.Background(), 15*time.Second, "the CLI's IBB <open/> and first <data/> in Dino's stanza log", func() (bool, error) {
			log := d.logSince(off)
			return strings.Contains(log, "xmlns='http://jabber.org/protocol/ibb'") && strings.Contains(log, "seq='0'"), nil
		})
		if err != nil {
			t.Error(err)
		}
		log := d.logSince(off)
		if rows[0][0] == "0" {
			got := filepath.Join(d.home, ".local/share/dino/files", rows[0][1])
			if h := sha256File(t, got); h != want {
				t.Fatalf("Dino completed the IBB file with sha-256 %s, want %s", h, want)
			}
			t.Logf("Dino received over IBB: sha-256 %s; its IBB receive bug is fixed, update this test", want)
			return
		}
		if !strings.Contains(log, "Error downloading file: Establishing connection did not work") {
			t.Fatalf("Dino failed the IBB file, but not for the known reason:\n%s", tail(log, 4000))
		}
		t.Logf("KNOWN DINO BUG: Dino 0.4.2 accepted the IBB file %s and failed it at once (\"Establishing connection did not work\": "+
			"a synchronous close on the in-band bytestream), while the CLI sent it in-band", name)
	})
}

// sendToDino starts `jingle send` of a fresh random file of size to Dino
// over transport and returns the file name, its sha-256 and the command.
func sendToDino(t *testing.T, l *lab, transport string, size int) (string, string, *cli) {
	t.Helper()
	d := l.dino
	d.alive(t)
	d.dumpOnFailure(t)
	name := fmt.Sprintf("to-dino-%s-%d.bin", transport, time.Now().UnixNano())
	path, want := randomFile(t, name, size)
	// Dino takes a Jingle file only from a JID it has a conversation
	// with (libdino jingle_file_transfers.vala: file_incoming returns
	// when get_conversation is null, and the session stays pending):
	// open the chat first.
	d.openChat(t, l.accounts["alice"].JID)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	c := l.startCLI(t, ctx, "alice", "send", l.accounts["dino"].JID, path, "--transport", transport)
	return name, want, c
}

// receivedFile waits until Dino completed the incoming file name
// (file_transfer state 0) and returns where it saved it.
func (d *dinoProc) receivedFile(t *testing.T, name string) string {
	t.Helper()
	var rows [][]string
	err := d.waitFor(context.Background(), 30*time.Second, "completed file "+name+" in dino.db", func() (bool, error) {
		rows = d.query(t, fmt.Sprintf("SELECT state, path FROM file_transfer WHERE direction = 0 AND file_name = '%s' ORDER BY id DESC LIMIT 1", name))
		return len(rows) == 1 && rows[0][0] == "0", nil
	})
	if err != nil {
		t.Fatalf("%v (rows %v)", err, rows)
	}
	return filepath.Join(d.home, ".local/share/dino/files", rows[0][1])
}

// TestFileFromDino: Dino sends a file from its chat's attach button to
// `jingle receive` over SOCKS5, its first choice. With every TCP
// connection but the XMPP ones refused, Dino 0.4.2 does not fall back to
// IBB (after both sides' candidate-error it fails the send instead of a
// transport-replace), which the ibb case pins down.
func TestFileFromDino(t *testing.T) {
	for _, tc := range []struct {
		transport string
		size      int
	}{{"s5b", 2 << 20}, {"ibb", 256 << 10}} {
		t.Run(tc.transport, func(t *testing.T) {
			l := getLab(t)
			d := l.dino
			d.alive(t)
			d.dumpOnFailure(t)
			if tc.transport == "ibb" {
				l.blockSOCKS5(t)
			}
			name := fmt.Sprintf("from-dino-%s-%d.bin", tc.transport, time.Now().UnixNano())
			path, want := randomFile(t, name, tc.size)
			dir := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
			defer cancel()
			c := l.startPeerFor(t, ctx, "carol", func() bool { return d.attachVisible(t, l.accounts["carol"].JID) },
				"receive", "--dir", dir, "--count", "1", "--timeout", "100s")
			off := len(d.log())
			start := time.Now()
			d.sendFile(t, l.accounts["carol"].JID, path)
			if tc.transport == "ibb" {
				const sendErr = "Send file error: offer_file_stream failed"
				_ = d.waitFor(ctx, 60*time.Second, "the transfer to end", func() (bool, error) {
					select {
					case <-c.done:
						return true, nil
					default:
					}
					return strings.Contains(d.logSince(off), sendErr), nil
				})
				select {
				case <-c.done:
				default:
					log := d.logSince(off)
					if strings.Count(log, "<candidate-error />") < 2 {
						t.Fatalf("Dino failed the send, but not after both sides' SOCKS5 candidate-error:\n%s", tail(log, 6000))
					}
					t.Logf("KNOWN DINO BUG: with SOCKS5 refused, both sides sent candidate-error and Dino 0.4.2 failed the send (%q) "+
						"instead of replacing the transport with IBB", sendErr)
					return
				}
			}
			r := c.wait(t, 110*time.Second)
			if r.code != 0 {
				t.Fatalf("jingle receive: %s", r)
			}
			sum := r.summary()
			got := filepath.Join(dir, name)
			h := sha256File(t, got)
			t.Logf("jingle receive: transport %v, %v bytes in %.2f s, sha-256 %s (sent %s)",
				sum["transport"], sum["transferred"], time.Since(start).Seconds(), h, want)
			if sum["transport"] != tc.transport {
				t.Errorf("transport %v, want %s", sum["transport"], tc.transport)
			}
			if h != want {
				t.Errorf("the CLI's copy has sha-256 %s, want %s", h, want)
			}
		})
	}
}

// attachVisible opens the chat with bare and reports whether its attach
// button shows (a dark paperclip on the white message entry).
func (d *dinoProc) attachVisible(t *testing.T, bare string) bool {
	t.Helper()
	for try := 1; try <= 2; try++ {
		d.openChat(t, bare)
		d.snap(t, fmt.Sprintf("attach-visible-%d", try))
		img, err := d.screenshot()
		if err != nil {
			t.Fatal(err)
		}
		// The paperclip spans about 331..344 x 655..670; without it the
		// entry's text cursor sits at x=328, with it at x=363.
		if countBelow(img, image.Rect(attachButton.X-6, attachButton.Y-8, attachButton.X+8, attachButton.Y+9), 160) >= 15 {
			return true
		}
		time.Sleep(500 * time.Millisecond)
	}
	return false
}

// sendFile sends path to bare from Dino's chat: the attach button, the
// file chooser's location entry (Ctrl+L), then Return on Dino's send
// dialog.
func (d *dinoProc) sendFile(t *testing.T, bare, path string) {
	t.Helper()
	for try := 1; ; try++ {
		d.openChat(t, bare)
		d.click(t, attachButton.X, attachButton.Y)
		err := d.waitFor(context.Background(), 5*time.Second, "the file chooser", func() (bool, error) {
			return d.windowVisible("Select file")
		})
		if err == nil {
			break
		}
		d.snap(t, fmt.Sprintf("attach-%d", try))
		if try == 3 {
			t.Fatalf("Dino's file chooser did not open from the attach button (does %s advertise file-transfer:5 with s5b or ibb?): %v", bare, err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	d.xdo(t, "key", "ctrl+l")
	time.Sleep(300 * time.Millisecond)
	d.xdo(t, "type", "--delay", "20", path)
	time.Sleep(300 * time.Millisecond)
	d.xdo(t, "key", "Return")
	// Dino's send overlay (file preview, "Send") takes Return.
	time.Sleep(time.Second)
	d.snap(t, "send-overlay")
	d.xdo(t, "key", "Return")
}

// blockSOCKS5 refuses, for the rest of t, every new TCP connection in the
// test's namespace except to Prosody (its c2s port, the :5222 forward and
// the component port), so SOCKS5 bytestreams fail and IBB remains.
func (l *lab) blockSOCKS5(t *testing.T) {
	t.Helper()
	const chain = "JDINO_NO_S5B"
	ports := []string{"5222", portOf(l.srv.Addr), portOf(l.srv.ComponentAddr)}
	rules := [][]string{{"-N", chain}}
	for _, p := range ports {
		rules = append(rules, []string{"-A", chain, "-p", "tcp", "--dport", p, "-j", "RETURN"})
	}
	rules = append(rules,
		[]string{"-A", chain, "-p", "tcp", "--syn", "-j", "REJECT", "--reject-with", "tcp-reset"},
		[]string{"-I", "OUTPUT", "-j", chain})
	// Prosody listens on IPv4 only: IPv6 (the veth ends' link-local
	// addresses, which both Dino and the CLI offer) loses TCP altogether.
	rules6 := [][]string{{"-N", chain},
		{"-A", chain, "-p", "tcp", "--syn", "-j", "REJECT", "--reject-with", "tcp-reset"},
		{"-I", "OUTPUT", "-j", chain}}
	undo := [][]string{{"-D", "OUTPUT", "-j", chain}, {"-F", chain}, {"-X", chain}}
	t.Cleanup(func() {
		for _, tool := range []string{"iptables", "ip6tables"} {
			for _, r := range undo {
				if out, err := exec.Command(tool, r...).CombinedOutput(); err != nil {
					t.Errorf("%s %s: %v: %s", tool, strings.Join(r, " "), err, out)
				}
			}
		}
	})
	for tool, rs := range map[string][][]string{"iptables": rules, "ip6tables": rules6} {
		for _, r := range rs {
			if out, err := exec.Command(tool, r...).CombinedOutput(); err != nil {
				t.Fatalf("%s %s: %v: %s", tool, strings.Join(r, " "), err, out)
			}
		}
	}
}

func portOf(addr string) string {
	return addr[strings.LastIndex(addr, ":")+1:]
}
