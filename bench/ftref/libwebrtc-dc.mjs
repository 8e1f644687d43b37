#!/usr/bin/env node
// libwebrtc-dc.mjs: datachannel throughput of libwebrtc (M106, through the
// @roamhq/wrtc 0.10.0 the interop harness pins in tests/interop), the
// reference `make bench-ft-ref` prints beside pion's datachannel and raw
// loopback TCP.
//
// Two RTCPeerConnections in this one process, no STUN or TURN server, host
// candidates only: an offerer opens one reliable, ordered data channel
// (RFC 8831 §6.1) and sends SIZE random bytes in CHUNK-byte binary
// messages; the answerer hashes what arrives (sha-256, checked against the
// sender's) so the number is for bytes that really crossed. Timing starts
// at the first send and stops when the receiver holds every byte; ICE, DTLS
// and SCTP set-up are reported apart as setup_ms. MB/s is 10^6 bytes per
// second, as `go test -bench` counts. cpu_ms_per_mb is the process's CPU
// time (all threads, both ends) during the transfer per 10^6 bytes.
//
// Backpressure: the sender stops while bufferedAmount is above --high and
// resumes once it is at or below --low. Browsers announce that moment with
// bufferedAmountLowThreshold and the "bufferedamountlow" event, which
// @roamhq/wrtc 0.10.0 does not implement (its RTCDataChannel has
// bufferedAmount only), so the wait polls bufferedAmount every millisecond
// instead: a drain of (high - low) bytes takes longer than that at any rate
// seen here, so the poll does not starve the channel, and unlike a busy loop
// it leaves the CPU to libwebrtc's threads.
//
// libwebrtc gathers on every interface, so this refuses to run unless the
// network namespace has nothing but loopback (scripts/in-netns.sh or
// tests/interop/netns-run.sh provide one), and it also passes only
// loopback candidates between the two connections.
//
// Usage:
//   node bench/ftref/libwebrtc-dc.mjs [--size BYTES] [--chunk BYTES]
//        [--high BYTES] [--low BYTES] [--runs N] [--timeout SEC]
// Prints one human line per run and a final JSON line starting with
// {"ftref": which bench/ftref/table.mjs reads.
import { createRequire } from 'node:module';
import { createHash, randomBytes } from 'node:crypto';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

// The harness's node_modules: tests/interop/package-lock.json pins them and
// `make interop-deps` installs them; nothing is installed for this file.
const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', '..', 'tests', 'interop', 'package.json'));
const wrtc = require('@roamhq/wrtc');
const wrtcVersion = require('@roamhq/wrtc/package.json').version;

const defaults = {
    size: 32 << 20, // the Go benchmark's -ft.benchsize default
    chunk: 16 << 10, // what StanzaJS and browsers' file transfers send
    high: 1 << 20,
    low: 512 << 10,
    runs: 3,
    timeout: 120
};

function usage(msg) {
    process.stderr.write(`libwebrtc-dc: ${msg}\n`);
    process.stderr.write(
        'usage: libwebrtc-dc.mjs [--size BYTES] [--chunk BYTES] [--high BYTES] [--low BYTES] [--runs N] [--timeout SEC]\n'
    );
    process.exit(2);
}

function parseArgs(argv) {
    const o = { ...defaults };
    for (let i = 0; i < argv.length; i++) {
        const name = argv[i].replace(/^--?/, '');
        if (!(name in o) || i + 1 >= argv.length) {
            usage(`bad argument ${argv[i]}`);
        }
        const v = Number(argv[++i]);
        if (!Number.isInteger(v) || v <= 0) {
            usage(`--${name} needs a positive integer`);
        }
        o[name] = v;
    }
    if (o.low >= o.high) {
        usage('--low must be below --high');
    }
    // libwebrtc M106 accepts messages up to 256 KiB (its
    // max-message-size); larger ones close the channel.
    if (o.chunk > 262144) {
        usage('--chunk above 262144 is more than libwebrtc accepts');
    }
    return o;
}

function onlyLoopback() {
    return Object.values(os.networkInterfaces()).every(addrs => addrs.every(a => a.internal));
}

// loopbackCandidate tells whether an ICE candidate line names a loopback
// address (RFC 8839 §5.1: the address is the fifth field).
function loopbackCandidate(c) {
    const addr = (c.candidate || '').split(' ')[4] || '';
    return addr === '::1' || addr.startsWith('127.');
}

