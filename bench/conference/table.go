package main

import (
	"fmt"
	"strings"
)

// The targets, on the reference machine (2 cores).
const (
	targetPerMixerCore = 300 // participants per core of the mixer
	targetP95MS        = 60  // added latency p95
	targetRSSMiB       = 2.0 // memory per participant
	mib                = 1 << 20
	lossLimit          = 0.01 // "held": under 1% loss both ways
)

func (r row) joined() float64 { return float64(max(r.res.Joined, 1)) }

// mixerCPU is the mixer's CPU in cores: jingled's metric, the mixer
// threads' own CPU time spent mixing (decoding, mixing, encoding; sending
// the mixes is counted apart, sendCores), capped by the whole process's
// CPU time as a sanity bound.
func (r row) mixerCPU() float64 {
	if r.focusCores > 0 && r.mixerCores > r.focusCores {
		return r.focusCores
	}
	return r.mixerCores
}

func (r row) perMixerCore() float64 {
	if r.mixerCPU() <= 0 {
		return 0
	}
	return float64(r.res.Joined) / r.mixerCPU()
}

// loadBehind says the load generator could not keep its schedule (more
// than 5% of its 20 ms ticks started over 5 ms late): the run measures
// the shared machine as much as the focus.
func (r row) loadBehind() bool { return r.res.Ticks > 0 && r.res.LateTicks*20 > r.res.Ticks }

func (r row) perFocusCore() float64 {
	if r.focusCores <= 0 {
		return 0
	}
	return float64(r.res.Joined) / r.focusCores
}

func (r row) rssPer() float64 { return (r.rssLoaded - r.rssIdle) / r.joined() / mib }

// line is the one-line summary printed as each run ends.
func (r row) line() string {
	return fmt.Sprintf("joined %d/%d, loss up %.2f%% down %.2f%%, focus %.2f cores (%.0f participants/core), mixer %.3f cores (metric %.3f; %.0f participants/core; sending %.3f cores; %.0f decodes/s, %.0f encodes/s; %.0f%% of frames at the overload complexity), RSS %.0f -> %.0f MiB (%.2f MiB/participant; allocating %.1f MB/s, %.1f GCs/s), latency p50 %.1f p95 %.1f p99 %.1f max %.1f ms (%d bursts, %d unmatched), load %.2f cores (%d/%d late ticks), Prosody %.2f cores, ended %d",
		r.res.Joined, r.asked, 100*r.upLoss, 100*r.downLoss, r.focusCores, r.perFocusCore(), r.mixerCPU(), r.mixerCores, r.perMixerCore(), r.sendCores, r.decodes, r.encodes, 100*r.overloadShare,
		r.rssIdle/mib, r.rssLoaded/mib, r.rssPer(), r.allocMBps, r.gcPerSec, r.p50, r.p95, r.p99, r.pmax, len(r.res.LatencyMS), r.res.Unmatched,
		r.res.CPUSeconds/max(r.res.WindowSeconds, 1e-9), r.res.LateTicks, r.res.Ticks, r.prosodyCores, r.res.Ended) + r.probeLine()
}

// probeLine says what the probes' own process (-probe-process) spent
// and how often it started a tick late, within the load's totals.
func (r row) probeLine() string {
	p := r.probeRes
	if p == nil {
		return ""
	}
	return fmt.Sprintf("; of the load, the probes' process (%d rooms): %.2f cores, %d/%d late ticks",
		p.Rooms, p.CPUSeconds/max(p.WindowSeconds, 1e-9), p.LateTicks, p.Ticks)
}

// allTargets reports whether a held run also met the latency and memory
// targets: the capacity to quote, not the loss alone.
func (r row) allTargets() bool {
	return len(r.res.LatencyMS) > 0 && r.p95 <= targetP95MS && r.rssPer() <= targetRSSMiB && r.perMixerCore() >= targetPerMixerCore
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}

