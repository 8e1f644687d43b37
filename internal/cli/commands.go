package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/rtp"
)

// Commands typed on the standard input of `jingle call` and `jingle
// answer` during a call, one per line.
const commandsHelp = `video on [FILE]  add a video content: send FILE (.ivf, .h264), or only receive the peer's
video off        remove the video content added last (else the call's video)
hold, unhold     XEP-0167 hold: media stops both ways until unhold
mute [CONTENT]   stop sending (all contents, or CONTENT); the peer is told
unmute [CONTENT] send again
stats            print the call's statistics so far
hangup           end the call
help             this list`

// commandNames are the valid commands, for the error about an unknown one.
const commandNames = "video on [FILE], video off, hold, unhold, mute [CONTENT], unmute [CONTENT], stats, hangup, help"

// callCommand is one parsed command line.
type callCommand struct {
	// Verb is video-on, video-off, hold, unhold, mute, unmute, stats,
	// hangup or help.
	Verb string
	// Arg is video on's FILE or mute/unmute's CONTENT ("" = none).
	Arg string
}

// errNoCommand is a blank or comment (#) line: nothing to do.
var errNoCommand = errors.New("no command")

// parseCommand parses one line of standard input. Words are separated by
// blanks; a FILE with blanks cannot be given (rename it).
func parseCommand(line string) (callCommand, error) {
	f := strings.Fields(line)
	if len(f) == 0 || strings.HasPrefix(f[0], "#") {
		return callCommand{}, errNoCommand
	}
	verb := strings.ToLower(f[0])
	args := f[1:]
	tooMany := func(max int, usage string) error {
		if len(args) > max {
			return fmt.Errorf("%q: too many words: want %s", line, usage)
		}
		return nil
	}
	switch verb {
	case "video":
		if len(args) == 0 {
			return callCommand{}, fmt.Errorf("%q: say video on [FILE] or video off", line)
		}
		switch strings.ToLower(args[0]) {
		case "on":
			if err := tooMany(2, "video on [FILE]"); err != nil {
				return callCommand{}, err
			}
			c := callCommand{Verb: "video-on"}
			if len(args) == 2 {
				c.Arg = args[1]
			}
			return c, nil
		case "off":
			if err := tooMany(1, "video off"); err != nil {
				return callCommand{}, err
			}
			return callCommand{Verb: "video-off"}, nil
		}
		return callCommand{}, fmt.Errorf("%q: say video on [FILE] or video off", line)
	case "mute", "unmute":
		if err := tooMany(1, verb+" [CONTENT]"); err != nil {
			return callCommand{}, err
		}
		c := callCommand{Verb: verb}
		if len(args) == 1 {
			c.Arg = args[0]
		}
		return c, nil
	case "hold", "unhold", "stats", "hangup", "help":
		if err := tooMany(0, verb); err != nil {
			return callCommand{}, err
		}
		return callCommand{Verb: verb}, nil
	}
	return callCommand{}, fmt.Errorf("unknown command %q: the commands are %s", f[0], commandNames)
}

// backgroundRetry is how long readLines waits before reading again when
// it runs in the background of a shell.
var backgroundRetry = time.Second

// readLines sends the lines of r until it ends (EOF, or standard input
// closed: </dev/null ends it at once, which changes nothing else). The
// goroutine blocks in Read until then; a CLI exits without waiting for
// it. In the background of an interactive shell it waits until brought
// to the foreground (stdin_unix.go).
func readLines(r io.Reader) <-chan string {
	ignoreBackgroundRead()
	ch := make(chan string)
	go func() {
		defer close(ch)
		for {
			sc := bufio.NewScanner(r)
			for sc.Scan() {
				ch <- sc.Text()
			}
			if !isBackgroundRead(sc.Err()) {
				return
			}
			time.Sleep(backgroundRetry)
		}
	}()
	return ch
}

// callControl runs the commands typed during one call, one at a time,
// and prints each outcome as a "command" event (or "stats").
type callControl struct {
	g    *globals
	call *rtp.Call
	// added are the video contents `video on` added and not removed yet,
	// newest last; gone are contents removed by `video off`.
	added []string
	gone  map[string]bool
}

// run takes lines from lines until the call ends or lines closes.
func (cc *callControl) run(lines <-chan string) {
	for {
		select {
		case <-cc.call.Done():
			return
		case line, ok := <-lines:
			if !ok {
				return
			}
			cc.do(line)
		}
	}
}

