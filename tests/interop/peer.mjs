#!/usr/bin/env node
// peer.mjs: a scriptable StanzaJS 12 Jingle peer on libwebrtc (@roamhq/wrtc),
// the third-party client the Go interop tests in this directory talk to.
//
// It speaks XEP-0166 Jingle with XEP-0167 RTP audio (DTLS-SRTP, XEP-0320)
// over XEP-0176 ICE-UDP, and XEP-0234 file transfer over StanzaJS's
// datachannel transport (urn:xmpp:jingle:transports:dtls-sctp:1). All
// protocol work is StanzaJS's own code; this file only supplies what a
// browser would (a peer connection, a microphone, a File) and reports what
// happens as one JSON object per line on stdout.
//
// Usage:
//   node peer.mjs JID PASSWORD SERVER MODE [ARGS] [--options]
//     SERVER  host:port or tcp://host:port (plain c2s, no STARTTLS),
//             or ws://host:port/path (RFC 7395 WebSocket)
//     MODE    answer                 accept every incoming call
//             call PEER_FULL_JID     call PEER
//             send-file PEER PATH    offer PATH to PEER
//             receive-file DIR       accept files into DIR
//   --freq HZ            sine frequency we send (default 440)
//   --duration SEC       exit after SEC seconds (default: none)
//   --hangup-after SEC   end a call SEC seconds after ICE connected
//   --min-audio MS       with --hangup-after: also wait until MS of audible
//                        audio arrived (default 1500, at most 30 s more)
//   --ring               answer: send <ringing/> (XEP-0167 §7.2) first
//   --answer-delay SEC   answer/receive-file: wait SEC before accepting
//   --decline            answer/receive-file: end with <decline/> instead
//   --hold-data          send-file: send no byte of the file until the line
//                        "send" arrives on stdin (see startFile: the driver
//                        says so once the receiving peer has its channel)
//   --once               exit after the first session ends (default for
//                        call and send-file)
//   --stats-interval MS  period of "stats" events (default 1000)
//   --ice-servers JSON   RTCIceServer list, e.g. '[{"urls":"stun:127.0.0.1:3478"}]'
//   --extdisco           also ask the server for STUN/TURN (XEP-0215)
//   --relay              iceTransportPolicy "relay"
//   --log-xml            emit every XML frame as an "xml" event
//   --resource RES       resource to bind (default "stanzajs")
//   --record FILE        write the received audio (first channel, 16-bit)
//                        to FILE as WAV when the call ends
//   --video COLOUR       call: also send video, one solid colour (red,
//                        green, blue) at 15 fps; received video is measured
//                        as "video-colour" events (a colour and when it
//                        began)
//   --amplitude A        the sine's amplitude, 0..1 (default 0.5)
//   --ca FILE            STARTTLS on a tcp:// server, trusting the PEM in FILE
//   --tls-servername N   name to verify (default: the JID's domain)
//
// Events (field "event"): ready, session-initiate, outgoing, accepted,
// ringing, ice, pc, ice-connected, datachannel-open, stats, file-data,
// file-received, file-sent, ended, xml, log, error, exit.
//
// There is no STUN or TURN server unless one is given: StanzaJS's default
// (a public STUN server) is replaced by an empty list. libwebrtc gathers on
// every interface, so the tests run this peer inside a network namespace
// that has only "lo".
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import TCPConnection from './tcp-transport.mjs';

const require = createRequire(import.meta.url);
const wrtc = require('@roamhq/wrtc');
const { createClient } = require('stanza');

const started = Date.now();

function emit(event, fields = {}) {
    process.stdout.write(JSON.stringify({ event, t: Date.now() - started, ...fields }) + '\n');
}

function usage(msg) {
    emit('error', { message: msg });
    process.stderr.write(
        'usage: peer.mjs JID PASSWORD SERVER (answer | call PEER | send-file PEER PATH | receive-file DIR) [--options]\n'
    );
    process.exit(2);
}

// ---------------------------------------------------------------------
// Command line

// Solid colours of --video, RGB.
const COLOURS = { red: [255, 0, 0], green: [0, 128, 0], blue: [0, 0, 255] };

