#!/usr/bin/env node
// table.mjs: reads the {"ftref": lines that bench/ftref/run.sh collects
// (results of libwebrtc-dc.mjs, piondc and tcpcopy, one line per tool
// invocation, and the UDP receive-buffer drops counted around each) on
// stdin and prints one Markdown table, a row per reference: the median
// over every run of that row, each run's rate, the median CPU time per MB
// (the whole process, both ends), and its share of raw TCP
// (with the same sha-256 work) and of libwebrtc's datachannel.
//
//   node bench/ftref/table.mjs < results.jsonl
import { createInterface } from 'node:readline';

const what = {
    'raw-tcp-nohash': 'raw TCP, no hash (as bench-ft raw-tcp)',
    'raw-tcp': 'raw TCP + sha-256',
    'pion-dc': 'pion datachannel',
    'pion-dc-detached': "pion datachannel, jingled's settings",
    'libwebrtc-dc': 'libwebrtc datachannel',
    'jingled-dc': 'jingled end-to-end (bench-ft datachannel: Jingle via Prosody, hashed, written, fsynced; set-up inside the time)'
};

function describe(name) {
    if (what[name]) {
        return what[name];
    }
    const m = /^(pion-dc(?:-detached)?)-rcvbuf(\d+)k$/.exec(name);
    if (m) {
        return `${what[m[1]]}, SO_RCVBUF ${m[2]} KiB`;
    }
    return name;
}

function median(xs) {
    const s = [...xs].sort((x, y) => x - y);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const round = x => Math.round(x * 10) / 10;

const rows = new Map();
function row(name) {
    if (!rows.has(name)) {
        rows.set(name, { name, mbps: [], setup: [], cpu: [], drops: null });
    }
    return rows.get(name);
}

for await (const line of createInterface({ input: process.stdin })) {
    if (!line.startsWith('{"ftref":')) {
        continue;
    }
    const r = JSON.parse(line);
    const w = row(r.name);
    if (r.ftref === 'result') {
        w.impl = r.impl;
        w.chunk = r.chunk;
        w.bytes = r.bytes;
        w.sha256 = r.sha256;
        w.mbps.push(...r.mbps);
        w.cpu.push(...(r.cpu_ms_per_mb ?? []));
        // setup_ms is a median per invocation; weigh it by its runs.
        // null: the row's time includes its set-up (jingled-dc).
        for (let i = 0; r.setup_ms !== null && i < r.runs; i++) {
            w.setup.push(r.setup_ms);
        }
    } else if (r.ftref === 'drops' && r.drops !== null) {
        w.drops = (w.drops ?? 0) + r.drops;
    }
}

// Rows come in the order run.sh first ran them.
const names = [...rows.keys()];
const medianOf = name => (rows.get(name)?.mbps.length ? median(rows.get(name).mbps) : 0);
const share = (x, of) => (of ? `${round((100 * x) / of)} %` : '-');
const tcpMed = medianOf('raw-tcp');
const libwebrtcMed = medianOf('libwebrtc-dc');

const out = [];
out.push(
    '| reference | implementation | message | MB/s (median) | each run, MB/s | CPU ms/MB | set-up ms | UDP rcvbuf drops | ' +
        'of raw TCP + sha-256 | of libwebrtc dc |'
);
out.push('| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |');
for (const name of names) {
    const w = rows.get(name);
    if (!w.mbps.length) {
        continue;
    }
    const med = median(w.mbps);
    out.push(
        `| ${describe(name)} | ${w.impl} | ${w.chunk} B | ${round(med)} | ${w.mbps.join(', ')} | ` +
            `${w.cpu.length ? Math.round(median(w.cpu) * 100) / 100 : '-'} | ` +
            `${w.setup.length ? round(median(w.setup)) : '-'} | ${w.drops ?? '-'} | ${share(med, tcpMed)} | ${name.startsWith('raw-tcp') ? '-' : share(med, libwebrtcMed)} |`
    );
}
process.stdout.write(out.join('\n') + '\n');
