# File transfer (filetransfer/, XEP-0234 over datachannel, SOCKS5, IBB).
#   make bench-ft   Go -> Go throughput through Prosody on loopback per
#                   transport, beside raw loopback TCP, in one run (MB/s).
#   make ft-50m     the acceptance run: a 50 MiB random file over each
#                   transport forced in turn (IBB included), relay-only
#                   datachannel through our TURN server, and the fallback,
#                   each with a verified sha-256. Not part of `make test`
#                   (IBB at 50 MiB takes ~25 s without -race, minutes with).
GO            ?= go
FT_BENCHTIME  ?= 3x
FT_BENCH_ARGS ?=

.PHONY: bench-ft ft-50m

bench-ft:
	./scripts/in-netns.sh $(GO) test -run '^$$' -bench '^BenchmarkThroughput$$' -benchtime $(FT_BENCHTIME) \
	  ./filetransfer/integration $(FT_BENCH_ARGS)

ft-50m:
	./scripts/in-netns.sh $(GO) test -count=1 -v -timeout 20m ./filetransfer/integration \
	  -ft.size=52428800 -ft.ibbsize=52428800

BENCH_TARGETS += bench-ft

# One big file with the CLI, `jingle send` to `jingle receive`, each its own
# process, through Prosody: time, rate, both processes' peak RSS (issue 14:
# 1 GiB over the datachannel with the receiver under 100 MiB throughout).
#   FTBIG_FLAGS  e.g. -size 256MiB -transport s5b (see go run ./bench/ftbig -h)
FTBIG_FLAGS ?= -size 1GiB -transport datachannel

.PHONY: bench-ft-big
BENCH_TARGETS += bench-ft-big

bench-ft-big:
	./scripts/in-netns.sh $(GO) run ./bench/ftbig $(FTBIG_FLAGS)

# The datachannel at 0, 20, 50 and 100 ms RTT through a delaying UDP hop
# (this kernel has no netem), beside TCP through a delaying relay: 128 MiB
# per fresh connection, losses counted (issue 14: at 50 ms at least 4x
# pion/sctp#218's 85 Mbit/s). FT_RTT_SIZE for another size.
FT_RTT_SIZE ?= 134217728

.PHONY: bench-ft-rtt
BENCH_TARGETS += bench-ft-rtt

bench-ft-rtt:
	./scripts/in-netns.sh $(GO) test -run '^$$' -bench '^BenchmarkRTT$$' -benchtime 1x \
	  ./filetransfer/datachannel -dc.rttsize=$(FT_RTT_SIZE)