function parseArgs(argv) {
    const opts = {
        freq: 440,
        duration: 0,
        hangupAfter: 0,
        minAudio: 1500,
        ring: false,
        answerDelay: 0,
        decline: false,
        holdData: false,
        once: undefined,
        statsInterval: 1000,
        iceServers: [],
        extdisco: false,
        relay: false,
        logXML: false,
        resource: 'stanzajs',
        ca: '',
        servername: '',
        record: '',
        video: '',
        amplitude: 0.5
    };
    const pos = [];
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const val = () => {
            if (i + 1 >= argv.length) {
                usage(`${a} needs a value`);
            }
            return argv[++i];
        };
        const num = () => {
            const v = Number(val());
            if (!Number.isFinite(v) || v < 0) {
                usage(`${a} needs a non-negative number`);
            }
            return v;
        };
        switch (a) {
            case '--freq':
                opts.freq = num();
                break;
            case '--duration':
                opts.duration = num();
                break;
            case '--hangup-after':
                opts.hangupAfter = num();
                break;
            case '--min-audio':
                opts.minAudio = num();
                break;
            case '--ring':
                opts.ring = true;
                break;
            case '--answer-delay':
                opts.answerDelay = num();
                break;
            case '--decline':
                opts.decline = true;
                break;
            case '--hold-data':
                opts.holdData = true;
                break;
            case '--once':
                opts.once = true;
                break;
            case '--stats-interval':
                opts.statsInterval = num();
                break;
            case '--ice-servers':
                try {
                    opts.iceServers = JSON.parse(val());
                } catch (err) {
                    usage(`--ice-servers: ${err.message}`);
                }
                break;
            case '--extdisco':
                opts.extdisco = true;
                break;
            case '--relay':
                opts.relay = true;
                break;
            case '--log-xml':
                opts.logXML = true;
                break;
            case '--resource':
                opts.resource = val();
                break;
            case '--ca':
                opts.ca = val();
                break;
            case '--tls-servername':
                opts.servername = val();
                break;
            case '--record':
                opts.record = val();
                break;
            case '--video':
                opts.video = val();
                if (!COLOURS[opts.video]) {
                    usage(`--video: ${opts.video} is not one of ${Object.keys(COLOURS).join(', ')}`);
                }
                break;
            case '--amplitude':
                opts.amplitude = num();
                break;
            default:
                if (a.startsWith('--')) {
                    usage(`unknown option ${a}`);
                }
                pos.push(a);
        }
    }
    if (pos.length < 4) {
        usage('missing arguments');
    }
    [opts.jid, opts.password, opts.server, opts.mode] = pos;
    const rest = pos.slice(4);
    switch (opts.mode) {
        case 'answer':
            break;
        case 'call':
            if (rest.length !== 1) {
                usage('call needs PEER');
            }
            opts.peer = rest[0];
            break;
        case 'send-file':
            if (rest.length !== 2) {
                usage('send-file needs PEER PATH');
            }
            [opts.peer, opts.file] = rest;
            break;
        case 'receive-file':
            if (rest.length !== 1) {
                usage('receive-file needs DIR');
            }
            opts.dir = rest[0];
            break;
        default:
            usage(`unknown mode ${opts.mode}`);
    }
    if (opts.once === undefined) {
        opts.once = opts.mode === 'call' || opts.mode === 'send-file';
    }
    if (!/^[a-z]+:\/\//.test(opts.server)) {
        opts.server = 'tcp://' + opts.server;
    }
    return opts;
}

const opts = parseArgs(process.argv.slice(2));

// ---------------------------------------------------------------------
// Browser APIs StanzaJS expects that Node lacks. FileTransferSession's
// Sender reads the File through a FileReader; Node 20 has File and Blob
// but no FileReader.

if (typeof globalThis.FileReader === 'undefined') {
    globalThis.FileReader = class FileReader {
        constructor() {
            this.listeners = new Map();
            this.result = null;
        }
        addEventListener(name, fn) {
            if (!this.listeners.has(name)) {
                this.listeners.set(name, []);
            }
            this.listeners.get(name).push(fn);
        }
        fire(name) {
            for (const fn of this.listeners.get(name) || []) {
                fn({ target: this });
            }
        }
        readAsArrayBuffer(blob) {
            blob.arrayBuffer().then(
                buf => {
                    this.result = buf;
                    this.fire('load');
                },
                err => {
                    this.error = err;
                    this.fire('error');
                }
            );
        }
    };
}

// ---------------------------------------------------------------------
// Audio: a sine source and a frequency-measuring sink.

const SAMPLE_RATE = 48000;
const FRAME = SAMPLE_RATE / 100; // 10 ms, the frame size RTCAudioSource wants