// render is the Markdown table of all runs, targets and references.
func render(rows []row, cfg config) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("")
	p("| run | participants joined | loss up / down | focus CPU, cores (participants per core) | mixer CPU per participant | participants per mixer core (target >= %d) | RSS per participant (target <= %.0f MiB) | added latency p50 / p95 (target p95 <= %d ms) | load CPU, cores | held under 1%% loss |",
		targetPerMixerCore, targetRSSMiB, targetP95MS)
	p("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	best, bestAll := 0, 0
	for _, r := range rows {
		held := "yes"
		if !r.held() {
			held = "**no**"
		} else if r.scaling {
			best = max(best, r.res.Joined)
			if r.allTargets() {
				bestAll = max(bestAll, r.res.Joined)
			}
		}
		if r.loadBehind() {
			held += fmt.Sprintf(" (load generator behind: %d of %d ticks late)", r.res.LateTicks, r.res.Ticks)
		}
		mix := fmt.Sprintf("%.2f ms/s (%.3f%% of a core); sending the mixes %.2f ms/s", 1000*r.mixerCPU()/r.joined(), 100*r.mixerCPU()/r.joined(), 1000*r.sendCores/r.joined())
		if r.mixerCores > r.focusCores {
			mix += fmt.Sprintf("; metric %.2f cores > process, capped", r.mixerCores)
		}
		lat := "n/a"
		if len(r.res.LatencyMS) > 0 {
			lat = fmt.Sprintf("%.1f / %.1f ms (%d bursts): %s", r.p50, r.p95, len(r.res.LatencyMS), verdict(r.p95 <= targetP95MS))
		}
		p("| %s (%d rooms of %d, %d talking) | %d / %d | %.2f%% / %.2f%% | %.2f (%.0f) | %s | %.0f: %s | %.2f MiB: %s | %s | %.2f | %s |",
			r.name, r.rooms, r.asked/max(r.rooms, 1), min(cfg.talkers, r.asked/max(r.rooms, 1)), r.res.Joined, r.asked,
			100*r.upLoss, 100*r.downLoss, r.focusCores, r.perFocusCore(),
			mix,
			r.perMixerCore(), verdict(r.perMixerCore() >= targetPerMixerCore),
			r.rssPer(), verdict(r.rssPer() <= targetRSSMiB),
			lat, r.res.CPUSeconds/max(r.res.WindowSeconds, 1e-9), held)
	}
	p("")
	p("Participants held under 1%% loss in rooms of %d (%d talking): %d; with the latency and memory targets met too: %d.", cfg.roomSize, cfg.talkers, best, bestAll)
	p("References: mediasoup forwards about 500 audio consumers per core without mixing; a pion SFU (LiveKit) about 100 video down-tracks per core.")
	return b.String()
}

// The video target and references (forwarded video streams per core).
const (
	targetStreamsPerCore = 500
	refLiveKit           = 100 // LiveKit (pion): video down-tracks per core
	refMediasoup         = 500 // mediasoup: consumers per core
)

// videoLoss is the forwarded video's loss down: the stricter of the gaps
// in the receivers' (continuous, rewritten) sequence numbers and the
// share of the packets their senders sent in the window that never
// arrived (or over a second late).
func (r row) videoLoss() float64 {
	v := r.res.Video
	if v == nil || v.Received == 0 {
		return 1
	}
	seq := 1 - float64(v.Received)/float64(max(v.ExpectedSeq, 1))
	sent := 1 - float64(v.ReceivedSent)/float64(max(v.ExpectedSent, 1))
	return max(0, seq, sent)
}

func (r row) streams() float64 {
	if r.res.Video == nil {
		return 0
	}
	return float64(r.res.Video.Streams)
}

// streamsPerCore is the forwarded streams over the whole focus process's
// CPU (audio mixing included).
func (r row) streamsPerCore() float64 {
	if r.focusCores <= 0 {
		return 0
	}
	return r.streams() / r.focusCores
}

