# Call benchmarks (bench/calls): set-up time p50/p95 over 20 calls and CPU
# and memory per echo call at 1, 10 and 100 concurrent calls, through a
# throwaway Prosody on loopback, inside a network namespace with only lo.
# Results are recorded in docs/BENCHMARKS.md.
CALLS_BENCH_FLAGS ?= -setup 20 -concurrency 1,10,100 -window 5s

.PHONY: bench-calls
BENCH_TARGETS += bench-calls

bench-calls:
	./scripts/in-netns.sh $(GO) run ./bench/calls $(CALLS_BENCH_FLAGS)