// SineSource feeds a wrtc RTCAudioSource in real time: each tick sends as
// many 10 ms frames as the wall clock says are due, so timer jitter does
// not change the pitch.
class SineSource {
    constructor(freq) {
        this.freq = freq;
        this.source = new wrtc.nonstandard.RTCAudioSource();
        this.track = this.source.createTrack();
        this.stream = new wrtc.MediaStream([this.track]);
        this.phase = 0;
        this.sent = 0;
        this.t0 = Date.now();
        this.timer = setInterval(() => this.tick(), 10);
    }
    tick() {
        const due = Math.floor((Date.now() - this.t0) / 10);
        let n = Math.min(due - this.sent, 20);
        if (due - this.sent > 20) {
            this.sent = due - 20; // fell behind (stalled loop): skip, don't burst
        }
        const step = (2 * Math.PI * this.freq) / SAMPLE_RATE;
        for (; n > 0; n--) {
            const samples = new Int16Array(FRAME);
            for (let i = 0; i < FRAME; i++) {
                samples[i] = Math.round(Math.sin(this.phase) * opts.amplitude * 32767);
                this.phase += step;
            }
            this.phase %= 2 * Math.PI;
            this.source.onData({
                samples,
                sampleRate: SAMPLE_RATE,
                bitsPerSample: 16,
                channelCount: 1,
                numberOfFrames: FRAME
            });
            this.sent++;
        }
    }
    stop() {
        clearInterval(this.timer);
        this.track.stop();
    }
}

// ToneMeter estimates the frequency of the received tone over the whole
// call from zero crossings (interpolated between samples), which is exact
// enough for a pure tone after Opus. It counts only audible 10 ms frames
// and measures each run of consecutive audible frames separately, so
// silence and the gaps of a starved machine (lost packets, concealment
// fading out) neither dilute nor bend the estimate. signalMs tells how
// much audible audio arrived.
const SILENCE_DBFS = -40;

class ToneMeter {
    constructor(track) {
        this.sink = new wrtc.nonstandard.RTCAudioSink(track);
        this.frames = 0;
        this.signalMs = 0;
        this.sumSq = 0;
        this.sumN = 0;
        this.cycles = 0; // whole periods in closed runs
        this.span = 0; // their length in samples
        this.idx = 0; // samples seen
        this.prev = null; // last sample of the current run
        this.runFirst = -1;
        this.runLast = -1;
        this.runCount = 0;
        this.rate = SAMPLE_RATE;
        // With --record, the first channel of everything received, as
        // 16-bit PCM, written as a WAV file when the call ends.
        this.pcm = opts.record ? [] : null;
        this.sink.ondata = data => this.onData(data);
    }
    save(file) {
        if (!this.pcm) {
            return;
        }
        const n = this.pcm.reduce((a, b) => a + b.length, 0);
        const buf = Buffer.alloc(44 + 2 * n);
        buf.write('RIFF', 0);
        buf.writeUInt32LE(36 + 2 * n, 4);
        buf.write('WAVEfmt ', 8);
        buf.writeUInt32LE(16, 16);
        buf.writeUInt16LE(1, 20);
        buf.writeUInt16LE(1, 22);
        buf.writeUInt32LE(this.rate, 24);
        buf.writeUInt32LE(this.rate * 2, 28);
        buf.writeUInt16LE(2, 32);
        buf.writeUInt16LE(16, 34);
        buf.write('data', 36);
        buf.writeUInt32LE(2 * n, 40);
        let off = 44;
        for (const chunk of this.pcm) {
            for (let i = 0; i < chunk.length; i++) {
                buf.writeInt16LE(chunk[i], off);
                off += 2;
            }
        }
        fs.writeFileSync(file, buf);
    }
    closeRun() {
        if (this.runCount > 1) {
            this.cycles += this.runCount - 1;
            this.span += this.runLast - this.runFirst;
        }
        this.runFirst = this.runLast = -1;
        this.runCount = 0;
        this.prev = null;
    }
    onData({ samples, sampleRate, channelCount, numberOfFrames }) {
        this.frames++;
        this.rate = sampleRate;
        if (this.pcm) {
            if (this.pcm.length === 0) {
                // The wall clock of the recording's first sample, so a
                // test can line it up with the other participants'.
                emit('record-start', { epoch: Date.now() });
            }
            const mono = new Int16Array(numberOfFrames);
            for (let i = 0; i < numberOfFrames; i++) {
                mono[i] = samples[i * channelCount];
            }
            this.pcm.push(mono);
        }
        const base = this.idx;
        this.idx += numberOfFrames;
        let sq = 0;
        for (let i = 0; i < numberOfFrames; i++) {
            const v = samples[i * channelCount] / 32768;
            sq += v * v;
        }
        const rms = Math.sqrt(sq / numberOfFrames);
        if (rms === 0 || 20 * Math.log10(rms) < SILENCE_DBFS) {
            this.closeRun();
            return;
        }
        this.signalMs += (numberOfFrames * 1000) / sampleRate;
        this.sumSq += sq;
        this.sumN += numberOfFrames;
        for (let i = 0; i < numberOfFrames; i++) {
            const v = samples[i * channelCount] / 32768;
            if (this.prev !== null && this.prev < 0 && v >= 0) {
                const at = base + i - 1 + -this.prev / (v - this.prev);
                if (this.runCount === 0) {
                    this.runFirst = at;
                }
                this.runLast = at;
                this.runCount++;
            }
            this.prev = v;
        }
    }
    get last() {
        let cycles = this.cycles;
        let span = this.span;
        if (this.runCount > 1) {
            cycles += this.runCount - 1;
            span += this.runLast - this.runFirst;
        }
        const freq = span > 0 ? (cycles * this.rate) / span : null;
        const dbfs = this.sumN > 0 ? 10 * Math.log10(this.sumSq / this.sumN) : null;
        return {
            freq: freq === null ? null : Math.round(freq * 10) / 10,
            dbfs: dbfs === null ? null : Math.round(dbfs * 10) / 10,
            signalMs: Math.round(this.signalMs)
        };
    }
    stop() {
        this.sink.stop();
    }
}

