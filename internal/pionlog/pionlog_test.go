package pionlog

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestLevels(t *testing.T) {
	for _, tc := range []struct {
		name       string
		handler    slog.Level
		errorLevel slog.Level
		log        func(f Factory)
		want       string // substring of the output, "" for none
	}{
		{"info becomes debug", slog.LevelDebug, 0, func(f Factory) { f.NewLogger("ice").Infof("pair %d", 7) }, "level=DEBUG msg=\"pair 7\" pion=ice"},
		{"info hidden at info", slog.LevelInfo, 0, func(f Factory) { f.NewLogger("ice").Info("pair") }, ""},
		{"error stays error", slog.LevelInfo, 0, func(f Factory) { f.NewLogger("dtls").Error("bad") }, "level=ERROR msg=bad"},
		{"error lowered for a relay", slog.LevelInfo, slog.LevelWarn, func(f Factory) { f.NewLogger("turn").Errorf("from %s", "x") }, "level=WARN msg=\"from x\" pion=turn"},
		{"trace below debug", slog.LevelDebug, 0, func(f Factory) { f.NewLogger("srtp").Trace("pkt") }, ""},
		{"warn", slog.LevelInfo, 0, func(f Factory) { f.NewLogger("sctp").Warnf("w%d", 1) }, "level=WARN msg=w1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			f := Factory{Log: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: tc.handler})), ErrorLevel: tc.errorLevel}
			tc.log(f)
			got := buf.String()
			if tc.want == "" && got != "" {
				t.Fatalf("logged %q, want nothing", got)
			}
			if !strings.Contains(got, tc.want) {
				t.Fatalf("logged %q, want %q", got, tc.want)
			}
		})
	}
}

// A disabled level must not format: pion formats structs on hot paths,
// and formatting is where it reads them.
func TestDisabledLevelDoesNotFormat(t *testing.T) {
	called := false
	f := Factory{
		Log:  slog.New(slog.NewTextHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Args: func(a []any) []any { called = true; return a },
	}
	f.NewLogger("webrtc").Debugf("got new track: %+v", struct{}{})
	if called {
		t.Fatal("arguments prepared for a disabled level")
	}
}

func TestArgsRewrite(t *testing.T) {
	var buf bytes.Buffer
	f := Factory{
		Log:  slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Args: func(a []any) []any { return []any{"safe"} },
	}
	f.NewLogger("webrtc").Debugf("got new track: %+v", "racy")
	if !strings.Contains(buf.String(), "got new track: safe") {
		t.Fatalf("logged %q", buf.String())
	}
}

func TestNilLogDiscards(t *testing.T) {
	Factory{}.NewLogger("x").Error("nothing to see")
}
