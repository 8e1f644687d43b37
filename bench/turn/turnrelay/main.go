// Command turnrelay runs jingled's turnserver alone from a TOML file holding
// a turnserver.Config, or bare pion/turn with -bare, for the side-by-side
// benchmark in bench/turn/run.sh. jingled itself is the production entry
// point; this exists so the benchmark measures the relay and nothing else.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strconv"
	"syscall"

	"github.com/BurntSushi/toml"
	"github.com/pion/transport/v4/reuseport"
	"github.com/pion/turn/v5"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/jingled/jingled/turnserver"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "turnrelay:", err)
		os.Exit(1)
	}
}

func run() error {
	cfgPath := flag.String("config", "", "TOML file with a turnserver.Config")
	bare := flag.Bool("bare", false, "run bare pion/turn (static users only, no policy) for comparison")
	metrics := flag.String("metrics", "", "serve /metrics on this address")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile here until SIGTERM")
	verbose := flag.Bool("v", false, "debug logs")
	flag.Parse()

	var cfg turnserver.Config
	if _, err := toml.DecodeFile(*cfgPath, &cfg); err != nil {
		return fmt.Errorf("reading %s: %w", *cfgPath, err)
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *bare {
		return runBare(ctx, cfg)
	}
	s, err := turnserver.New(cfg, turnserver.WithLogger(log))
	if err != nil {
		return err
	}
	if *metrics != "" {
		srv := &http.Server{Addr: *metrics, Handler: promhttp.HandlerFor(s.Gatherer(), promhttp.HandlerOpts{})}
		go func() { _ = srv.ListenAndServe() }()
		defer srv.Close()
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	for {
		select {
		case <-hup:
			if err := s.ReloadCertificate(); err != nil {
				log.Warn("reload", "err", err)
			}
		case <-ctx.Done():
			return s.Close()
		}
	}
}

// runBare is pion/turn as its README shows it, with the same listeners:
// the baseline our checks may cost at most 10% over.
func runBare(ctx context.Context, cfg turnserver.Config) error {
	sockets := cfg.UDPSockets
	if sockets == 0 {
		sockets = runtime.NumCPU()
	}
	realm := cfg.Realm
	if realm == "" {
		realm = "jingled"
	}
	keys := map[string][]byte{}
	for u, p := range cfg.Users {
		keys[u] = turn.GenerateAuthKey(u, realm, p)
	}
	lc := net.ListenConfig{Control: reuseport.Control}
	addr := net.JoinHostPort(cfg.Address, strconv.Itoa(cfg.Port))
	sc := turn.ServerConfig{
		Realm: realm,
		AuthHandler: func(ra *turn.RequestAttributes) (string, []byte, bool) {
			k, ok := keys[ra.Username]

			return ra.Username, k, ok
		},
	}
	for range sockets {
		pc, err := lc.ListenPacket(ctx, "udp4", addr)
		if err != nil {
			return err
		}
		sc.PacketConnConfigs = append(sc.PacketConnConfigs, turn.PacketConnConfig{
			PacketConn: pc,
			RelayAddressGenerator: &turn.RelayAddressGeneratorPortRange{
				RelayAddress: net.ParseIP(cfg.Address), Address: cfg.Address,
				MinPort: uint16(cfg.RelayPortMin), MaxPort: uint16(cfg.RelayPortMax), //nolint:gosec // From config.
			},
		})
	}
	s, err := turn.NewServer(sc)
	if err != nil {
		return err
	}
	<-ctx.Done()

	return s.Close()
}