// ---------------------------------------------------------------------
// Video: a solid-colour source and a colour-measuring sink, so a test can
// tell whose video a conference shows this peer.

const VIDEO_W = 160;
const VIDEO_H = 120;

class ColourSource {
    constructor(name) {
        const [r, g, b] = COLOURS[name];
        // BT.601, as libwebrtc's I420 expects.
        const y = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
        const u = Math.round(-0.169 * r - 0.331 * g + 0.5 * b + 128);
        const v = Math.round(0.5 * r - 0.419 * g - 0.081 * b + 128);
        const n = VIDEO_W * VIDEO_H;
        this.data = new Uint8ClampedArray(n * 1.5);
        this.data.fill(y, 0, n);
        this.data.fill(u, n, n + n / 4);
        this.data.fill(v, n + n / 4);
        this.source = new wrtc.nonstandard.RTCVideoSource();
        this.track = this.source.createTrack();
        this.timer = setInterval(() => this.source.onFrame({ width: VIDEO_W, height: VIDEO_H, data: this.data }), 1000 / 15);
    }
    stop() {
        clearInterval(this.timer);
        this.track.stop();
    }
}

function colourName(r, g, b) {
    if (r > 120 && g < 80 && b < 80) {
        return 'red';
    }
    if (g > 80 && r < 80 && b < 80) {
        return 'green';
    }
    if (b > 120 && r < 80 && g < 80) {
        return 'blue';
    }
    return '';
}

class ColourMeter {
    constructor(track) {
        this.sink = new wrtc.nonstandard.RTCVideoSink(track);
        this.last = null;
        this.frames = {};
        this.sink.onframe = ({ frame }) => this.onFrame(frame);
    }
    onFrame({ width, height, data }) {
        const n = width * height;
        let y = 0;
        let u = 0;
        let v = 0;
        let k = 0;
        for (let i = 0; i < n / 4; i += 7) {
            y += data[i * 4];
            u += data[n + i];
            v += data[n + n / 4 + i];
            k++;
        }
        y /= k;
        u = u / k - 128;
        v = v / k - 128;
        const r = y + 1.402 * v;
        const g = y - 0.344 * u - 0.714 * v;
        const b = y + 1.772 * u;
        const name = colourName(r, g, b);
        this.frames[name] = (this.frames[name] || 0) + 1;
        if (name !== this.last) {
            this.last = name;
            emit('video-colour', { colour: name, epoch: Date.now() });
        }
    }
    stop() {
        this.sink.stop();
    }
}

// ---------------------------------------------------------------------
// XMPP client

