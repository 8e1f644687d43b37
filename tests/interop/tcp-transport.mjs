// A plain-TCP XMPP transport (RFC 6120 §4) for StanzaJS.
//
// StanzaJS 12 ships only WebSocket (RFC 7395) and BOSH (XEP-0124)
// transports. The Go side of jingled and the Prosody harness speak
// ordinary c2s TCP, so the interop peer plugs this transport into
// client.transports.tcp and connects to the same c2s port as our Go
// endpoint. StanzaJS has no STARTTLS code, so the transport does it
// itself (RFC 6120 §5) when the client config has tls: {ca, servername}:
// it answers the first <stream:features> with <starttls/> and restarts the
// stream over TLS, and StanzaJS only sees the features of the secured
// stream. Without tls it stays in plain text, for test servers that set
// c2s_require_encryption = false. SASL, resource binding and the rest of
// the stream stay StanzaJS's own code.
import net from 'node:net';
import tls from 'node:tls';
import { Duplex } from 'node:stream';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { StreamParser } = require('stanza/jxt');
const { StreamErrorCondition } = require('stanza/Constants');

const NS_CLIENT = 'jabber:client';
const NS_STREAM = 'http://etherx.jabber.org/streams';
const NS_STARTTLS = 'urn:ietf:params:xml:ns:xmpp-tls';

