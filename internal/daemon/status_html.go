package daemon

import (
	"cmp"
	"fmt"
	"html/template"
	"io"
	"time"
)

// renderStatus writes the status page: one self-contained HTML document
// (inline CSS, no script, no external asset) that fits a phone's width
// and reloads itself every five seconds. html/template escapes every
// value by context, so a peer that names its resource <script> shows
// as text. Element ids and data- attributes are stable for scripts and
// the browser test.
func renderStatus(w io.Writer, s snapshot) error {
	if err := statusTemplate.Execute(w, s); err != nil {
		return fmt.Errorf("status page: %w", err)
	}
	return nil
}

// statusRefresh is how often the page reloads itself.
const statusRefresh = 5 * time.Second

var statusTemplate = template.Must(template.New("status").Funcs(template.FuncMap{
	"bytes":   humanBytes,
	"bitrate": humanBitrate,
	"ms":      humanMillis,
	"pct":     humanPercent,
	"ago":     humanDuration,
	"clock":   func(t time.Time) string { return t.UTC().Format("15:04:05") },
	"rfc3339": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"secs":    func(s float64) string { return fmt.Sprintf("%.1f s", s) },
	"pair":    humanPair,
	"refresh": func() int { return int(statusRefresh / time.Second) },
	"plural":  plural,
}).Parse(statusHTML))

const statusHTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="{{refresh}}">
<meta name="referrer" content="no-referrer">
<title>jingled: {{if .Health.OK}}ok{{else}}degraded{{end}}</title>
<style>
:root{color-scheme:light dark;--fg:#1b1f24;--muted:#5b6470;--bg:#fff;--card:#f3f5f7;--ok:#1a7f37;--bad:#c62828;--line:#d6dbe0}
@media (prefers-color-scheme:dark){:root{--fg:#e6e8eb;--muted:#9aa4ae;--bg:#111418;--card:#1c2127;--ok:#3fb950;--bad:#f85149;--line:#30363d}}
*{box-sizing:border-box}
body{margin:0 auto;max-width:46rem;padding:.75rem;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
h1{font-size:1.4rem;margin:.2rem 0}
h2{font-size:1.1rem;margin:1.2rem 0 .4rem;border-bottom:1px solid var(--line);padding-bottom:.2rem}
.muted{color:var(--muted);font-size:.9rem}
.badge{display:inline-block;padding:.1rem .6rem;border-radius:1rem;color:#fff;font-weight:600}
.badge.ok{background:var(--ok)}.badge.bad{background:var(--bad)}
.tiles{display:flex;flex-wrap:wrap;gap:.5rem}
.tile{flex:1 1 6rem;background:var(--card);border-radius:.5rem;padding:.5rem .7rem}
.tile b{display:block;font-size:1.6rem;line-height:1.2}
ul.kinds{list-style:none;padding:0;margin:.5rem 0;display:flex;flex-wrap:wrap;gap:.4rem 1rem}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.92rem}
th,td{text-align:left;padding:.3rem .35rem;border-bottom:1px solid var(--line);vertical-align:top}
.jid{overflow-wrap:anywhere}
.nowrap td,.nowrap th{white-space:nowrap}
th{font-weight:600;color:var(--muted)}
.online{color:var(--ok);font-weight:600}.offline{color:var(--bad);font-weight:600}.connecting{color:var(--muted);font-weight:600}
.relayed td:nth-child(5){font-weight:600}
#problems{color:var(--bad)}
footer{margin-top:1.5rem}
a{color:inherit}
</style>
</head>
<body>
<header>
<h1>jingled</h1>
<p><span id="health" class="badge {{if .Health.OK}}ok{{else}}bad{{end}}">{{if .Health.OK}}ok{{else}}degraded{{end}}</span>
version <span id="version">{{.Version}}</span></p>
{{with .Health.Problems}}<ul id="problems">{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}
<p class="muted">up {{ago (.Time.Sub .Started)}} · at <time id="updated" datetime="{{rfc3339 .Time}}">{{clock .Time}} UTC</time> · reloads every {{refresh}} s</p>
</header>

<section id="live">
<h2>Live</h2>
<div class="tiles">
<div class="tile"><b id="live-calls">{{.Live.Calls}}</b>{{if eq .Live.Calls 1}}call{{else}}calls{{end}}</div>
<div class="tile"><b id="live-transfers">{{.Live.Transfers}}</b>{{if eq .Live.Transfers 1}}transfer{{else}}transfers{{end}}</div>
</div>
<ul class="kinds">{{range .Live.ByKind}}<li data-kind="{{.Kind}}"><b class="count">{{.Count}}</b> {{.Kind}}</li>{{end}}</ul>
{{if .Live.Sessions}}<div class="scroll"><table id="sessions">
<thead><tr><th>kind</th><th>state</th><th>account</th>{{if .JIDsShown}}<th>peer</th>{{end}}</tr></thead>
<tbody>{{range .Live.Sessions}}
<tr class="session" data-kind="{{.Kind}}" data-state="{{.State}}"><td>{{.Kind}}</td><td>{{.State}}</td><td class="jid">{{.Account}} ({{.Role}})</td>{{if $.JIDsShown}}<td class="jid peer">{{.Peer}}</td>{{end}}</tr>{{end}}
</tbody></table></div>{{end}}
<p class="muted">since start: {{plural .Totals.CallsEnded "call"}} and {{plural .Totals.TransfersEnded "transfer"}} ended, {{bytes .Totals.FileBytes}} of files{{if not .JIDsShown}} · peers are hidden (<code>[http] status_jids</code>){{end}}</p>
</section>

{{with .Relay}}<section id="relay">
<h2>Relay</h2>
<div class="tiles">
<div class="tile"><b id="relay-allocations">{{.AllocationsOpen}}</b>allocations</div>
<div class="tile"><b id="relay-to-peers">{{bitrate .BitrateToPeers}}</b>to peers</div>
<div class="tile"><b id="relay-from-peers">{{bitrate .BitrateFromPeers}}</b>from peers</div>
</div>
<p class="muted">{{.AllocationsTotal}} allocations since start; relayed {{bytes .BytesToPeers}} to peers and {{bytes .BytesFromPeers}} from them{{if .RateWindow}}; rates over the last {{ago .RateWindow}}{{end}}</p>
</section>{{end}}

<section id="accounts">
<h2>Accounts</h2>
{{if .Accounts}}<div class="scroll"><table>
<thead><tr><th>account</th><th>role</th><th>XMPP</th></tr></thead>
<tbody>{{range .Accounts}}
<tr class="account" data-jid="{{.JID}}" data-state="{{.State}}"><td class="jid">{{.JID}}</td><td>{{.Role}}</td><td class="state {{.State}}">{{.State}}{{with .Detail}}<br><small>{{.}}</small>{{end}}</td></tr>{{end}}
</tbody></table></div>{{else}}<p class="muted">no [[account]] configured</p>{{end}}
</section>

<section id="recent">
<h2>Recent calls</h2>
{{with .Recent.Calls}}<p><b id="recent-relayed">{{$.Recent.Relayed}}</b> of <b id="recent-count">{{len .}}</b> needed the relay</p>
<div class="scroll"><table class="nowrap">
<thead><tr><th>ended</th><th>kind</th><th>set-up</th><th>loss</th><th>pair</th><th>outcome</th></tr></thead>
<tbody>{{range .}}
<tr class="call{{if .Relayed}} relayed{{end}}" data-kind="{{.Kind}}"><td>{{clock .Ended}}</td><td>{{.Kind}}</td><td>{{if .Media}}{{ms .Setup}}{{else}}no media{{end}}</td><td>{{pct .LossIn}}{{if .LossOut}}<br><small>{{pct .LossOut}} out</small>{{end}}</td><td>{{pair .LocalType .RemoteType}}</td><td>{{.Outcome}}{{if $.JIDsShown}} <small class="peer">{{.Peer}}</small>{{end}}</td></tr>{{end}}
</tbody></table></div>{{else}}<p class="muted">no call has ended since start</p>{{end}}
</section>

{{with .Conference}}<section id="conference">
<h2>Conference</h2>
{{with .Component}}<p>component {{.JID}}: <span class="state {{.State}}">{{.State}}</span>{{with .Detail}} <small>{{.}}</small>{{end}}</p>{{end}}
<div class="tiles">
<div class="tile"><b id="conference-rooms">{{len .Rooms}}</b>{{if eq (len .Rooms) 1}}room{{else}}rooms{{end}}</div>
<div class="tile"><b id="conference-participants">{{.Participants}}</b>{{if eq .Participants 1}}participant{{else}}participants{{end}}</div>
</div>
{{if .Rooms}}<div class="scroll"><table>
<thead><tr><th>room</th><th>people</th><th>speaking</th><th>mixer CPU</th><th>loss</th></tr></thead>
<tbody>{{range .Rooms}}
<tr class="room"><td class="jid">{{or .Name "(name hidden)"}}{{range .People}}<br><small class="peer">{{.}}</small>{{end}}</td><td>{{.Participants}}</td><td>{{.Speakers}}</td><td>{{secs .MixCPU}}</td><td>{{pct .Loss}}</td></tr>{{end}}
</tbody></table></div>{{end}}
</section>{{end}}

<footer class="muted"><a href="/status.json">status.json</a> · <a href="/metrics">metrics</a> · <a href="/healthz">healthz</a></footer>
</body>
</html>
`

// humanBytes is a byte count in binary units: 512 B, 1.5 KiB, 3.2 GiB.
func humanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// humanBitrate is bits per second in decimal units, as links are sold:
// 0 bit/s, 64.0 kbit/s, 1.2 Mbit/s.
func humanBitrate(bps float64) string {
	switch {
	case bps < 1000:
		return fmt.Sprintf("%.0f bit/s", bps)
	case bps < 1e6:
		return fmt.Sprintf("%.1f kbit/s", bps/1e3)
	case bps < 1e9:
		return fmt.Sprintf("%.1f Mbit/s", bps/1e6)
	}
	return fmt.Sprintf("%.2f Gbit/s", bps/1e9)
}

// humanMillis is a short duration: 240 ms, 1.3 s.
func humanMillis(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

// humanPercent is a ratio as a percentage with a precision that shows
// small losses: 0%, 0.12%, 4.5%, 100%.
func humanPercent(r float64) string {
	switch {
	case r <= 0:
		return "0%"
	case r < 0.01:
		return fmt.Sprintf("%.2f%%", r*100)
	case r < 1:
		return fmt.Sprintf("%.1f%%", r*100)
	}
	return "100%"
}

// humanDuration is an uptime or window, rounded to what a reader needs:
// 42s, 5m3s, 3h4m, 2d5h.
func humanDuration(d time.Duration) string {
	switch {
	case d < time.Hour:
		return d.Round(time.Second).String()
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
}

// plural is "1 call", "2 calls", "0 calls".
func plural(n uint64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// humanPair is the selected candidate pair's types, local/remote, or a
// dash when the call never had one.
func humanPair(local, remote string) string {
	if local == "" && remote == "" {
		return "—"
	}
	return cmp.Or(local, "?") + "/" + cmp.Or(remote, "?")
}
