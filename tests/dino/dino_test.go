package dino

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/prosodytest"
)

// Dino's microphone tone. The CLI peers send other tones: Dino's echo
// canceller removes from its microphone whatever it plays.
const dinoTone = 660

// The Xvfb screen; Dino's windows open at 0,0 (no window manager).
const screenW, screenH = 1280, 800

// dinoProc is a running Dino with its X server and session bus.
type dinoProc struct {
	dir      string
	home     string
	dbFile   string
	speaker  string // raw S16LE 48 kHz mono, appended by the test speaker
	display  string
	env      []string
	version  string
	logFile  string
	account  prosodytest.Account
	cmd      *exec.Cmd
	exited   chan struct{}
	xvfb     *exec.Cmd
	dbus     *exec.Cmd
	bus      string
	xvfbDone chan struct{}
	xvfbOut  *syncBuffer
	dbusDone chan struct{}
}

func startDino(ctx context.Context, dir string, acc prosodytest.Account, srv *prosodytest.Server) (_ *dinoProc, err error) {
	d := &dinoProc{dir: dir, home: filepath.Join(dir, "home"), account: acc,
		speaker: filepath.Join(dir, "speaker.raw"), logFile: filepath.Join(dir, "dino.log")}
	defer func() {
		if err != nil {
			d.close()
		}
	}()
	if err := os.MkdirAll(filepath.Join(d.home, ".local/share/dino"), 0o700); err != nil {
		return nil, err
	}
	plugins := filepath.Join(dir, "gst-plugins")
	if err := buildDeviceProvider(ctx, plugins); err != nil {
		return nil, err
	}
	if err := d.startXvfb(); err != nil {
		return nil, err
	}
	if err := d.startBus(); err != nil {
		return nil, err
	}
	// Xvfb's key auto-repeat turns xdotool's key presses on slow cores
	// into "tttttt…".
	if out, err := exec.Command("xset", "-display", d.display, "r", "off").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("dino: xset r off: %v: %s (Xvfb: %s)", err, out, d.xvfbOut.String())
	}
	d.env = append(os.Environ(),
		"HOME="+d.home,
		"XDG_DATA_HOME="+filepath.Join(d.home, ".local/share"),
		"XDG_CONFIG_HOME="+filepath.Join(d.home, ".config"),
		"XDG_CACHE_HOME="+filepath.Join(d.home, ".cache"),
		"XDG_RUNTIME_DIR="+dir,
		"DISPLAY="+d.display,
		"DBUS_SESSION_BUS_ADDRESS="+d.bus,
		"GST_PLUGIN_PATH="+plugins,
		"GST_REGISTRY="+filepath.Join(dir, "gst-registry.bin"),
		"GSETTINGS_BACKEND=memory",
		"GTK_A11Y=none",
		"NO_AT_BRIDGE=1",
		"GDK_BACKEND=x11",
		// GTK 4's default GL renderer runs on llvmpipe here: its threads
		// took both cores and starved Dino's main loop (XMPP included)
		// for tens of seconds while a transfer's progress animated.
		"GSK_RENDERER=cairo",
		"LANG=C.UTF-8",
		"LC_ALL=C.UTF-8",
		"JINGLED_TEST_TONE="+strconv.Itoa(dinoTone),
		"JINGLED_TEST_SPEAKER="+d.speaker,
		"JINGLED_TEST_VIDEO_PATTERN=smpte",
	)
	d.version = d.readVersion(ctx)
	d.dbFile = filepath.Join(d.home, ".local/share/dino/dino.db")
	if err := writeAccount(ctx, d.dbFile, acc); err != nil {
		return nil, err
	}
	logf, err := os.Create(d.logFile)
	if err != nil {
		return nil, err
	}
	// The stanza log (plain xmlns='…' XML after stripping colours) is the
	// only view of what Dino sent; it is printed when a test fails.
	d.cmd = exec.Command("dino-im", "--print-xmpp=ansi;hide-ns;all")
	d.cmd.Env = d.env
	d.cmd.Dir = d.home
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := d.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("dino: starting dino-im: %w", err)
	}
	d.exited = make(chan struct{})
	go func() { _ = d.cmd.Wait(); logf.Close(); close(d.exited) }()
	// Online: Prosody saw the login and the resource's initial presence.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(srv.Log(), "Authenticated as "+acc.JID) {
		select {
		case <-d.exited:
			return nil, fmt.Errorf("dino: dino-im exited at start: %s\n%s", d.cmd.ProcessState, d.logTail(4000))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("dino: Dino did not log in to the test Prosody within 30 s (TLS to localhost:5222 with the test CA)\n%s\nprosody:\n%s",
				d.logTail(4000), tail(srv.Log(), 3000))
		}
	}
	if err := d.waitFor(ctx, 20*time.Second, "Dino's main window", func() (bool, error) { return d.windowVisible("Dino") }); err != nil {
		return nil, err
	}
	return d, nil
}