function xmlEscape(s) {
    return String(s)
        .replace(/&/g, '&amp;')
        .replace(/</g, '&lt;')
        .replace(/>/g, '&gt;')
        .replace(/'/g, '&apos;')
        .replace(/"/g, '&quot;');
}

// TCPConnection follows the shape of StanzaJS's transports/websocket.js
// (an object-mode Duplex the client pipes stanzas through), swapping the
// framing for a wrapped <stream:stream> document.
export default class TCPConnection extends Duplex {
    constructor(client, sm, stanzas) {
        super({ objectMode: true });
        this.client = client;
        this.sm = sm;
        this.stanzas = stanzas;
        this.closing = false;
        this.hasStream = false;
        this.on('data', e => {
            this.client.emit('stream:data', e.stanza, e.kind);
        });
        this.on('error', () => {
            this.end();
        });
        this.on('end', () => {
            if (this.client.transport === this) {
                this.client.emit('--transport-disconnected');
            }
        });
    }

    _read() {}

    _write(chunk, encoding, done) {
        if (!this.socket || this.socket.destroyed) {
            return done(new Error('Socket closed'));
        }
        const data = Buffer.from(chunk, 'utf8').toString();
        this.client.emit('raw', 'outgoing', data);
        this.socket.write(data, done);
    }

    // connect takes opts.url of the form tcp://host:port.
    connect(opts) {
        this.config = opts;
        this.hasStream = false;
        this.closing = false;
        const url = new URL(opts.url);
        const host = url.hostname.replace(/^\[|\]$/g, '');
        const port = Number(url.port || 5222);
        this.tls = this.client.config.tls;
        this.secure = false;
        this.awaitingProceed = false;
        this.newParser();
        const socket = net.connect({ host, port });
        socket.setNoDelay(true);
        socket.on('connect', () => {
            this.emit('connect');
            this.sm.started = false;
            this.client.emit('connected');
            this.write(this.startHeader());
        });
        this.attach(socket);
    }

    attach(socket) {
        this.socket = socket;
        socket.on('data', data => {
            if (this.parser && this.socket === socket) {
                this.parser.write(data.toString('utf8'));
            }
        });
        socket.on('close', () => {
            if (this.socket === socket || this.socket === undefined) {
                this.push(null);
            }
        });
        socket.on('error', err => {
            this.client.emit('transport:error', err);
        });
    }

    // startTLS upgrades the connection after <proceed/> and restarts the
    // stream on it (RFC 6120 §5.4.3.3).
    startTLS() {
        const plain = this.socket;
        const secure = tls.connect({
            socket: plain,
            ca: this.tls.ca,
            servername: this.tls.servername || this.config.server,
            minVersion: 'TLSv1.2'
        });
        secure.on('secureConnect', () => {
            this.secure = true;
            this.restart();
        });
        this.attach(secure);
    }

    // negotiateTLS handles the STARTTLS exchange; it returns true when it
    // consumed the element.
    negotiateTLS(e) {
        if (!this.tls || this.secure) {
            return false;
        }
        if (this.awaitingProceed) {
            if (e.xml.name === 'proceed') {
                this.awaitingProceed = false;
                this.startTLS();
            } else {
                this.client.emit('transport:error', new Error(`STARTTLS refused: ${e.xml.toString()}`));
                this.disconnect(false);
            }
            return true;
        }
        if (e.kind === 'features') {
            if (!e.xml.getChild('starttls', NS_STARTTLS)) {
                this.client.emit('transport:error', new Error('server does not offer STARTTLS'));
                this.disconnect(false);
                return true;
            }
            this.awaitingProceed = true;
            this.write(`<starttls xmlns='${NS_STARTTLS}'/>`);
            return true;
        }
        return false;
    }

    newParser() {
        const parser = new StreamParser({
            acceptLanguages: this.config.acceptLanguages,
            allowComments: false,
            lang: this.config.lang,
            registry: this.stanzas,
            rootKey: 'stream',
            wrappedStream: true
        });
        parser.on('data', e => {
            if (parser !== this.parser) {
                return;
            }
            if (e.event === 'stream-start') {
                this.hasStream = true;
                this.stream = e.stanza;
                this.client.emit('raw', 'incoming', e.xml.openTag());
                return this.client.emit('stream:start', e.stanza);
            }
            if (e.event === 'stream-end') {
                this.client.emit('raw', 'incoming', '</stream:stream>');
                this.client.emit('stream:end');
                return this.disconnect();
            }
            this.client.emit('raw', 'incoming', e.xml.toString());
            if (this.negotiateTLS(e)) {
                return;
            }
            this.push({ kind: e.kind, stanza: e.stanza });
        });
        parser.on('error', err => {
            if (parser !== this.parser) {
                return;
            }
            this.client.emit('stream:error', { condition: StreamErrorCondition.InvalidXML }, err);
            this.disconnect(false);
        });
        this.parser = parser;
    }

    disconnect(clean = true) {
        if (this.socket && !this.closing && this.hasStream && clean) {
            this.closing = true;
            this.write(this.closeHeader());
            this.disconnectTimeoutId = setTimeout(() => {
                if (this.socket) {
                    this.disconnect(false);
                }
            }, 1000);
            return;
        }
        clearTimeout(this.disconnectTimeoutId);
        this.hasStream = false;
        this.stream = undefined;
        if (this.socket) {
            const socket = this.socket;
            this.socket = undefined;
            this.end();
            socket.end();
            socket.destroy();
            if (this.client.transport === this) {
                this.client.emit('--transport-disconnected');
            }
        }
    }

    async send(dataOrName, data) {
        let output;
        if (data) {
            output = this.stanzas.export(dataOrName, data)?.toString();
        }
        if (!output) {
            return;
        }
        return new Promise((resolve, reject) => {
            this.write(output, 'utf8', err => (err ? reject(err) : resolve()));
        });
    }

    // restart begins a new stream on the same socket after SASL success
    // (RFC 6120 §6.4.6): a fresh document needs a fresh parser.
    restart() {
        this.hasStream = false;
        this.newParser();
        this.write(this.startHeader());
    }

    startHeader() {
        const to = xmlEscape(this.config.server);
        const lang = xmlEscape(this.config.lang || 'en');
        return (
            `<?xml version='1.0'?><stream:stream xmlns='${NS_CLIENT}' ` +
            `xmlns:stream='${NS_STREAM}' to='${to}' version='1.0' xml:lang='${lang}'>`
        );
    }

    closeHeader() {
        return '</stream:stream>';
    }
}