// do runs one line and prints its outcome.
func (cc *callControl) do(line string) {
	c, err := parseCommand(line)
	if errors.Is(err, errNoCommand) {
		return
	}
	if err != nil {
		cc.g.commandResult(strings.TrimSpace(line), "", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var human string
	switch c.Verb {
	case "help":
		cc.g.out.Event("command", commandsHelp, map[string]any{"command": "help", "ok": true, "text": commandsHelp})
		return
	case "stats":
		st := cc.call.Stats()
		cc.g.out.Event("stats", fmt.Sprintf("sent %d packets, received %d packets (%d lost)", st.PacketsSent, st.PacketsReceived, st.PacketsLost),
			map[string]any{"stats": st})
		return
	case "hangup":
		err = cc.call.Hangup(ctx)
		human = "hung up"
	case "hold":
		err = cc.call.Info(ctx, rtp.EventHold, "")
		human = "call on hold: media stopped both ways"
	case "unhold":
		err = cc.call.Info(ctx, rtp.EventUnhold, "")
		human = "call resumed"
	case "mute":
		err = cc.call.Info(ctx, rtp.EventMute, c.Arg)
		human = "muted " + orAll(c.Arg)
	case "unmute":
		err = cc.call.Info(ctx, rtp.EventUnmute, c.Arg)
		human = "unmuted " + orAll(c.Arg)
	case "video-on":
		var name string
		name, err = cc.videoOn(ctx, c.Arg)
		human = "video added as content " + name
		c.Arg = name
	case "video-off":
		var name string
		name, err = cc.videoOff(ctx)
		human = "video content " + name + " removed"
		c.Arg = name
	}
	cc.g.commandResult(c.Verb, c.Arg, err, human)
}

func orAll(content string) string {
	if content == "" {
		return "everything"
	}
	return content
}

// videoOn adds a video content sending file (nothing: receive only, or
// echo the peer's when answering with --echo). Its name is "video", or
// "video-N" when the call has (or had) a content of that name.
func (cc *callControl) videoOn(ctx context.Context, file string) (string, error) {
	used := map[string]bool{}
	for _, s := range cc.call.Stats().Streams {
		used[s.Content] = true
	}
	for n := range cc.gone {
		used[n] = true
	}
	for _, n := range cc.added {
		used[n] = true
	}
	name := "video"
	for i := 2; used[name]; i++ {
		name = fmt.Sprintf("video-%d", i)
	}
	var src rtp.Source
	if file != "" {
		s, err := rtp.OpenFile(file, name, 0)
		if err != nil {
			return name, err
		}
		if s.Kind() != webrtc.RTPCodecTypeVideo {
			_ = s.Close()
			return name, fmt.Errorf("%s is not a video file (want .ivf or .h264)", file)
		}
		src = s
	}
	if err := cc.call.AddContent(ctx, name, webrtc.RTPCodecTypeVideo, src); err != nil {
		// The call owns src once AddContent took it; before that (the
		// call not ready for content-add) nothing else closes it.
		if src != nil && errors.Is(err, rtp.ErrCallState) {
			_ = src.Close()
		}
		return name, err
	}
	cc.added = append(cc.added, name)
	return name, nil
}

// videoOff removes the newest content `video on` added, else the call's
// own video content (the caller's --video or --receive-video, or the
// video of the offer answered).
func (cc *callControl) videoOff(ctx context.Context) (string, error) {
	name := ""
	if n := len(cc.added); n > 0 {
		name = cc.added[n-1]
		cc.added = cc.added[:n-1]
	} else {
		for _, s := range cc.call.Stats().Streams {
			if s.Kind == webrtc.RTPCodecTypeVideo.String() && !cc.gone[s.Content] {
				name = s.Content
				break
			}
		}
	}
	if name == "" {
		return "", errors.New("the call has no video to remove")
	}
	if cc.gone == nil {
		cc.gone = map[string]bool{}
	}
	cc.gone[name] = true
	return name, cc.call.RemoveContent(ctx, name)
}

// commandResult prints the outcome of a command: a "command" event with
// ok and, on failure, the error. The call goes on either way.
func (g *globals) commandResult(verb, arg string, err error, human ...string) {
	fields := map[string]any{"command": verb, "ok": err == nil}
	if arg != "" {
		fields["arg"] = arg
	}
	if err != nil {
		fields["error"] = err.Error()
		g.out.Event("command", "Command failed: "+err.Error(), fields)
		return
	}
	h := verb
	if len(human) > 0 && human[0] != "" {
		h = human[0]
	}
	g.out.Event("command", "> "+h, fields)
}

// noCallCommand answers a line typed while no call runs (jingle answer
// between calls): help works, anything else says there is no call.
func (g *globals) noCallCommand(line string) {
	c, err := parseCommand(line)
	switch {
	case errors.Is(err, errNoCommand):
	case err != nil:
		g.commandResult(strings.TrimSpace(line), "", err)
	case c.Verb == "help":
		g.out.Event("command", commandsHelp, map[string]any{"command": "help", "ok": true, "text": commandsHelp})
	default:
		g.commandResult(c.Verb, c.Arg, errors.New("no call in progress"))
	}
}