// videoCores is what the video added to the focus's CPU over the
// audio-only run of the same rooms (0 without a baseline).
func (r row) videoCores() float64 {
	if r.base == nil {
		return 0
	}
	return r.focusCores - r.base.focusCores
}

func (r row) streamsPerVideoCore() float64 {
	if r.videoCores() <= 0 {
		return 0
	}
	return r.streams() / r.videoCores()
}

func (r row) videoPPS() float64 {
	if r.res.Video == nil {
		return 0
	}
	return float64(r.res.Video.Received) / max(r.res.WindowSeconds, 1e-9)
}

func (r row) videoLine() string {
	v := r.res.Video
	if v == nil {
		return "video: none"
	}
	base := "no baseline"
	if r.base != nil {
		base = fmt.Sprintf("audio-only baseline %.2f cores, video adds %.2f cores (%.0f streams/core)", r.base.focusCores, r.videoCores(), r.streamsPerVideoCore())
	}
	multi := ""
	if v.AllVideo {
		multi = fmt.Sprintf("; multi-stream: %d of %d streams expected (%d added contents), %d of %d added contents had media at the window's start (waited %.1f s after the last join), misrouted %d (sender changed %d, of another room %d, a sender twice %d), pairs missing %d",
			v.Streams, r.wantStreams(), v.Extra, v.Contents, v.ContentsExpected, v.ContentsWaitSeconds, v.Misrouted, v.Switched, v.Foreign, v.Duplicate, v.Missing)
	}
	return fmt.Sprintf("video: %d streams forwarded, %.0f packets/s received (%.1f per stream; sent %d), loss %.2f%% (worst receiver %.2f%% by sequence; %d of the %d packets their senders sent in the window arrived), focus %.0f streams/core; %s; latency p50 %.2f p95 %.2f p99 %.2f max %.1f ms (%d packets), switches %d, self %d, unknown %d, clip %.0f kbit/s%s",
		v.Streams, r.videoPPS(), r.videoPPS()/max(r.streams(), 1), v.Sent, 100*r.videoLoss(), 100*v.WorstLoss, v.ReceivedSent, v.ExpectedSent, r.streamsPerCore(), base,
		v.LatencyP50, v.LatencyP95, v.LatencyP99, v.LatencyMax, v.Timed, v.Switches, v.Self, v.Unknown, v.ClipKbps, multi)
}

// streamsCell is the table's forwarded-streams cell: the count, and with
// -all-video how it splits (views, added contents), against what
// everyone joined should get, and the added contents that had media when
// the window opened against those expected.
func (r row) streamsCell() string {
	v := r.res.Video
	if !v.AllVideo {
		return fmt.Sprint(v.Streams)
	}
	return fmt.Sprintf("%d of %d (%d views + %d added; contents with media %d / %d, %.1f s after the last join)",
		v.Streams, r.wantStreams(), v.Streams-v.Extra, v.Extra, v.Contents, v.ContentsExpected, v.ContentsWaitSeconds)
}

// mode says what the video rows forwarded, for the table's summary.
func mode(cfg config) string {
	if cfg.allVideo {
		return "everyone sending VP8 and receiving every other's"
	}
	return "everyone sending VP8"
}

