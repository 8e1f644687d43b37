package daemon

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jingled/jingled/internal/config"
)

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return fmt.Sprint(*s) }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

const usage = `Usage: jingled --config FILE [--set key=value ...] [--check | --xmpp-config prosody|ejabberd] | --version

jingled runs a TURN/STUN relay and Jingle services on XMPP accounts (echo
test calls, recording, playing, file drop), from one TOML file: see
docs/jingled.example.toml. Environment variables JINGLED_<TABLE>__<KEY>
and --set override the file. SIGHUP reloads the TLS certificate, the log
level and the allow-lists; SIGTERM ends every call with session-terminate
and drains the relay.

Flags:
`

// Main runs jingled and returns its exit code: 0 after a clean shutdown,
// 1 when it could not start, 2 for a bad command line or config.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("jingled", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		path  = fs.String("config", os.Getenv("JINGLED_CONFIG"), "configuration file (TOML); also $JINGLED_CONFIG")
		check = fs.Bool("check", false, "validate the configuration and exit")
		vers  = fs.Bool("version", false, "print the version and exit")
		xmppc = fs.String("xmpp-config", "", "print the prosody or ejabberd configuration that announces the relay (turn.advertise) and exit")
		grace = fs.Duration("shutdown-timeout", 30*time.Second, "how long SIGTERM waits for sessions and relay allocations to end")
		sets  stringList
	)
	fs.Var(&sets, "set", "override a key, e.g. --set turn.port=3479 (repeatable)")
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *vers {
		fmt.Fprintln(stdout, "jingled", Version())
		return 0
	}
	if *path == "" {
		fmt.Fprintln(stderr, "jingled: no configuration: pass --config FILE (see docs/jingled.example.toml)")
		return 2
	}
	cfg, err := config.Load(*path, os.Environ(), sets)
	if err != nil {
		fmt.Fprintf(stderr, "jingled: %v\n", err)
		return 2
	}
	if *xmppc != "" {
		if err := printXMPPConfig(stdout, cfg, *xmppc); err != nil {
			fmt.Fprintf(stderr, "jingled: %v\n", err)
			return 2
		}
		return 0
	}
	if *check {
		fmt.Fprintf(stdout, "jingled: %s is valid: turn %v, %d account(s)\n", *path, cfg.TURN.Enabled, len(cfg.Accounts))
		return 0
	}
	var level slog.LevelVar
	log := NewLogger(stderr, cfg.Log.Level, cfg.Log.Format, &level)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	d := New(cfg, log)
	if err := d.Start(ctx); err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	log.Info("jingled started", "accounts", len(cfg.Accounts), "turn", cfg.TURN.Enabled)

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-hup:
			nc, err := config.Load(*path, os.Environ(), sets)
			if err != nil {
				log.Error("reload: keeping the running configuration", "err", err)
				d.Reload(nil, &level)
				continue
			}
			d.Reload(nc, &level)
		case <-ctx.Done():
			log.Info("shutting down: ending sessions, draining the relay")
			sctx, cancel := context.WithTimeout(context.Background(), *grace)
			err := d.Stop(sctx)
			cancel()
			if err != nil {
				log.Error("shutdown", "err", err)
				return 1
			}
			log.Info("stopped")
			return 0
		}
	}
}