// buildDeviceProvider compiles gstdev/testdevices.c into dir.
func buildDeviceProvider(ctx context.Context, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	src, err := filepath.Abs("gstdev/testdevices.c")
	if err != nil {
		return err
	}
	flags, err := exec.CommandContext(ctx, "pkg-config", "--cflags", "--libs", "gstreamer-1.0").Output()
	if err != nil {
		return fmt.Errorf("dino: pkg-config gstreamer-1.0: %v (Debian package libgstreamer1.0-dev)", err)
	}
	args := append([]string{"-shared", "-fPIC", "-O2", "-Wall", "-o", filepath.Join(dir, "libgsttestdevices.so"), src}, strings.Fields(string(flags))...)
	if out, err := exec.CommandContext(ctx, "gcc", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("dino: building the GStreamer test device provider: %v\n%s", err, out)
	}
	return nil
}

func (d *dinoProc) startXvfb() error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	d.xvfb = exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", fmt.Sprintf("%dx%dx24", screenW, screenH),
		"-nolisten", "tcp", "-noreset")
	d.xvfb.ExtraFiles = []*os.File{w}
	d.xvfb.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out := &syncBuffer{}
	d.xvfbOut = out
	d.xvfb.Stdout, d.xvfb.Stderr = out, out
	if err := d.xvfb.Start(); err != nil {
		w.Close()
		return fmt.Errorf("dino: starting Xvfb: %w", err)
	}
	w.Close()
	d.xvfbDone = make(chan struct{})
	go func() { _ = d.xvfb.Wait(); close(d.xvfbDone) }()
	// Xvfb writes the number, then a newline: read both before closing.
	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		got <- strings.TrimSpace(line)
	}()
	select {
	case n := <-got:
		if n == "" {
			return fmt.Errorf("dino: Xvfb did not start: %s", out.String())
		}
		d.display = ":" + n
	case <-time.After(20 * time.Second):
		return fmt.Errorf("dino: Xvfb gave no display within 20 s: %s", out.String())
	}
	return nil
}

