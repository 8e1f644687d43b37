# Call benchmarks (bench/calls): the real jingled with one echo account, in
# its own process on CPU 0, called through a throwaway Prosody by a load
# process on CPU 1 from many accounts. Prints set-up time p50/p95 (against
# Prosody as shipped and with Nagle off) and, at each concurrency level,
# jingled's CPU, RSS and goroutines per call and the echo loss, beside
# issue 14's targets. Results are recorded in docs/BENCHMARKS.md.
#   CALLS_BENCH_FLAGS   e.g. -concurrency 100,200 -window 5s -mux=false,
#                       -cpuprofile DIR, -steps, -o FILE (see -h)
CALLS_BENCH_FLAGS ?= -setup 20 -concurrency 100,500,1000 -window 10s

.PHONY: bench-calls
BENCH_TARGETS += bench-calls

bench-calls:
	./scripts/in-netns.sh $(GO) run ./bench/calls $(CALLS_BENCH_FLAGS)
