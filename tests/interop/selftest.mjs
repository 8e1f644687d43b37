#!/usr/bin/env node
// selftest.mjs: StanzaJS <-> StanzaJS through a real Prosody on loopback.
//
// It proves the interop peer (peer.mjs) before any Go code is involved: an
// audio call in which each side sends a different sine and measures the
// other's, and a 1 MiB file over the dtls-sctp datachannel transport. It
// must run in a network namespace with only "lo" (see netns-run.sh), since
// libwebrtc gathers candidates on every interface:
//
//   ./netns-run.sh node selftest.mjs [--keep] [--log-xml]
//
// Prints one line per check and a closing "N passed, N failed".
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const peerScript = path.join(here, 'peer.mjs');
const keep = process.argv.includes('--keep');
const logXML = process.argv.includes('--log-xml');

let passed = 0;
let failed = 0;
function check(name, ok, detail = '') {
    if (ok) {
        passed++;
        console.log(`ok   ${name}`);
    } else {
        failed++;
        console.log(`FAIL ${name}${detail ? ': ' + detail : ''}`);
    }
}

function onlyLoopback() {
    for (const addrs of Object.values(os.networkInterfaces())) {
        for (const a of addrs) {
            if (!a.internal) {
                return false;
            }
        }
    }
    return true;
}

async function freePort() {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.on('error', reject);
        srv.listen(0, '127.0.0.1', () => {
            const { port } = srv.address();
            srv.close(() => resolve(port));
        });
    });
}

async function waitPort(port, ms) {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
        const ok = await new Promise(resolve => {
            const s = net.connect({ host: '127.0.0.1', port }, () => {
                s.destroy();
                resolve(true);
            });
            s.on('error', () => resolve(false));
        });
        if (ok) {
            return;
        }
        await new Promise(r => setTimeout(r, 100));
    }
    throw new Error(`prosody did not listen on ${port} within ${ms} ms`);
}

// Prosody runs from a throwaway directory: own config, ports, data, pidfile
// and a self-signed certificate for "localhost", c2s on 127.0.0.1 only with
// STARTTLS required (the peers trust the certificate through --ca), no s2s.
class Prosody {
    constructor(dir, port) {
        this.dir = dir;
        this.port = port;
        this.cfg = path.join(dir, 'prosody.cfg.lua');
        this.cert = path.join(dir, 'cert.pem');
        this.key = path.join(dir, 'key.pem');
        fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
        fs.mkdirSync(path.join(dir, 'certs'), { recursive: true });
        const r = spawnSync(
            'openssl',
            ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
             '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-keyout', this.key, '-out', this.cert],
            { timeout: 20000, encoding: 'utf8' }
        );
        if (r.status !== 0) {
            throw new Error(`openssl: ${r.status} ${r.stderr}`);
        }
        fs.writeFileSync(
            this.cfg,
            `-- throwaway config written by selftest.mjs
pidfile = "${dir}/prosody.pid"
data_path = "${dir}/data"
certificates = "${dir}/certs"
run_as_root = true
log = { { levels = { min = "info" }, to = "file", filename = "${dir}/prosody.log" } }
interfaces = { "127.0.0.1" }
c2s_ports = { ${port} }
c2s_direct_tls_ports = { }
legacy_ssl_ports = { }
s2s_ports = { }
http_ports = { }
https_ports = { }
modules_enabled = { "roster", "saslauth", "tls", "disco", "ping", "presence" }
modules_disabled = { "s2s", "offline" }
c2s_require_encryption = true
authentication = "internal_hashed"
storage = "internal"
VirtualHost "localhost"
ssl = { certificate = "${this.cert}", key = "${this.key}" }
`
        );
    }
    register(user, password) {
        const r = spawnSync('prosodyctl', ['--config', this.cfg, 'register', user, 'localhost', password], {
            timeout: 20000,
            encoding: 'utf8'
        });
        if (r.status !== 0) {
            throw new Error(`prosodyctl register ${user}: ${r.status} ${r.stderr}`);
        }
    }
    async start() {
        this.proc = spawn('prosody', ['--config', this.cfg, '-F'], { stdio: ['ignore', 'ignore', 'pipe'] });
        this.proc.stderr.on('data', d => fs.appendFileSync(path.join(this.dir, 'prosody.stderr'), d));
        await waitPort(this.port, 10000);
    }
    async stop() {
        if (!this.proc || this.proc.exitCode !== null) {
            return;
        }
        const exited = new Promise(r => this.proc.once('exit', r));
        this.proc.kill('SIGTERM');
        const t = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
    }
}

