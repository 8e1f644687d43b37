# Conference rooms (conference/, conference/mixer, bench/conference).
#   make bench-conference   the real jingled in component mode against a
#                           throwaway Prosody, filled by a separate load
#                           process (bench/conference/confload): rooms of
#                           10 with 3 talking, scaled up, then one room of
#                           100. Prints participants held under 1% loss,
#                           mixer CPU and memory per participant and the
#                           added latency (p50/p95) beside the targets.
#                           jingled runs on CPU 0, the load on CPU 1.
#                           With CONF_BENCH_FLAGS=-video: every participant
#                           also sends VP8 and receives the active speaker's
#                           forwarded video; prints forwarded streams held
#                           under 1% loss, streams per core of the focus
#                           (whole, and video's share against an audio-only
#                           run of the same rooms), forwarded packets/s and
#                           per-packet added latency, beside LiveKit's and
#                           mediasoup's figures and the 500-per-core target.
#                           With CONF_BENCH_FLAGS=-all-video: each participant
#                           also receives every other's video as a content
#                           of its own (the room's multi-stream mode): the
#                           same table, streams = participants x room size.
#   CONF_BENCH_FLAGS        e.g. -participants 100,200 -big 0 -window 20s,
#                           -video, -all-video, -o FILE to keep the table (see -h)
GO               ?= go
CONF_BENCH_FLAGS ?=

.PHONY: bench-conference
BENCH_TARGETS += bench-conference

bench-conference:
	./scripts/in-netns.sh $(GO) run ./bench/conference $(CONF_BENCH_FLAGS)