func (d *dinoProc) startBus() error {
	sock := filepath.Join(d.dir, "bus")
	d.bus = "unix:path=" + sock
	d.dbus = exec.Command("dbus-daemon", "--session", "--nofork", "--nopidfile", "--address="+d.bus)
	d.dbus.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var out syncBuffer
	d.dbus.Stdout, d.dbus.Stderr = &out, &out
	if err := d.dbus.Start(); err != nil {
		return fmt.Errorf("dino: starting dbus-daemon: %w", err)
	}
	d.dbusDone = make(chan struct{})
	go func() { _ = d.dbus.Wait(); close(d.dbusDone) }()
	for i := 0; i < 200; i++ {
		if _, err := os.Stat(sock); err == nil {
			return nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	return fmt.Errorf("dino: dbus-daemon made no socket: %s", out.String())
}

// readVersion runs `dino-im --version` (it needs the display) and adds the
// Debian package version.
func (d *dinoProc) readVersion(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	// A throwaway home: Dino creates its database even for --version.
	home := filepath.Join(d.dir, "version-home")
	cmd := exec.CommandContext(ctx, "dino-im", "--version")
	cmd.Env = append(d.env, "HOME="+home, "XDG_DATA_HOME="+home, "XDG_CONFIG_HOME="+home, "XDG_CACHE_HOME="+home,
		"DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent")
	cmd.Dir = d.dir
	out, _ := cmd.CombinedOutput()
	v := "?"
	if m := regexp.MustCompile(`Dino \S+`).Find(out); m != nil {
		v = string(m)
	}
	pkg, _ := exec.Command("dpkg-query", "-W", "-f=${Version}", "dino-im").Output()
	return fmt.Sprintf("%s (Debian dino-im %s)", v, pkg)
}

// writeAccount creates Dino's database with one account, as 0.4.2's
// AccountTable declares it (libdino/src/service/database.vala), password
// in clear as 0.4 stores it. Dino creates every other table itself.
func writeAccount(ctx context.Context, db string, acc prosodytest.Account) error {
	sql := `CREATE TABLE account (id INTEGER PRIMARY KEY AUTOINCREMENT, bare_jid TEXT UNIQUE NOT NULL, resourcepart TEXT,
  password TEXT, alias TEXT, enabled INTEGER, roster_version TEXT, mam_earliest_synced INTEGER);
INSERT INTO account (bare_jid, resourcepart, password, alias, enabled) VALUES ('` + acc.JID + `', 'dino', '` + acc.Password + `', 'Dino', 1);`
	if out, err := exec.CommandContext(ctx, "sqlite3", db, sql).CombinedOutput(); err != nil {
		return fmt.Errorf("dino: writing Dino's account (sqlite3): %v: %s", err, out)
	}
	return nil
}

func (d *dinoProc) close() {
	if d.cmd != nil && d.cmd.Process != nil {
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.exited:
		case <-time.After(3 * time.Second):
			_ = d.cmd.Process.Kill()
			<-d.exited
		}
	}
	for _, p := range []struct {
		cmd  *exec.Cmd
		done chan struct{}
	}{{d.dbus, d.dbusDone}, {d.xvfb, d.xvfbDone}} {
		if p.cmd != nil && p.cmd.Process != nil && p.done != nil {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
}

// alive fails t if Dino exited.
func (d *dinoProc) alive(t *testing.T) {
	t.Helper()
	select {
	case <-d.exited:
		t.Fatalf("dino: dino-im exited (%s):\n%s", d.cmd.ProcessState, d.logTail(6000))
	default:
	}
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

// log returns Dino's output (stanza log) without colour codes.
func (d *dinoProc) log() string {
	b, _ := os.ReadFile(d.logFile)
	return ansi.ReplaceAllString(string(b), "")
}

func (d *dinoProc) logTail(n int) string { return tail(d.log(), n) }

// logSince returns what Dino printed after byte offset off of its log.
func (d *dinoProc) logSince(off int) string {
	l := d.log()
	if off > len(l) {
		return ""
	}
	return l[off:]
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// dumpOnFailure prints, when t failed, Dino's log written since the
// test started and a screenshot's description.
func (d *dinoProc) dumpOnFailure(t *testing.T) {
	off := len(d.log())
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("Dino's log during the test:\n%s", tail(d.logSince(off), 12000))
			if os.Getenv("JINGLED_DINO_KEEP") != "" {
				if img, err := d.screenshot(); err == nil {
					p := filepath.Join(d.dir, strings.ReplaceAll(t.Name(), "/", "_")+".ppm")
					_ = writePPM(p, img)
					t.Logf("screenshot: %s", p)
				}
			}
		}
	})
}

// X and D-Bus helpers.

func (d *dinoProc) run(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = d.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// xdo runs xdotool with args.
func (d *dinoProc) xdo(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := d.run(ctx, "xdotool", args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// click moves the pointer to x,y and clicks the left button.
func (d *dinoProc) click(t *testing.T, x, y int) {
	t.Helper()
	d.xdo(t, "mousemove", strconv.Itoa(x), strconv.Itoa(y))
	time.Sleep(150 * time.Millisecond)
	d.xdo(t, "click", "1")
}

// windowVisible reports whether a visible window's name matches name
// (a regular expression, as xdotool takes it).
func (d *dinoProc) windowVisible(name string) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := d.run(ctx, "xdotool", "search", "--onlyvisible", "--name", name)
	if err != nil && strings.TrimSpace(out) != "" {
		return false, nil
	}
	return strings.TrimSpace(out) != "", nil
}

// action activates a GAction of Dino's application over D-Bus; param is
// a GVariant text, e.g. "<(1, 2)>", or "" for none.
func (d *dinoProc) action(t *testing.T, name, param string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	params := "[]"
	if param != "" {
		params = "[" + param + "]"
	}
	if _, err := d.run(ctx, "gdbus", "call", "--session", "--dest", "im.dino.Dino", "--object-path", "/im/dino/Dino",
		"--method", "org.gtk.Actions.Activate", name, params, "{}"); err != nil {
		t.Fatal(err)
	}
}

// openURI hands Dino an xmpp: URI as a second launch would
// (org.gtk.Application.Open): "xmpp:JID?message" opens that chat.
func (d *dinoProc) openURI(t *testing.T, uri string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := d.run(ctx, "gdbus", "call", "--session", "--dest", "im.dino.Dino", "--object-path", "/im/dino/Dino",
		"--method", "org.gtk.Application.Open", "['"+uri+"']", "", "{}"); err != nil {
		t.Fatal(err)
	}
}

// query runs SQL on Dino's database (read while Dino writes it).
func (d *dinoProc) query(t *testing.T, sql string) [][]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := d.run(ctx, "sqlite3", "-cmd", ".timeout 5000", "-separator", "\t", d.dbFile, sql)
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line != "" {
			rows = append(rows, strings.Split(line, "\t"))
		}
	}
	return rows
}

// waitFor polls cond until it holds, for at most timeout.
func (d *dinoProc) waitFor(ctx context.Context, timeout time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if d.exited != nil {
			select {
			case <-d.exited:
				return fmt.Errorf("dino: dino-im exited while waiting for %s: %s\n%s", what, d.cmd.ProcessState, d.logTail(4000))
			default:
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("dino: no %s within %v", what, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// screenshot grabs the whole Xvfb screen with ffmpeg's x11grab.
func (d *dinoProc) screenshot() (*image.RGBA, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-loglevel", "error", "-f", "x11grab", "-draw_mouse", "0",
		"-video_size", fmt.Sprintf("%dx%d", screenW, screenH), "-i", d.display,
		"-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgba", "-")
	cmd.Env = d.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("dino: screenshot: %v: %s", err, errb.String())
	}
	if out.Len() != screenW*screenH*4 {
		return nil, fmt.Errorf("dino: screenshot: %d bytes", out.Len())
	}
	img := image.NewRGBA(image.Rect(0, 0, screenW, screenH))
	copy(img.Pix, out.Bytes())
	return img, nil
}

// findColour returns the centre of the largest-area run of pixels close
// to c inside r (a button found by its colour), or ok=false.
func findColour(img *image.RGBA, r image.Rectangle, c color.RGBA, minPixels int) (x, y int, ok bool) {
	var sx, sy, n int
	r = r.Intersect(img.Bounds())
	for py := r.Min.Y; py < r.Max.Y; py++ {
		for px := r.Min.X; px < r.Max.X; px++ {
			p := img.RGBAAt(px, py)
			if near(p, c, 12) {
				sx += px
				sy += py
				n++
			}
		}
	}
	if n < minPixels {
		return 0, 0, false
	}
	return sx / n, sy / n, true
}

func near(a, b color.RGBA, tol int) bool {
	d := func(x, y uint8) int {
		if x > y {
			return int(x - y)
		}
		return int(y - x)
	}
	return d(a.R, b.R) <= tol && d(a.G, b.G) <= tol && d(a.B, b.B) <= tol
}

func writePPM(path string, img *image.RGBA) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "P6\n%d %d\n255\n", img.Rect.Dx(), img.Rect.Dy())
	for i := 0; i < len(img.Pix); i += 4 {
		b.Write(img.Pix[i : i+3])
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

var _ = runtime.NumCPU
