# The bundled TURN/STUN relay (turnserver/, bench/turn/).
#   make bench-turn   coturn vs jingled vs bare pion/turn vs a bare forwarder
#                     under the same turnutils_uclient loads, on loopback;
#                     prints a Markdown table and writes $(TURN_BENCH_OUT);
#                     then the top relay rate of each (bench/turn/toprate.sh:
#                     server on half of CPU 0, load generator on CPU 1),
#                     written to $(TURN_TOP_OUT); then the closed-loop flood
#                     (bench/turn/closedloop.sh: clients each keeping a window
#                     of messages in flight, coturn and jingled alternating,
#                     unpinned), written to $(TURN_CLOSED_OUT).
#   make fuzz-turn    fuzzes a running relay for $(TURN_FUZZTIME) (>= 2m), then
#                     the peer-policy unwrapping; fails on a crash, a stalled
#                     server, unbounded allocations or heap growth.
GO              ?= go
TURN_FUZZTIME   ?= 2m
TURN_BENCH_OUT  ?= bench/turn/RESULTS.md
TURN_TOP_OUT    ?= bench/turn/TOPRATE.md
TURN_CLOSED_OUT ?= bench/turn/CLOSEDLOOP.md
# -q for a quick smoke run of the benchmark script.
TURN_BENCH_ARGS ?=

.PHONY: bench-turn fuzz-turn

bench-turn:
	./bench/turn/run.sh -o $(TURN_BENCH_OUT) $(TURN_BENCH_ARGS)
	./bench/turn/toprate.sh -o $(TURN_TOP_OUT)
	./bench/turn/closedloop.sh -o $(TURN_CLOSED_OUT)

fuzz-turn:
	$(GO) test -run '^$$' -fuzz '^FuzzServer$$' -fuzztime $(TURN_FUZZTIME) -fuzzminimizetime 5s \
	  $(if $(FUZZ_PARALLEL),-parallel $(FUZZ_PARALLEL)) ./turnserver
	$(GO) test -run '^$$' -fuzz '^FuzzPeerPolicyUnwrap$$' -fuzztime 30s \
	  $(if $(FUZZ_PARALLEL),-parallel $(FUZZ_PARALLEL)) ./turnserver

BENCH_TARGETS += bench-turn
FUZZ_PKGS += ./turnserver
