package daemon

import (
	"runtime/debug"
	"strings"
)

// version is set at link time by a packager
// (-ldflags "-X github.com/jingled/jingled/internal/daemon.version=1.2.3");
// empty means: ask the build info.
var version = ""

// Version names this build for the status page and --version: the linked
// version, else the module version with the VCS revision Go stamped into
// the binary, so an operator can tell which commit is running.
func Version() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	return describeBuild(info)
}

// describeBuild is Version's pure part: "v1.2.3", "(devel) 0123abcd4567",
// "(devel) 0123abcd4567+dirty".
func describeBuild(info *debug.BuildInfo) string {
	v := info.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev string
	var dirty bool
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" || strings.Contains(v, rev[:min(12, len(rev))]) {
		return v
	}
	v += " " + rev[:min(12, len(rev))]
	if dirty {
		v += "+dirty"
	}
	return v
}
