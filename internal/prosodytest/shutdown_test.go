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