const client = createClient({
    jid: opts.jid,
    password: opts.password,
    resource: opts.resource,
    transports: opts.server.startsWith('tcp://') ? { tcp: opts.server } : { websocket: opts.server },
    transportPreferenceOrder: opts.server.startsWith('tcp://') ? ['tcp'] : ['websocket'],
    useStreamManagement: false,
    tls: opts.ca ? { ca: fs.readFileSync(opts.ca), servername: opts.servername || opts.jid.split('@').pop().split('/')[0] } : undefined,
    jingle: {
        hasRTCPeerConnection: true,
        advertiseAudio: true,
        advertiseVideo: !!opts.video,
        advertiseFileTransfer: true,
        iceServers: opts.iceServers,
        iceTransportPolicy: opts.relay ? 'relay' : 'all',
        bundlePolicy: 'balanced',
        createPeerConnection: (session, pcOpts) => new wrtc.RTCPeerConnection(pcOpts)
    }
});
client.transports.tcp = TCPConnection;
// StanzaJS copies config.jingle.iceServers by reference into the manager;
// make sure nothing else (its default public STUN server) is in there.
client.jingle.iceServers = [...opts.iceServers];

if (opts.logXML) {
    client.on('raw', (dir, data) => emit('xml', { dir: dir === 'incoming' ? 'in' : 'out', xml: data }));
}
client.jingle.on('log', (level, message) => {
    if (level === 'error') {
        emit('log', { level, message: String(message) });
    }
});
client.on('transport:error', err => emit('error', { message: `transport: ${err.message}` }));
client.on('stream:error', (se, err) => emit('error', { message: `stream error ${se.condition}`, detail: err && String(err) }));
client.on('auth:failed', () => {
    emit('error', { message: 'authentication failed' });
    shutdown(1);
});

// Per-session bookkeeping: media helpers, timers and the last stats.
const tracked = new Map();

// guardEnd makes a session end once. wrtc, unlike browsers, fires
// iceconnectionstatechange "closed" from pc.close(); StanzaJS's ICESession
// answers that with end(), which sends a second session-terminate (or one
// in reply to the peer's). Browsers never do, nor do the reference
// captures, so the peer keeps to the browser's behaviour.
function guardEnd(session) {
    const end = session.end.bind(session);
    const onTerminate = session.onSessionTerminate.bind(session);
    let ending = false;
    session.end = (...args) => {
        if (ending || session.state === 'ended') {
            return;
        }
        ending = true;
        end(...args);
    };
    // The peer's session-terminate closes the peer connection before the
    // session is marked ended: the "closed" event must not end it again.
    session.onSessionTerminate = (...args) => {
        ending = true;
        return onTerminate(...args);
    };
}

function track(session) {
    let st = tracked.get(session.sid);
    if (!st) {
        guardEnd(session);
        st = { session, timers: [], meters: [], pending: [], iceConnected: false, lastStats: null };
        tracked.set(session.sid, st);
        watchPC(st);
    }
    return st;
}

function watchPC(st) {
    const { session } = st;
    const pc = session.pc;
    if (!pc) {
        return;
    }
    pc.addEventListener('iceconnectionstatechange', () => {
        const state = pc.iceConnectionState;
        if (state === st.iceState) {
            return; // libwebrtc repeats the event for each bundled transport
        }
        st.iceState = state;
        emit('ice', { sid: session.sid, state });
        if ((state === 'connected' || state === 'completed') && !st.iceConnected) {
            st.iceConnected = true;
            emit('ice-connected', { sid: session.sid });
            onConnected(st);
        }
    });
    pc.addEventListener('connectionstatechange', () => {
        if (pc.connectionState === st.pcState) {
            return;
        }
        st.pcState = pc.connectionState;
        emit('pc', { sid: session.sid, state: pc.connectionState });
    });
    pc.addEventListener('track', e => {
        if (e.track.kind === 'audio') {
            st.meters.push(new ToneMeter(e.track));
            emit('track', { sid: session.sid, kind: e.track.kind });
        } else if (e.track.kind === 'video') {
            st.videoMeters = st.videoMeters || [];
            st.videoMeters.push(new ColourMeter(e.track));
            emit('track', { sid: session.sid, kind: e.track.kind });
        }
    });
}

