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