function withTimeout(promise, ms, what) {
    let timer;
    const t = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no result after ${ms / 1000} s`)), ms);
    });
    return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

// connect returns two connected peer connections, the offerer's open data
// channel and the answerer's, after trickling loopback candidates across.
async function connect(o) {
    const a = new wrtc.RTCPeerConnection({ iceServers: [] });
    const b = new wrtc.RTCPeerConnection({ iceServers: [] });
    const pair = { a, b };
    const trickle = (from, to) => {
        from.onicecandidate = ev => {
            if (ev.candidate && loopbackCandidate(ev.candidate)) {
                to.addIceCandidate(ev.candidate).catch(err => {
                    pair.err = err;
                });
            }
        };
    };
    trickle(a, b);
    trickle(b, a);
    const send = a.createDataChannel('ftref', { ordered: true });
    send.binaryType = 'arraybuffer';
    const sendOpen = new Promise((resolve, reject) => {
        send.onopen = () => resolve();
        send.onerror = ev => reject(new Error(`sender channel: ${ev.error?.message || 'error'}`));
    });
    const recvOpen = new Promise(resolve => {
        b.ondatachannel = ev => {
            const ch = ev.channel;
            ch.binaryType = 'arraybuffer';
            if (ch.readyState === 'open') {
                resolve(ch);
            } else {
                ch.onopen = () => resolve(ch);
            }
        };
    });
    pair.send = send;
    try {
        const offer = await a.createOffer();
        await a.setLocalDescription(offer);
        await b.setRemoteDescription(offer);
        const answer = await b.createAnswer();
        await b.setLocalDescription(answer);
        await a.setRemoteDescription(answer);
        const [, recv] = await withTimeout(Promise.all([sendOpen, recvOpen]), o.timeout * 1000, 'data channel open');
        pair.recv = recv;
    } catch (err) {
        a.close();
        b.close();
        throw err;
    }
    if (pair.err) {
        a.close();
        b.close();
        throw new Error(`addIceCandidate: ${pair.err.message}`);
    }
    return pair;
}

// transfer sends data over the pair and resolves with the elapsed
// milliseconds once the receiver has every byte and its sha-256 matches.
async function transfer(pair, data, want, o) {
    const { send, recv } = pair;
    const t0 = performance.now();
    const received = new Promise((resolve, reject) => {
        const h = createHash('sha256');
        let n = 0;
        recv.onmessage = ev => {
            const buf = new Uint8Array(ev.data);
            h.update(buf);
            n += buf.byteLength;
            if (n < data.length) {
                return;
            }
            const ms = performance.now() - t0;
            const got = h.digest('hex');
            if (n !== data.length) {
                reject(new Error(`received ${n} bytes, sent ${data.length}`));
            } else if (got !== want) {
                reject(new Error(`sha-256 mismatch: got ${got}, want ${want}`));
            } else {
                resolve(ms);
            }
        };
        recv.onclose = () => reject(new Error(`receiver channel closed after ${n} bytes`));
    });
    const sent = (async () => {
        for (let off = 0; off < data.length; off += o.chunk) {
            while (send.bufferedAmount > o.high) {
                // Wait for the drain to reach the low-water mark.
                do {
                    await sleep(1);
                } while (send.bufferedAmount > o.low && send.readyState === 'open');
                if (send.readyState !== 'open') {
                    throw new Error(`sender channel ${send.readyState} at offset ${off}`);
                }
            }
            send.send(data.subarray(off, Math.min(off + o.chunk, data.length)));
        }
    })();
    // A failed send must not leave the receive promise unobserved.
    const [ms] = await withTimeout(Promise.all([received, sent]), o.timeout * 1000, 'transfer');
    return ms;
}

function median(xs) {
    const s = [...xs].sort((x, y) => x - y);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

async function main() {
    const o = parseArgs(process.argv.slice(2));
    if (!onlyLoopback()) {
        process.stderr.write(
            'libwebrtc-dc: this network namespace has interfaces besides loopback and libwebrtc gathers on ' +
                'all of them: run inside scripts/in-netns.sh or tests/interop/netns-run.sh\n'
        );
        process.exit(2);
    }
    const data = randomBytes(o.size);
    const want = createHash('sha256').update(data).digest('hex');
    const mbps = [];
    const setups = [];
    const cpus = [];
    for (let i = 0; i < o.runs; i++) {
        const s0 = performance.now();
        const pair = await connect(o);
        const setup = performance.now() - s0;
        let ms;
        const cpu0 = process.cpuUsage();
        try {
            ms = await transfer(pair, data, want, o);
        } finally {
            pair.a.close();
            pair.b.close();
        }
        // getrusage(RUSAGE_SELF): every thread, libwebrtc's included.
        const cpu = process.cpuUsage(cpu0);
        const rate = o.size / 1e6 / (ms / 1000);
        const cpuPerMB = (cpu.user + cpu.system) / 1000 / (o.size / 1e6);
        mbps.push(round(rate));
        setups.push(round(setup));
        cpus.push(round(cpuPerMB, 2));
        process.stdout.write(
            `libwebrtc-dc run ${i + 1}/${o.runs}: ${o.size} bytes in ${round(ms)} ms = ${round(rate)} MB/s, ` +
                `${round(cpuPerMB, 2)} CPU ms/MB (set-up ${round(setup)} ms, sha-256 ok)\n`
        );
    }
    const result = {
        ftref: 'result',
        name: 'libwebrtc-dc',
        impl: `libwebrtc M106 (@roamhq/wrtc ${wrtcVersion}, node ${process.versions.node})`,
        bytes: o.size,
        chunk: o.chunk,
        backpressure: `poll bufferedAmount: stop above ${o.high}, resume at ${o.low}`,
        runs: o.runs,
        mbps,
        median_mbps: round(median(mbps)),
        setup_ms: round(median(setups)),
        cpu_ms_per_mb: cpus,
        sha256: 'ok'
    };
    process.stdout.write(JSON.stringify(result) + '\n');
}

main().then(
    // wrtc keeps its threads alive after close(): leave explicitly.
    () => process.exit(0),
    err => {
        process.stderr.write(`libwebrtc-dc: ${err.stack || err}\n`);
        process.exit(1);
    }
);
