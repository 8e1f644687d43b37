# The soak (tests/soak, issue 17): jingled with its echo, record and
# filedrop accounts and its TURN relay, behind a throwaway Prosody, under
# a steady cycle of calls (the CLI and StanzaJS to echo and record, one
# CLI call relay-only) and file transfers (the CLI to the filedrop over
# datachannel, SOCKS5 and IBB) for SOAK_DURATION. After each cycle it
# checks jingled's goroutines and descriptors against their baseline, its
# relay allocations and sessions, its RSS against its value at 5 minutes,
# and prints a row. `make test` runs the same test for 2 minutes (the
# flag's default); a 60-minute run is recorded in docs/BENCHMARKS.md.
#   SOAK_DURATION  e.g. 60m
#   SOAK_FLAGS     e.g. -soak.settle 1m
SOAK_DURATION ?= 2m
SOAK_FLAGS    ?=
SOAK_TIMEOUT  ?= 3h

.PHONY: soak

soak: interop-deps
	./scripts/in-netns.sh $(GO) test -count=1 -v -timeout $(SOAK_TIMEOUT) -run '^TestSoak$$' ./tests/soak \
	  -soak.duration $(SOAK_DURATION) $(SOAK_FLAGS)
