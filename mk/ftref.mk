# Datachannel throughput references beside the file-transfer benchmark
# (bench/ftref, issue 5): libwebrtc's datachannel (M106 through the
# @roamhq/wrtc that tests/interop pins, hence interop-deps), pion's with
# the same 16 KiB messages and flow control, pion's as jingled configures
# it, and raw loopback TCP, measured in the same run inside a network
# namespace with only lo. `make bench-ft` gives jingled's own rates
# through Prosody; this separates "pion vs libwebrtc" from our Jingle,
# XMPP and file overhead. Prints a Markdown table.
#   FTREF_ARGS  e.g. -s 8388608 -r 5, or -o FILE to keep the table
GO         ?= go
FTREF_ARGS ?=

.PHONY: bench-ft-ref

bench-ft-ref: interop-deps
	GO=$(GO) ./scripts/in-netns.sh ./bench/ftref/run.sh $(FTREF_ARGS)

BENCH_TARGETS += bench-ft-ref
