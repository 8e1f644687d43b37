package dino

import (
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/mediatest"
)

// Dino's main window (1200x700 at 0,0): the call button and its menu.
var (
	callButton    = image.Pt(978, 27)
	audioCallItem = image.Pt(978, 79)
	videoCallItem = image.Pt(978, 111)
)

// snap saves a screenshot as PNG under the kept lab directory
// (JINGLED_DINO_KEEP), for following the UI steps.
func (d *dinoProc) snap(t *testing.T, name string) {
	t.Helper()
	if os.Getenv("JINGLED_DINO_KEEP") == "" {
		return
	}
	img, err := d.screenshot()
	if err != nil {
		t.Log(err)
		return
	}
	_ = writePPM(filepath.Join(d.dir, name+".ppm"), img)
}

// openChat opens Dino's chat with bare (xmpp:…?message, as a second launch
// would): the call and attach buttons are evaluated against the peer's
// online resources when the chat opens.
func (d *dinoProc) openChat(t *testing.T, bare string) {
	t.Helper()
	// Another chat first, so that an already open one is opened again
	// and looks at the peer's current resources.
	d.openURI(t, "xmpp:"+switchJID+"?message")
	time.Sleep(300 * time.Millisecond)
	d.openURI(t, "xmpp:"+bare+"?message")
	time.Sleep(700 * time.Millisecond)
}

// switchJID is a chat Dino opens in between (no such account).
const switchJID = "nobody@localhost"

// TestCallFromDino: Dino calls `jingle answer` from its chat window's call
// button; each side hears the other's tone.
func TestCallFromDino(t *testing.T) {
	for _, video := range []bool{false, true} {
		name := "audio"
		if video {
			name = "audio+video"
		}
		t.Run(name, func(t *testing.T) {
			l := getLab(t)
			d := l.dino
			d.alive(t)
			d.dumpOnFailure(t)
			for attempt := 1; ; attempt++ {
				err := callFromDino(t, l, video, attempt)
				if !errors.Is(err, errRetryVideo) && !errors.Is(err, errRetrySilent) {
					return
				}
			}
		})
	}
}

// callFromDino is one attempt of TestCallFromDino: Dino calls `jingle
// answer` from its call menu; errRetryVideo (see videoShown) and, on the
// first attempt, errRetrySilent ask for one more; other failures are
// reported on t.
func callFromDino(t *testing.T, l *lab, video bool, attempt int) error {
	t.Helper()
	d := l.dino
	logOff := len(d.log())
	const bobTone = 880.0
	audio, ivf := callFiles(t, bobTone, video)
	rec := filepath.Join(t.TempDir(), "rec")
	length := callMedia
	if video {
		length = videoCallMedia
	}
	args := []string{"answer", "--audio", audio, "--record", rec, "--count", "1", "--timeout", "60s", "--duration", length.String()}
	if video {
		args = append(args, "--video", ivf)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c := l.startPeerFor(t, ctx, "bob", func() bool { return d.openCallMenu(t, l.accounts["bob"].JID) }, args...)
	off := d.speakerOffset()
	item := audioCallItem
	if video {
		item = videoCallItem
	}
	d.click(t, item.X, item.Y)
	time.Sleep(time.Second)
	d.snap(t, "callout-calling")
	if video && c.waitEvent(t, "media", 30*time.Second) {
		if err := d.videoShown(t, d.checkDinoShows(t, cliColour, c.done), logOff, attempt); errors.Is(err, errRetryVideo) {
			c.wait(t, 60*time.Second)
			return err
		} else if err != nil {
			t.Error(err)
		}
	}
	r := c.wait(t, 60*time.Second)
	if r.code != 0 {
		t.Fatalf("jingle answer: %s", r)
	}
	logCall(t, r)
	if attempt == 1 && received(r, "audio") == 0 {
		t.Logf("RETRY: Dino sent no audio in a call that connected: %s; placing the call once more", r)
		return errRetrySilent
	}
	checkTone(t, "CLI heard Dino", loadPCM(t, rec+".ogg"), mediatest.AnalysisRate, dinoTone)
	checkTone(t, "Dino heard the CLI", d.heard(t, off), 48000, bobTone)
	if video {
		checkDinoVideo(t, rec+".ivf")
	}
	return nil
}

// openCallMenu opens the chat with bare and the call button's menu,
// checking that the menu ("Audio call", "Video call") shows; the button
// is live only once Dino has the peer's presence and caps, so it retries.
func (d *dinoProc) openCallMenu(t *testing.T, bare string) bool {
	t.Helper()
	for try := 1; ; try++ {
		d.openChat(t, bare)
		d.click(t, callButton.X, callButton.Y)
		time.Sleep(500 * time.Millisecond)
		d.snap(t, fmt.Sprintf("call-menu-%d", try))
		img, err := d.screenshot()
		if err != nil {
			t.Fatal(err)
		}
		// The menu's two lines of text, where the chat is blank.
		if n := countDark(img, image.Rect(940, 70, 1016, 120)); n >= 30 {
			return true
		}
		if try == 2 {
			t.Logf("Dino's call menu did not open (is %s online with RTP in its caps?)", bare)
			return false
		}
		d.xdo(t, "key", "Escape")
		time.Sleep(time.Second)
	}
}

// countDark counts the pixels of r darker than mid-grey.
func countDark(img *image.RGBA, r image.Rectangle) int { return countBelow(img, r, 110) }

// countBelow counts the pixels of r whose mean level is under level.
func countBelow(img *image.RGBA, r image.Rectangle, level int) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			p := img.RGBAAt(x, y)
			if int(p.R)+int(p.G)+int(p.B) < 3*level {
				n++
			}
		}
	}
	return n
}