function onConnected(st) {
    const { session } = st;
    if (opts.statsInterval > 0) {
        st.timers.push(setInterval(() => sampleStats(st, true), opts.statsInterval));
    }
    if (opts.hangupAfter > 0 && session.pc.getTransceivers().length > 0 && !(session.channel || session.receiver || session.sender)) {
        // Hang up after --hangup-after seconds, but not before --min-audio
        // ms of audible audio arrived: on a starved machine media is slow
        // and the tone check needs enough of it. The wait is bounded.
        const since = Date.now();
        const poll = setInterval(async () => {
            const elapsed = (Date.now() - since) / 1000;
            const heard = st.meters.length > 0 ? st.meters[0].signalMs : 0;
            if (elapsed < opts.hangupAfter || (heard < opts.minAudio && elapsed < opts.hangupAfter + MAX_AUDIO_WAIT)) {
                return;
            }
            clearInterval(poll);
            await sampleStats(st, true);
            session.end('success');
        }, 100);
        st.timers.push(poll);
    }
}

// MAX_AUDIO_WAIT bounds (seconds) how long --hangup-after waits beyond
// its time for --min-audio.
const MAX_AUDIO_WAIT = 30;

// sampleStats reads the RTP counters (RFC 8834 stats: inbound-rtp,
// outbound-rtp) and the selected candidate pair, so the Go side can assert
// that media flowed and stayed on loopback.
async function sampleStats(st, print) {
    const { session } = st;
    const pc = session.pc;
    if (!pc || pc.signalingState === 'closed') {
        return st.lastStats;
    }
    let report;
    try {
        report = await pc.getStats();
    } catch (err) {
        return st.lastStats;
    }
    const s = {
        inbound: { packets: 0, bytes: 0 },
        outbound: { packets: 0, bytes: 0 },
        codecsUsed: [],
        pair: null
    };
    const byId = new Map();
    report.forEach(r => byId.set(r.id, r));
    let pairId = null;
    report.forEach(r => {
        if (r.type === 'inbound-rtp' && r.kind === 'audio') {
            s.inbound.packets += r.packetsReceived || 0;
            s.inbound.bytes += r.bytesReceived || 0;
            if (r.codecId && byId.get(r.codecId)) {
                s.codecsUsed.push({ dir: 'in', mimeType: byId.get(r.codecId).mimeType, payloadType: byId.get(r.codecId).payloadType });
            }
        }
        if (r.type === 'outbound-rtp' && r.kind === 'audio') {
            s.outbound.packets += r.packetsSent || 0;
            s.outbound.bytes += r.bytesSent || 0;
            if (r.codecId && byId.get(r.codecId)) {
                s.codecsUsed.push({ dir: 'out', mimeType: byId.get(r.codecId).mimeType, payloadType: byId.get(r.codecId).payloadType });
            }
        }
        if (r.type === 'transport' && r.selectedCandidatePairId) {
            pairId = r.selectedCandidatePairId;
        }
        if (r.type === 'data-channel') {
            s.datachannel = { label: r.label, bytesSent: r.bytesSent, bytesReceived: r.bytesReceived };
        }
    });
    const pair = pairId && byId.get(pairId);
    if (pair) {
        const l = byId.get(pair.localCandidateId) || {};
        const r = byId.get(pair.remoteCandidateId) || {};
        s.pair = {
            local: `${l.address || l.ip}:${l.port}`,
            localType: l.candidateType,
            remote: `${r.address || r.ip}:${r.port}`,
            remoteType: r.candidateType
        };
    }
    if (st.meters.length > 0) {
        const m = st.meters[0];
        s.tone = { ...m.last, frames: m.frames };
    }
    st.lastStats = s;
    if (print) {
        emit('stats', { sid: session.sid, ...s });
    }
    return s;
}

function describeSession(session) {
    const d = { sid: session.sid, peer: session.peerID };
    if (session.receiver && session.receiver.metadata) {
        const f = session.receiver.metadata;
        d.kind = 'file';
        d.file = {
            name: f.name,
            size: f.size,
            hashesUsed: (f.hashesUsed || []).map(h => h.algorithm),
            hashes: (f.hashes || []).map(h => h.algorithm)
        };
        return d;
    }
    d.kind = 'media';
    const sdp = session.pc && session.pc.remoteDescription ? session.pc.remoteDescription.sdp : '';
    d.media = [...sdp.matchAll(/^m=(\w+) /gm)].map(m => m[1]);
    d.codecs = [...sdp.matchAll(/^a=rtpmap:(\d+) ([^\r\n]+)/gm)].map(m => `${m[1]} ${m[2]}`);
    return d;
}

function sha256(buf) {
    return createHash('sha256').update(buf).digest('hex');
}