// Peer runs peer.mjs and collects its JSON events.
class Peer {
    constructor(name, args, logDir) {
        this.name = name;
        this.events = [];
        this.waiters = [];
        this.proc = spawn(process.execPath, [peerScript, ...args, ...(logXML ? ['--log-xml'] : [])], {
            stdio: ['ignore', 'pipe', 'pipe']
        });
        const log = fs.createWriteStream(path.join(logDir, `${name}.jsonl`));
        this.proc.stderr.on('data', d => fs.appendFileSync(path.join(logDir, `${name}.stderr`), d));
        readline.createInterface({ input: this.proc.stdout }).on('line', line => {
            log.write(line + '\n');
            let ev;
            try {
                ev = JSON.parse(line);
            } catch {
                return;
            }
            this.events.push(ev);
            this.waiters = this.waiters.filter(w => !w(ev));
        });
        this.exited = new Promise(resolve => this.proc.on('exit', code => resolve(code)));
    }
    waitFor(pred, ms, what) {
        const found = this.events.find(pred);
        if (found) {
            return Promise.resolve(found);
        }
        return new Promise((resolve, reject) => {
            const t = setTimeout(() => reject(new Error(`${this.name}: no ${what} within ${ms} ms`)), ms);
            this.waiters.push(ev => {
                if (pred(ev)) {
                    clearTimeout(t);
                    resolve(ev);
                    return true;
                }
                return false;
            });
        });
    }
    async wait(ms) {
        const t = setTimeout(() => this.proc.kill('SIGTERM'), ms);
        const code = await this.exited;
        clearTimeout(t);
        return code;
    }
    find(name) {
        return this.events.filter(e => e.event === name);
    }
}

function near(got, want, tol) {
    return typeof got === 'number' && Math.abs(got - want) <= tol;
}

async function callScenario(server, dir) {
    console.log('# call: alice (440 Hz) calls bob (660 Hz), bob rings then answers, alice hangs up after 3 s');
    const bob = new Peer(
        'call-bob',
        ['bob@localhost', 'bobpw', ...server, 'answer', '--freq', '660', '--ring', '--answer-delay', '0.5', '--once', '--duration', '30'],
        dir
    );
    await bob.waitFor(e => e.event === 'ready', 15000, 'ready');
    const alice = new Peer(
        'call-alice',
        ['alice@localhost', 'alicepw', ...server, 'call', 'bob@localhost/stanzajs', '--freq', '440', '--hangup-after', '3', '--duration', '30'],
        dir
    );
    const [ca, cb] = await Promise.all([alice.wait(40000), bob.wait(40000)]);
    check('call: alice exits 0', ca === 0, `code ${ca}`);
    check('call: bob exits 0', cb === 0, `code ${cb}`);
    check('call: bob got session-initiate with opus', bob.find('session-initiate').some(e => e.kind === 'media' && e.codecs.some(c => /opus/.test(c))));
    check('call: alice got session-accept', alice.find('accepted').length === 1);
    check('call: alice heard <ringing/>', alice.find('ringing').length === 1);
    for (const [p, want] of [
        [alice, 660],
        [bob, 440]
    ]) {
        check(`call: ${p.name} ICE connected`, p.find('ice-connected').length === 1);
        const ended = p.find('ended')[0];
        check(`call: ${p.name} ended with success`, ended && ended.reason === 'success', JSON.stringify(ended));
        const s = ended && ended.stats;
        check(`call: ${p.name} received RTP`, s && s.inbound.packets > 0, JSON.stringify(s && s.inbound));
        check(`call: ${p.name} sent RTP`, s && s.outbound.packets > 0, JSON.stringify(s && s.outbound));
        check(`call: ${p.name} hears ${want} Hz`, s && s.tone && near(s.tone.freq, want, 5), JSON.stringify(s && s.tone));
        check(`call: ${p.name} pair on loopback`, s && s.pair && /^(127\.|::1:)/.test(s.pair.local) && /^(127\.|::1:)/.test(s.pair.remote), JSON.stringify(s && s.pair));
    }
}

