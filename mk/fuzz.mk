# Native Go fuzzing (docs/FUZZING.md). `make fuzz` runs every Fuzz* target
# of each package in FUZZ_PKGS for FUZZTIME, one after the other (go test
# fuzzes one target per run). Crashers land in the package's
# testdata/fuzz/<Target>/ and then run as regression cases in `make test`.
FUZZTIME        ?= 2m
FUZZ_PKGS       ?= ./jingle ./ice ./rtp ./filetransfer ./xmpp
# Workers per target; empty means GOMAXPROCS. Use 1 on a shared machine.
FUZZ_PARALLEL   ?=
# Shrinking a new interesting input may take this long per input.
FUZZ_MINIMIZE   ?= 10s

.PHONY: fuzz

fuzz:
	@set -e; for pkg in $(FUZZ_PKGS); do \
	  targets=$$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); \
	  if [ -z "$$targets" ]; then echo "fuzz: no Fuzz targets in $$pkg"; exit 1; fi; \
	  for t in $$targets; do \
	    echo "== fuzz $$pkg $$t for $(FUZZTIME)"; \
	    $(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) \
	      -fuzzminimizetime $(FUZZ_MINIMIZE) $(if $(FUZZ_PARALLEL),-parallel $(FUZZ_PARALLEL)) $$pkg; \
	  done; \
	done