client.on('jingle:incoming', session => {
    const st = track(session);
    const info = describeSession(session);
    emit('session-initiate', info);
    if (info.kind === 'media') {
        if (opts.mode !== 'answer') {
            session.end('unsupported-applications');
            return;
        }
        if (opts.ring) {
            session.ring();
        }
        answerLater(session, () => {
            const sine = new SineSource(opts.freq);
            st.sine = sine;
            session.addTrack(sine.track, sine.stream);
            session.accept();
        });
        return;
    }
    if (opts.mode !== 'receive-file') {
        session.end('unsupported-applications');
        return;
    }
    session.pc.addEventListener('datachannel', e => {
        emit('datachannel-open', { sid: session.sid, label: e.channel.label });
    });
    // file-data reports what arrived before StanzaJS checks it against the
    // checksum session-info, so a missing <checksum> is visible too.
    session.receiver.on('receivedFile', (blob, meta) => {
        const hashReceived = !!(meta.hashes && meta.hashes.length);
        st.pending.push(
            blob.arrayBuffer().then(ab => {
                const buf = Buffer.from(ab);
                emit('file-data', { sid: session.sid, name: meta.name, size: buf.length, sha256: sha256(buf), hashReceived });
            })
        );
    });
    answerLater(session, () => session.accept());
});

// answerLater accepts (or with --decline, declines) an incoming session
// after --answer-delay.
function answerLater(session, accept) {
    const act = () => {
        if (session.state === 'ended') {
            return;
        }
        if (opts.decline) {
            session.end('decline');
        } else {
            accept();
        }
    };
    if (opts.answerDelay > 0) {
        track(session).timers.push(setTimeout(act, opts.answerDelay * 1000));
    } else {
        act();
    }
}

// createdSession fires before the session touches its peer connection
// (incoming ones before the remote offer is applied), so no track or ICE
// event is missed.
client.jingle.on('createdSession', session => track(session));
client.on('jingle:outgoing', session => emit('outgoing', { sid: session.sid, peer: session.peerID }));
client.on('jingle:accepted', session => emit('accepted', { sid: session.sid }));
client.on('jingle:ringing', session => emit('ringing', { sid: session.sid }));

// StanzaJS emits receivedFile and then ends the session in the same tick;
// the write is queued on the session so "file-received" precedes "ended".
client.jingle.on('receivedFile', (session, blob, meta) => {
    const st = track(session);
    st.pending.push(
        blob.arrayBuffer().then(ab => {
            const buf = Buffer.from(ab);
            const out = path.join(opts.dir, path.basename(meta.name || 'file.bin'));
            fs.writeFileSync(out, buf);
            emit('file-received', { sid: session.sid, name: meta.name, size: buf.length, sha256: sha256(buf), path: out });
        })
    );
});
client.jingle.on('sentFile', (session, meta) => {
    emit('file-sent', { sid: session.sid, name: meta.name, size: meta.size, hash: { algo: meta.algorithm, value: Buffer.from(meta.value).toString('base64') } });
});

let sessionsEnded = 0;
const endedSids = new Set();
client.on('jingle:terminated', async (session, reason) => {
    // StanzaJS reports the end twice when it ends a session itself: once
    // from end() and again when the closed peer connection's ICE state
    // changes to "closed".
    if (endedSids.has(session.sid)) {
        return;
    }
    endedSids.add(session.sid);
    const st = tracked.get(session.sid);
    let stats = null;
    if (st) {
        try {
            await Promise.all(st.pending);
        } catch (err) {
            emit('error', { sid: session.sid, message: `saving file: ${err.message}` });
        }
        stats = st.lastStats;
        for (const t of st.timers) {
            clearInterval(t);
            clearTimeout(t);
        }
        for (const [i, m] of st.meters.entries()) {
            m.stop();
            if (opts.record) {
                m.save(i === 0 ? opts.record : opts.record.replace(/(\.wav)?$/, `-${i}.wav`));
            }
        }
        if (st.sine) {
            st.sine.stop();
        }
        if (st.camera) {
            st.camera.stop();
        }
        for (const m of st.videoMeters || []) {
            m.stop();
        }
        tracked.delete(session.sid);
    }
    emit('ended', { sid: session.sid, reason: reason ? reason.condition : undefined, text: reason ? reason.text : undefined, stats });
    sessionsEnded++;
    if (opts.once) {
        shutdown(0);
    }
});

// ---------------------------------------------------------------------
// Commands from the driver on stdin