async function declineScenario(server, dir) {
    console.log('# decline: bob declines alice\'s call');
    const bob = new Peer('decline-bob', ['bob@localhost', 'bobpw', ...server, 'answer', '--decline', '--once', '--duration', '30'], dir);
    await bob.waitFor(e => e.event === 'ready', 15000, 'ready');
    const alice = new Peer('decline-alice', ['alice@localhost', 'alicepw', ...server, 'call', 'bob@localhost/stanzajs', '--duration', '30'], dir);
    const [ca, cb] = await Promise.all([alice.wait(40000), bob.wait(40000)]);
    check('decline: both exit 0', ca === 0 && cb === 0, `codes ${ca} ${cb}`);
    const ended = alice.find('ended')[0];
    check('decline: alice ended with decline', ended && ended.reason === 'decline', JSON.stringify(ended));
}

async function fileScenario(server, dir) {
    console.log('# file: alice sends 1 MiB to bob over dtls-sctp');
    const src = path.join(dir, 'payload-1MiB.bin');
    const data = randomBytes(1 << 20);
    fs.writeFileSync(src, data);
    const want = createHash('sha256').update(data).digest('hex');
    const recvDir = path.join(dir, 'received');
    const bob = new Peer('file-bob', ['bob@localhost', 'bobpw', ...server, 'receive-file', recvDir, '--once', '--duration', '30'], dir);
    await bob.waitFor(e => e.event === 'ready', 15000, 'ready');
    const alice = new Peer('file-alice', ['alice@localhost', 'alicepw', ...server, 'send-file', 'bob@localhost/stanzajs', src, '--duration', '30'], dir);
    const [ca, cb] = await Promise.all([alice.wait(40000), bob.wait(40000)]);
    check('file: alice exits 0', ca === 0, `code ${ca}`);
    check('file: bob exits 0', cb === 0, `code ${cb}`);
    const offer = bob.find('session-initiate')[0];
    check('file: bob got a file offer of 1 MiB', offer && offer.kind === 'file' && offer.file.size === 1 << 20, JSON.stringify(offer));
    check('file: alice sent the data', alice.find('file-sent').length === 1);
    const got = bob.find('file-received')[0];
    check('file: bob received it, sha-256 matches', got && got.sha256 === want, JSON.stringify(got));
    check('file: saved copy matches', got && fs.existsSync(got.path) && createHash('sha256').update(fs.readFileSync(got.path)).digest('hex') === want);
    for (const p of [alice, bob]) {
        const ended = p.find('ended')[0];
        check(`file: ${p.name} ended with success`, ended && ended.reason === 'success', JSON.stringify(ended));
    }
}

async function main() {
    if (!onlyLoopback()) {
        console.error('selftest.mjs: this namespace has non-loopback interfaces; run it as ./netns-run.sh node selftest.mjs');
        process.exit(2);
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stanzajs-selftest-'));
    const port = await freePort();
    const prosody = new Prosody(dir, port);
    try {
        prosody.register('alice', 'alicepw');
        prosody.register('bob', 'bobpw');
        await prosody.start();
        // Each peer gets: the server address and the CA to verify it by.
        const server = [`127.0.0.1:${port}`, '--ca', prosody.cert];
        await callScenario(server, dir);
        await declineScenario(server, dir);
        await fileScenario(server, dir);
    } catch (err) {
        check('scenario ran', false, err.message);
    } finally {
        await prosody.stop();
        if (keep || failed > 0) {
            console.log(`# logs kept in ${dir}`);
        } else {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }
    console.log(`${passed} passed, ${failed} failed`);
    process.exit(failed > 0 ? 1 : 0);
}

main();
