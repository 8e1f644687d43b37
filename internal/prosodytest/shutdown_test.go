package prosodytest

import "testing"

// TestProsodyShutdownBug: Prosody 0.12's shutdown dying on a half-destroyed
// client session (its log, as a fresh-clone CI run caught it) is told
// apart from a Prosody that hangs for any other reason.
func TestProsodyShutdownBug(t *testing.T) {
	bug := `Dec 07 02:10:10 c2s5567ccec5d00	info	Client disconnected: unexpected eof while reading
Dec 07 02:10:10 mod_posix	warn	Received SIGTERM
Dec 07 02:10:10 runner4Vw_xUuxexG3	error	Encountered error: /usr/lib/prosody/modules/mod_c2s.lua:469: attempt to call a nil value (method 'close')
Dec 07 02:10:10 connErtCmkDOtJIp	error	Error calling ondisconnect: /usr/lib/prosody/util/async.lua:154: /usr/lib/prosody/modules/mod_c2s.lua:469: attempt to call a nil value (method 'close')
`
	for _, c := range []struct {
		name, log string
		want      bool
	}{
		{"the shutdown bug", bug, true},
		{"a hang without it", "Dec 07 02:10:10 mod_posix\twarn\tReceived SIGTERM\n", false},
		{"the error without a SIGTERM", "mod_c2s.lua:469: attempt to call a nil value (method 'close')\n", false},
		{"empty", "", false},
	} {
		if got := prosodyShutdownBug(c.log); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// TestShutdownCompleted: a Prosody whose process lags after logging the
// end of its shutdown is told apart from one that never got there, and
// an earlier Prosody's shutdown in the same log (Stop, then Resume)
// does not count for the one running now.
func TestShutdownCompleted(t *testing.T) {
	const (
		hello    = "Dec 07 13:35:52 startup\tinfo\tHello and welcome to Prosody version 0.12.3\n"
		sigterm  = "Dec 07 13:35:52 mod_posix\twarn\tReceived SIGTERM\n"
		cleaning = "Dec 07 13:35:52 general\tinfo\tShutdown status: Cleaning up\n"
		complete = "Dec 07 13:35:52 general\tinfo\tShutdown complete\n"
	)
	for _, c := range []struct {
		name, log string
		want      bool
	}{
		{"complete", hello + sigterm + cleaning + complete, true},
		{"stuck before the end", hello + sigterm + cleaning, false},
		{"an earlier Prosody's end only", hello + sigterm + complete + hello + sigterm + cleaning, false},
		{"the second Prosody's end", hello + sigterm + complete + hello + sigterm + cleaning + complete, true},
		{"empty", "", false},
	} {
		if got := shutdownCompleted(c.log); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
