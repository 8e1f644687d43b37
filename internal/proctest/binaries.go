package proctest

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// binDir holds the binaries MainWithBinaries built.
var binDir string

// MainWithBinaries is a TestMain for packages that run the built
// binaries: it builds them (Build), runs m, removes them and returns m's
// exit code. Under -short (make test-unit) it builds nothing; Bin then
// skips the test.
//
//	func TestMain(m *testing.M) { os.Exit(proctest.MainWithBinaries(m)) }
func MainWithBinaries(m *testing.M) int { return MainWith(m, (*testing.M).Run) }

// MainWith is MainWithBinaries that runs the tests with run (for
// instance prosodytest.Run, for a Prosody the tests share) and also
// builds the main packages extra (import paths, e.g. the examples).
func MainWith(m *testing.M, run func(*testing.M) int, extra ...string) int {
	if !flag.Parsed() {
		flag.Parse()
	}
	if testing.Short() {
		return run(m)
	}
	dir, err := Build(extra...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	binDir = dir
	defer os.RemoveAll(dir)
	return run(m)
}

// Bin is the path of the built binary name ("jingle", "jingled"); it
// skips t when MainWithBinaries built nothing (-short).
func Bin(t testing.TB, name string) string {
	t.Helper()
	if binDir == "" {
		t.Skip("runs the built binaries; not under -short")
	}
	return filepath.Join(binDir, name)
}

// JingledConfig is a jingled configuration for a test: [http] on
// 127.0.0.1:httpPort (with the pprof profiles if pprof), ICE on loopback
// without XEP-0215 discovery, then tables (e.g. Account's).
func JingledConfig(httpPort int, pprof bool, tables ...string) string {
	s := fmt.Sprintf("[http]\nlisten = \"127.0.0.1:%d\"\npprof = %t\n[ice]\nloopback_only = true\ndiscover = false\n", httpPort, pprof)
	for _, t := range tables {
		s += t
	}
	return s
}

// Account is an [[account]] table for jid with role on the server at
// addr (trusting caFile), allowing everyone; extra lines follow.
func Account(jid, passwordFile, addr, caFile, role string, extra ...string) string {
	s := fmt.Sprintf("[[account]]\njid = %q\npassword_file = %q\nserver = %q\nca_file = %q\nrole = %q\nallow = [\"*\"]\n", jid, passwordFile, addr, caFile, role)
	for _, e := range extra {
		s += e + "\n"
	}
	return s
}