// stdinLine resolves once a line equal to want arrives on stdin. stdin is
// only read when some option asks for it.
function stdinLine(want) {
    return new Promise(resolve => {
        let buf = '';
        const onData = chunk => {
            buf += chunk;
            const lines = buf.split('\n');
            buf = lines.pop();
            if (lines.some(l => l.trim() === want)) {
                process.stdin.off('data', onData);
                process.stdin.pause();
                resolve();
            }
        };
        process.stdin.setEncoding('utf8');
        process.stdin.on('data', onData);
        process.stdin.resume();
    });
}

// ---------------------------------------------------------------------
// Starting sessions

async function startCall() {
    const sine = new SineSource(opts.freq);
    let camera = null;
    if (opts.video) {
        camera = new ColourSource(opts.video);
        sine.stream.addTrack(camera.track);
    }
    const session = client.jingle.createMediaSession(opts.peer, undefined, sine.stream);
    const st = track(session);
    st.sine = sine;
    st.camera = camera;
    session.start({ offerToReceiveAudio: true, offerToReceiveVideo: !!opts.video });
}

async function startFile() {
    const data = fs.readFileSync(opts.file);
    const stat = fs.statSync(opts.file);
    const file = new File([data], path.basename(opts.file), { lastModified: stat.mtimeMs });
    const session = client.jingle.createFileTransferSession(opts.peer);
    emit('file-offer', { sid: session.sid, peer: session.peerID, name: file.name, size: file.size, sha256: sha256(data) });
    const started = session.start(file);
    // start() has created the channel and set the onopen that sends the
    // file before its first await. --hold-data defers that send until the
    // driver says "send" on stdin. Why: when the receiver is on wrtc too,
    // messages that arrive before wrtc has built the receiving
    // RTCDataChannel object are cached and replayed when it is built, and
    // the constructor registers its own observer before replaying them
    // (node-webrtc src/interfaces/rtc_data_channel.cc), so a message arriving
    // in between overtakes the cached ones: the first two 16 KiB chunks
    // arrived swapped in about 1 of 80 runs under load. Browsers have no
    // such window; a driver that waits for the receiver's
    // "datachannel-open" closes it here.
    if (opts.holdData) {
        const open = session.channel.onopen;
        session.channel.onopen = () => {
            stdinLine('send').then(() => {
                emit('log', { level: 'info', message: 'released the held file data' });
                open();
            });
        };
    }
    await started;
    if (session.channel) {
        session.channel.addEventListener('open', () => emit('datachannel-open', { sid: session.sid, label: session.channel.label }));
    }
}

client.on('session:started', async () => {
    try {
        if (opts.extdisco) {
            await client.discoverICEServers();
        }
        await client.sendPresence();
        emit('ready', { jid: client.jid, iceServers: client.jingle.iceServers.map(s => s.urls) });
        if (opts.mode === 'call') {
            await startCall();
        } else if (opts.mode === 'send-file') {
            await startFile();
        }
    } catch (err) {
        emit('error', { message: `start: ${err.message}` });
        shutdown(1);
    }
});

client.on('disconnected', () => {
    if (!shuttingDown) {
        emit('error', { message: 'disconnected from server' });
        shutdown(1);
    }
});

// ---------------------------------------------------------------------
// Shutdown

let shuttingDown = false;

async function shutdown(code) {
    if (shuttingDown) {
        return;
    }
    shuttingDown = true;
    for (const st of tracked.values()) {
        try {
            await sampleStats(st, false);
            st.session.end('success');
        } catch (err) {
            emit('error', { message: `end: ${err.message}` });
        }
    }
    // Let the session-terminate IQs leave before the stream closes.
    await new Promise(r => setTimeout(r, 300));
    const done = new Promise(r => {
        client.once('--transport-disconnected', r);
        setTimeout(r, 1500);
    });
    client.disconnect();
    await done;
    emit('exit', { code, sessionsEnded });
    // libwebrtc's threads keep the event loop alive after pc.close().
    process.exit(code);
}

process.on('SIGTERM', () => shutdown(0));
process.on('SIGINT', () => shutdown(0));
process.on('unhandledRejection', err => emit('error', { message: `unhandled: ${err && err.stack ? err.stack : err}` }));
if (opts.duration > 0) {
    setTimeout(() => shutdown(0), opts.duration * 1000);
}
if (opts.mode === 'receive-file') {
    fs.mkdirSync(opts.dir, { recursive: true });
}

client.connect();
