package cli

import (
	"errors"
	"strings"
	"testing"
)

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct {
		line string
		want callCommand
		err  string // a substring of the error; "" = none
	}{
		{"video on", callCommand{Verb: "video-on"}, ""},
		{"video on cam.ivf", callCommand{Verb: "video-on", Arg: "cam.ivf"}, ""},
		{"  VIDEO   On  /tmp/x.h264 ", callCommand{Verb: "video-on", Arg: "/tmp/x.h264"}, ""},
		{"video off", callCommand{Verb: "video-off"}, ""},
		{"hold", callCommand{Verb: "hold"}, ""},
		{"unhold", callCommand{Verb: "unhold"}, ""},
		{"mute", callCommand{Verb: "mute"}, ""},
		{"mute audio", callCommand{Verb: "mute", Arg: "audio"}, ""},
		{"unmute", callCommand{Verb: "unmute"}, ""},
		{"unmute video-2", callCommand{Verb: "unmute", Arg: "video-2"}, ""},
		{"stats", callCommand{Verb: "stats"}, ""},
		{"hangup", callCommand{Verb: "hangup"}, ""},
		{"help", callCommand{Verb: "help"}, ""},
		{"", callCommand{}, "no command"},
		{"   ", callCommand{}, "no command"},
		{"# a comment", callCommand{}, "no command"},
		{"dance", callCommand{}, `unknown command "dance": the commands are video on [FILE], video off, hold, unhold, mute [CONTENT], unmute [CONTENT], stats, hangup, help`},
		{"video", callCommand{}, "say video on [FILE] or video off"},
		{"video sideways", callCommand{}, "say video on [FILE] or video off"},
		{"video on a.ivf b.ivf", callCommand{}, "too many words: want video on [FILE]"},
		{"video off now", callCommand{}, "too many words: want video off"},
		{"hold please", callCommand{}, "too many words: want hold"},
		{"mute audio video", callCommand{}, "too many words: want mute [CONTENT]"},
	} {
		got, err := parseCommand(tc.line)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.line, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: error %v, want one containing %q", tc.line, err, tc.err)
		case got != tc.want:
			t.Errorf("%q: %+v, want %+v", tc.line, got, tc.want)
		}
	}
	if _, err := parseCommand(""); !errors.Is(err, errNoCommand) {
		t.Errorf("a blank line: %v, want errNoCommand", err)
	}
}

// TestReadLinesEOF: standard input at EOF (</dev/null) closes the
// channel at once, so a call goes on as it did without commands.
func TestReadLinesEOF(t *testing.T) {
	if _, ok := <-readLines(strings.NewReader("")); ok {
		t.Fatal("a line from an empty input")
	}
	var got []string
	for l := range readLines(strings.NewReader("hold\nunhold")) {
		got = append(got, l)
	}
	if strings.Join(got, "|") != "hold|unhold" {
		t.Errorf("lines %q", got)
	}
}