// renderVideo is the Markdown table of the -video runs.
func renderVideo(rows []row, cfg config) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("")
	p("| run | participants joined, all sending VP8 | forwarded video streams | video packets/s forwarded (per stream) | loss video / audio up / audio down | focus CPU, cores (streams per core) | audio-only baseline, cores | video's share, cores (streams per core) | added latency p50 / p95 / p99 (max) | load CPU, cores | video held under 1%% loss |")
	p("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	var best, bestAll *row
	for i := range rows {
		r := rows[i]
		v := r.res.Video
		if v == nil {
			continue
		}
		held := "yes"
		if !r.videoHeld() {
			held = "**no**"
		} else if r.scaling && (best == nil || r.streams() > best.streams()) {
			best = &rows[i]
		}
		if r.videoHeld() && !r.held() {
			held += fmt.Sprintf(" (audio lost %.1f%% up, %.1f%% down)", 100*r.upLoss, 100*r.downLoss)
		} else if r.held() && r.scaling && (bestAll == nil || r.streams() > bestAll.streams()) {
			bestAll = &rows[i]
		}
		if r.loadBehind() {
			held += fmt.Sprintf(" (load generator behind: %d of %d ticks late)", r.res.LateTicks, r.res.Ticks)
		}
		if v.Self > 0 || v.Unknown > 0 {
			held += fmt.Sprintf(" (misrouted: %d own, %d unknown packets)", v.Self, v.Unknown)
		}
		if v.Misrouted > 0 || v.Missing > 0 {
			held += fmt.Sprintf(" (%d added contents with a wrong sender, %d sender-receiver pairs missing)", v.Misrouted, v.Missing)
		}
		baseCores, share := "n/a", "n/a"
		if r.base != nil {
			baseCores = fmt.Sprintf("%.2f", r.base.focusCores)
			share = fmt.Sprintf("%.2f (%.0f)", r.videoCores(), r.streamsPerVideoCore())
			if r.videoCores() <= 0 {
				share = fmt.Sprintf("%.2f (n/a: noise)", r.videoCores())
			}
		}
		p("| %s (%d rooms of %d, %d talking) | %d / %d | %s | %.0f (%.1f) | %.2f%% / %.2f%% / %.2f%% | %.2f (%.0f) | %s | %s | %.2f / %.2f / %.2f (%.1f) ms | %.2f | %s |",
			r.name, r.rooms, r.asked/max(r.rooms, 1), r.talkers, r.res.Joined, r.asked, r.streamsCell(),
			r.videoPPS(), r.videoPPS()/max(r.streams(), 1),
			100*r.videoLoss(), 100*r.upLoss, 100*r.downLoss,
			r.focusCores, r.streamsPerCore(), baseCores, share,
			v.LatencyP50, v.LatencyP95, v.LatencyP99, v.LatencyMax,
			r.res.CPUSeconds/max(r.res.WindowSeconds, 1e-9), held)
	}
	p("")
	if best == nil {
		p("Forwarded video streams held under 1%% loss on the focus's core: none (rooms of %d, %d talking, %s).", cfg.roomSize, cfg.talkers, mode(cfg))
		p("Target: at least %d forwarded video streams per core of the focus: **not met**.", targetStreamsPerCore)
	} else {
		share := "no audio-only baseline"
		switch {
		case best.base != nil && best.videoCores() > 0:
			share = fmt.Sprintf("the video's share alone %.0f per core", best.streamsPerVideoCore())
		case best.base != nil:
			share = fmt.Sprintf("the audio-only run of the same rooms took %.2f cores, no less: the difference is lost in the noise of the shared machine", best.base.focusCores)
		}
		p("Forwarded video streams held under 1%% loss on the focus's core (rooms of %d, %d talking, %s): %.0f, at %.2f cores of the whole focus (%.0f streams per core; %s).",
			cfg.roomSize, cfg.talkers, mode(cfg), best.streams(), best.focusCores, best.streamsPerCore(), share)
		p("Target: at least %d forwarded video streams per core of the focus: %s (%.0f held on one core).",
			targetStreamsPerCore, verdict(best.streams() >= targetStreamsPerCore), best.streams())
	}
	if bestAll != nil {
		p("With the audio also under 1%% loss both ways: %.0f streams.", bestAll.streams())
	} else if best != nil {
		p("With the audio also under 1%% loss both ways: none of these rows.")
	}
	p("References: LiveKit (pion) about %d video down-tracks per core; mediasoup about %d consumers per core.", refLiveKit, refMediasoup)
	return b.String()
}
