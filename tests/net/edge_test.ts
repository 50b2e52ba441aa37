// serve() at the edge (its public limits, the default) on real loopback sockets, driven the way
// an attacker would: spoofed sources, floods, hogs, slow senders, table fills, readers that never
// read, oversized messages and broken WebSocket frames. Each test checks that a second,
// well-behaved client on another source address is still served. Sources differ by loopback
// address (all of 127/8 is local on Linux): the server listens on 127.0.0.1, the attacker sends
// from 127.0.0.2, the well-behaved client from 127.0.0.3. Every port is picked by the system
// (port 0); every wait is bounded; no test asserts a duration, only outcomes within generous
// bounds; every socket is closed in a finally block.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import net from "node:net";
import { serve, type ServeOptions, type SipServer } from "../../src/net/serve.ts";
import { parseMessage } from "../../src/sip/parse.ts";
import { SipParseError } from "../../src/sip/errors.ts";
import { StreamFramer } from "../../src/sip/framer.ts";
import type { SipMessage, SipRequest, SipResponse } from "../../src/sip/message.ts";
import { detectRuntime } from "../../src/net/runtime/detect.ts";
import type { RuntimeNet, StreamHandlers } from "../../src/net/transport.ts";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { spawn } from "node:child_process";
import process from "node:process";
import { sleep, within } from "../_wait.ts";
import { freeBlock } from "../_ports.ts";

const runtime = (await detectRuntime()).name;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** How long any wait for one expected network event may take before the test fails, ms. */
const TIMEOUT = 3000;
/** Where the server listens. */
const SERVER = "127.0.0.1";
/** The attacker's address. */
const ATTACKER = "127.0.0.2";
/** The well-behaved client's address. */
const GOOD = "127.0.0.3";

const OFFER = "v=0\r\no=alice 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\n" +
  "m=audio 49170 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n";

// ---------------------------------------------------------------------------------------------
// Helpers

/** `server.close()`, bounded. */
function stop(server: SipServer): Promise<void> {
  return within(server.close(), "server.close()");
}

function portOf(server: SipServer, transport: "udp" | "tcp" | "ws"): number {
  const a = server.addresses.find((x) => x.transport === transport);
  assert.ok(a !== undefined, `the server listens on ${transport}`);
  return a.port;
}

function listenOn(...transports: ("udp" | "tcp" | "ws")[]): ServeOptions["listen"] {
  return transports.map((transport) => ({ transport, hostname: SERVER, port: 0 }));
}

/** A queue of received items; `next()` waits (bounded) for the first one matching. */
class Inbox<T> {
  readonly items: T[] = [];
  #waiters: (() => void)[] = [];

  push(item: T): void {
    this.items.push(item);
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Takes the first item that matches, waiting for it at most `ms`. */
  async next(what: string, match: (item: T) => boolean = () => true, ms = TIMEOUT): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = this.items.findIndex(match);
      if (i >= 0) return this.items.splice(i, 1)[0];
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      await within(new Promise<void>((resolve) => this.#waiters.push(resolve)), what, left).catch(() => {});
    }
  }
}

interface RequestSpec {
  method: string;
  /** The server's port. */
  port: number;
  /** Via transport (`UDP`, `TCP`). */
  transport?: string;
  /** The Via sent-by. */
  sentBy: string;
  /** Via parameters after the branch (`;rport`, `;maddr=...`); default `;rport`. */
  viaParams?: string;
  branch: string;
  callId: string;
  cseq?: number;
  toTag?: string;
  user?: string;
  /** The Request-URI (default `sip:USER@SERVER:PORT`). */
  uri?: string;
  /** The To URI (default the Request-URI). */
  to?: string;
  body?: string;
  contact?: string;
  /** Header lines (without CRLF) put before Content-Length. */
  extra?: string[];
}

function request(r: RequestSpec): string {
  const body = r.body ?? "";
  const target = r.uri ?? `sip:${r.user ?? "echo"}@${SERVER}:${r.port}`;
  const lines = [
    `${r.method} ${target} SIP/2.0`,
    `Via: SIP/2.0/${r.transport ?? "UDP"} ${r.sentBy};branch=${r.branch}${r.viaParams ?? ";rport"}`,
    "Max-Forwards: 70",
    "From: <sip:alice@example.com>;tag=alice1",
    `To: <${r.to ?? target}>${r.toTag === undefined ? "" : `;tag=${r.toTag}`}`,
    `Call-ID: ${r.callId}`,
    `CSeq: ${r.cseq ?? 1} ${r.method}`,
    ...(r.contact === undefined ? [] : [`Contact: ${r.contact}`]),
    ...(body === "" ? [] : ["Content-Type: application/sdp"]),
    ...(r.extra ?? []),
    `Content-Length: ${encoder.encode(body).length}`,
  ];
  return lines.join("\r\n") + "\r\n\r\n" + body;
}

/** Parses a message; one whose headers the parser refuses as far as it was read; undefined for garbage. */
function parse(bytes: Uint8Array): SipMessage | undefined {
  try {
    return parseMessage(bytes);
  } catch (e) {
    if (e instanceof SipParseError) return e.partial;
    throw e;
  }
}

function isResponse(m: SipMessage): m is SipResponse {
  return m.type === "response";
}

/** A response of this status to a request of this method. */
function reply(status: number, method: string): (m: SipMessage) => boolean {
  return (m) => isResponse(m) && m.status === status && m.cseq.method === method;
}

/** A final response to a request of this method. */
function final(method: string): (m: SipMessage) => boolean {
  return (m) => isResponse(m) && m.status >= 200 && m.cseq.method === method;
}

/** `200 INVITE`: status and CSeq method of a response, for messages in assertions. */
function line(m: SipMessage): string {
  return isResponse(m) ? `${m.status} ${m.cseq.method}` : `${(m as SipRequest).method} request`;
}

/** A node:dgram socket bound to an ephemeral port of a loopback address, counting bytes both ways. */
class UdpPeer {
  readonly inbox = new Inbox<SipMessage>();
  readonly host: string;
  readonly socket: dgram.Socket;
  bytesSent = 0;
  bytesReceived = 0;
  datagrams = 0;

  private constructor(host: string) {
    this.host = host;
    this.socket = dgram.createSocket("udp4");
    this.socket.on("error", () => {});
    this.socket.on("message", (data: Uint8Array) => {
      this.bytesReceived += data.length;
      this.datagrams++;
      const m = parse(new Uint8Array(data));
      if (m !== undefined) this.inbox.push(m);
    });
  }

  static async open(host: string, port = 0): Promise<UdpPeer> {
    const c = new UdpPeer(host);
    await within(new Promise<void>((resolve) => c.socket.bind(port, host, resolve)), `a UDP bind on ${host}`);
    return c;
  }

  get port(): number {
    return this.socket.address().port;
  }

  get sentBy(): string {
    return `${this.host}:${this.port}`;
  }

  /** Sends one datagram to the server; awaited, so that datagrams leave in order. */
  send(data: string | Uint8Array, port: number): Promise<void> {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    this.bytesSent += bytes.length;
    return within(
      new Promise<void>((resolve, reject) => this.socket.send(bytes, port, SERVER, (e) => e ? reject(e) : resolve())),
      "a UDP send",
    );
  }

  next(what: string, match?: (m: SipMessage) => boolean, ms?: number): Promise<SipMessage> {
    return this.inbox.next(`${what} over UDP at ${this.host}`, match, ms);
  }

  close(): void {
    try {
      this.socket.close();
    } catch { /* already closed */ }
  }
}

/** A node:net client bound to a loopback address: framed messages, raw bytes, and when the server closes. */
class TcpPeer {
  readonly inbox = new Inbox<SipMessage>();
  readonly socket: net.Socket;
  raw = new Uint8Array(0);
  rawLength = 0;
  isClosed = false;
  readonly closed: Promise<void>;
  #framer = new StreamFramer();

  private constructor(socket: net.Socket, keepRaw: boolean) {
    this.socket = socket;
    const closed = Promise.withResolvers<void>();
    this.closed = closed.promise;
    socket.on("close", () => {
      this.isClosed = true;
      closed.resolve();
    });
    socket.on("error", () => {});
    socket.on("data", (d: Uint8Array) => {
      const data = new Uint8Array(d);
      this.rawLength += data.length;
      if (keepRaw) {
        const all = new Uint8Array(this.raw.length + data.length);
        all.set(this.raw);
        all.set(data, this.raw.length);
        this.raw = all;
        return;
      }
      for (const ev of this.#framer.push(data)) {
        if (ev.type === "message") {
          const m = parse(ev.bytes);
          if (m !== undefined) this.inbox.push(m);
        }
      }
    });
  }

  /** Connects from `from` to the server; `raw`: keep the bytes, frame nothing (WebSocket). */
  static async connect(from: string, port: number, raw = false): Promise<TcpPeer> {
    const socket = net.connect({ host: SERVER, port, localAddress: from, noDelay: true });
    const c = new TcpPeer(socket, raw);
    await within(
      new Promise<void>((resolve, reject) => {
        socket.once("connect", resolve);
        socket.once("error", reject);
      }),
      `a TCP connection from ${from} to ${SERVER}:${port}`,
    );
    return c;
  }

  get port(): number {
    return this.socket.localPort ?? 0;
  }

  get sentBy(): string {
    return `${this.socket.localAddress}:${this.port}`;
  }

  write(data: string | Uint8Array): Promise<void> {
    return within(
      new Promise<void>((resolve, reject) => this.socket.write(data, (e) => e ? reject(e) : resolve())),
      "a TCP write",
    );
  }

  next(what: string, match?: (m: SipMessage) => boolean, ms?: number): Promise<SipMessage> {
    return this.inbox.next(`${what} over TCP`, match, ms);
  }

  /** Waits (bounded) until the server closes the connection. */
  serverClose(what: string, ms = TIMEOUT): Promise<void> {
    return within(this.closed, what, ms);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Waits until `condition()` holds, checking every 10 ms, for at most `ms`. */
async function until(what: string, condition: () => boolean, ms = TIMEOUT): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

/**
 * A well-behaved UDP source: an OPTIONS every `every` ms until stopped, counting those answered
 * 200 (each has its own Call-ID).
 */
class Steady {
  asked = 0;
  readonly answered = new Set<string>();
  #running = true;
  #loop: Promise<void>;

  constructor(client: UdpPeer, port: number, every: number) {
    client.socket.on("message", (data: Uint8Array) => {
      const m = parse(new Uint8Array(data));
      if (m !== undefined && isResponse(m) && m.status === 200) this.answered.add(m.callId);
    });
    this.#loop = (async () => {
      while (this.#running) {
        const id = `steady-${this.asked++}`;
        await client.send(
          request({ method: "OPTIONS", port, sentBy: client.sentBy, branch: `z9hG4bK-${id}`, callId: id }),
          port,
        );
        await sleep(every);
      }
    })();
  }

  /** Stops sending; waits (bounded) for the answers to what was sent. */
  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
    await until("the last OPTIONS of the steady source to be answered", () => this.answered.size >= this.asked, 1000)
      .catch(() => {});
  }

  /** Stops sending, whatever happens (for finally blocks). */
  async abort(): Promise<void> {
    this.#running = false;
    await this.#loop.catch(() => {});
  }
}

/**
 * A whole call from a UDP client: INVITE, its 200, ACK, then (unless `hangUp` is false) BYE and
 * its 200. Returns the To tag.
 */
async function udpCall(
  client: UdpPeer,
  port: number,
  callId: string,
  options: { user?: string; hangUp?: boolean } = {},
): Promise<string> {
  const base = { port, sentBy: client.sentBy, callId, user: options.user, contact: `<sip:alice@${client.sentBy}>` };
  await client.send(request({ ...base, method: "INVITE", branch: `z9hG4bK-${callId}-inv`, body: OFFER }), port);
  const ok = await client.next(`200 to INVITE ${callId}`, final("INVITE"));
  assert.equal(line(ok), "200 INVITE", `${callId}: ${(ok as SipResponse).reason}`);
  const tag = (ok as SipResponse).to.tag!;
  await client.send(request({ ...base, method: "ACK", branch: `z9hG4bK-${callId}-ack`, toTag: tag }), port);
  if (options.hangUp !== false) {
    await client.send(
      request({ ...base, method: "BYE", branch: `z9hG4bK-${callId}-bye`, cseq: 2, toTag: tag }),
      port,
    );
    assert.equal(line(await client.next(`200 to BYE ${callId}`, final("BYE"))), "200 BYE");
  }
  return tag;
}

/** One OPTIONS over UDP from `client`, answered 200 within TIMEOUT. */
async function udpOptions(client: UdpPeer, port: number, id: string, ms?: number): Promise<void> {
  await client.send(
    request({ method: "OPTIONS", port, sentBy: client.sentBy, branch: `z9hG4bK-${id}`, callId: id }),
    port,
  );
  const ok = await client.next(`200 to OPTIONS ${id}`, (m) => isResponse(m) && m.callId === id, ms);
  assert.equal(line(ok), "200 OPTIONS");
}

/** One OPTIONS over TCP on a connection, answered 200 within TIMEOUT. */
async function tcpOptions(client: TcpPeer, port: number, id: string): Promise<void> {
  await client.write(
    request({
      method: "OPTIONS",
      port,
      transport: "TCP",
      sentBy: client.sentBy,
      branch: `z9hG4bK-${id}`,
      callId: id,
      viaParams: "",
    }),
  );
  const ok = await client.next(`200 to OPTIONS ${id}`, (m) => isResponse(m) && m.callId === id);
  assert.equal(line(ok), "200 OPTIONS");
}

// ---------------------------------------------------------------------------------------------

describe(`serve() at the edge on ${runtime}: edge hardening`, () => {
  for (const [user, timer] of [["echo", "Timer L"], ["busy", "Timer H"]] as const) {
    test(
      `serve() sends a spoofed UDP source that never ACKs an INVITE to ${user}@ at most 3x its bytes until ${timer}, ` +
        "and a call from another source goes through meanwhile",
      { timeout: 15_000 },
      async () => {
        const T1 = 20;
        const server = await serve({ listen: listenOn("udp"), timers: { T1 } });
        const spoofed = await UdpPeer.open(ATTACKER);
        const good = await UdpPeer.open(GOOD);
        try {
          const port = portOf(server, "udp");
          const invite = request({
            method: "INVITE",
            port,
            user,
            sentBy: spoofed.sentBy,
            branch: `z9hG4bK-spoof-${user}`,
            callId: `spoof-${user}`,
            contact: `<sip:alice@${spoofed.sentBy}>`,
            body: OFFER,
          });
          await spoofed.send(invite, port);
          // A whole call from the other source while the spoofed transaction runs.
          await udpCall(good, port, `good-${user}`);
          // Until Timer L (H) has ended the transaction, with a margin: nothing more comes after it.
          await sleep(64 * T1 + 1000);
          const got = spoofed.inbox.items.map(line);
          assert.ok(got.includes(user === "echo" ? "200 INVITE" : "486 INVITE"), `the final response came: ${got}`);
          assert.ok(
            spoofed.bytesReceived <= 3 * spoofed.bytesSent,
            `${spoofed.bytesReceived} bytes received for ${spoofed.bytesSent} sent: ${got.join(", ")}`,
          );
        } finally {
          spoofed.close();
          good.close();
          await stop(server);
        }
      },
    );
  }

  test(
    "serve() retransmits the INVITE 2xx to a validated UDP source beyond 3x its bytes until the ACK",
    { timeout: 15_000 },
    async () => {
      const T1 = 20;
      const server = await serve({ listen: listenOn("udp"), timers: { T1 } });
      const client = await UdpPeer.open(ATTACKER);
      try {
        const port = portOf(server, "udp");
        // A whole call first: its ACK (with our To tag) shows the source receives what we send.
        await udpCall(client, port, "validate");
        const sentBefore = client.bytesSent;
        const invite = request({
          method: "INVITE",
          port,
          sentBy: client.sentBy,
          branch: "z9hG4bK-unacked",
          callId: "unacked",
          contact: `<sip:alice@${client.sentBy}>`,
          body: OFFER,
        });
        let okBytes = 0;
        let oks = 0;
        client.socket.on("message", (data: Uint8Array) => {
          const m = parse(new Uint8Array(data));
          if (m !== undefined && isResponse(m) && m.callId === "unacked" && m.status === 200) {
            okBytes += data.length;
            oks++;
          }
        });
        await client.send(invite, port);
        const sent = client.bytesSent - sentBefore;
        // Timer G: the 200 at 0, 20, 60, 140, 300, 620 and 1260 ms, until Timer L (1280 ms).
        await until(
          `the 200 retransmitted beyond 3x the ${sent} bytes sent (${oks} so far)`,
          () => okBytes > 3 * sent && oks >= 4,
          64 * T1 + 2000,
        );
        // And the ACK stops them.
        const tag = (client.inbox.items.find(reply(200, "INVITE")) as SipResponse).to.tag;
        await client.send(
          request({
            method: "ACK",
            port,
            sentBy: client.sentBy,
            branch: "z9hG4bK-unacked-ack",
            callId: "unacked",
            toTag: tag,
          }),
          port,
        );
        await sleep(300);
        const after = oks;
        await sleep(64 * T1);
        assert.equal(oks, after, "no 200 after the ACK");
        assert.equal(server.peer.dialogs.find((d) => d.callId === "unacked")?.acked, true);
      } finally {
        client.close();
        await stop(server);
      }
    },
  );

  test(
    "serve() answers a UDP source over its rate 503 with Retry-After once, then nothing until its ban ends, " +
      "while another source is answered every time",
    { timeout: 20_000 },
    async () => {
      const ban = 1500;
      const server = await serve({ listen: listenOn("udp"), edge: { rate: 100, burst: 50, ban } });
      const flood = await UdpPeer.open(ATTACKER);
      const good = await UdpPeer.open(GOOD);
      let steady: Steady | undefined;
      try {
        const port = portOf(server, "udp");
        // The well-behaved source: an OPTIONS every 20 ms (50/s, half the rate), throughout.
        steady = new Steady(good, port, 20);
        const options = (i: number) =>
          request({
            method: "OPTIONS",
            port,
            sentBy: flood.sentBy,
            branch: `z9hG4bK-flood-${i}`,
            callId: `flood-${i}`,
          });
        // The flood: as fast as it can until the 503 comes back, then 300 ms more (all dropped).
        let i = 0;
        const refused = (m: SipMessage) => isResponse(m) && m.status === 503;
        const floodStart = Date.now();
        while (!flood.inbox.items.some(refused)) {
          assert.ok(Date.now() - floodStart < 5000, `no 503 after ${i} OPTIONS`);
          await flood.send(options(i++), port);
          // The server runs in this process: it must get its turn, as it would against another process.
          if (i % 20 === 0) await yieldToLoop();
        }
        const refusedAt = Date.now();
        while (Date.now() - refusedAt < 300) {
          await flood.send(options(i++), port);
          if (i % 20 === 0) await yieldToLoop();
        }
        await sleep(200);
        const got = flood.inbox.items.splice(0);
        const at = got.findIndex(refused);
        const refusal = got[at] as SipResponse;
        assert.equal(refusal.reason, "Service Unavailable: too many requests from this source");
        assert.equal(refusal.headers.get("Retry-After"), String(Math.ceil(ban / 1000)));
        // Before it, 200s: the burst and what the rate refilled meanwhile; after it, nothing.
        assert.deepEqual(got.slice(0, at).map(line), got.slice(0, at).map(() => "200 OPTIONS"));
        assert.ok(at <= 50 + 1 + (refusedAt - floodStart) * 100 / 1000, `${at} answered before the 503`);
        assert.deepEqual(got.slice(at + 1).map(line), [], `nothing after the 503 (${i} OPTIONS sent)`);
        // Once the ban is over, the source is answered again.
        await sleep(Math.max(0, refusedAt + ban + 300 - Date.now()));
        await udpOptions(flood, port, "after-ban");
        await steady.stop();
        assert.equal(steady.answered.size, steady.asked);
        assert.ok(steady.asked > 50, `${steady.asked} OPTIONS from the other source`);
      } finally {
        await steady?.abort();
        flood.close();
        good.close();
        await stop(server);
      }
    },
  );

  test(
    "serve() drops a flood of 20,000 random datagrams from one source and answers another source's OPTIONS " +
      "meanwhile and afterwards",
    { timeout: 30_000 },
    async () => {
      const server = await serve({ listen: listenOn("udp") });
      const flood = await UdpPeer.open(ATTACKER);
      const good = await UdpPeer.open(GOOD);
      let steady: Steady | undefined;
      try {
        const port = portOf(server, "udp");
        steady = new Steady(good, port, 10);
        const random = new Uint8Array(1500);
        for (let n = 1; n <= 20_000; n++) {
          crypto.getRandomValues(random);
          const length = 1 + (random[0] | (random[1] << 8)) % random.length;
          await flood.send(random.slice(0, length), port);
          // The server runs in this process: it must get its turn, as it would against another process.
          if (n % 20 === 0) await yieldToLoop();
        }
        await steady.stop();
        assert.ok(steady.asked >= 10, `${steady.asked} OPTIONS from the other source during the flood`);
        assert.ok(
          steady.answered.size >= 0.9 * steady.asked,
          `${steady.answered.size} of ${steady.asked} OPTIONS answered during the flood`,
        );
        // Alive and answering afterwards; the garbage got no answer at all.
        await udpOptions(good, port, "after-flood");
        assert.equal(flood.datagrams, 0);
      } finally {
        await steady?.abort();
        flood.close();
        good.close();
        await stop(server);
      }
    },
  );

  test(
    "serve() keeps a TCP connection hog to its share (2 of 20) and serves 10 connections from another source",
    { timeout: 15_000 },
    async () => {
      const server = await serve({ listen: listenOn("tcp"), connections: { maxConnections: 20 } });
      const port = portOf(server, "tcp");
      const hog: TcpPeer[] = [];
      const good: TcpPeer[] = [];
      try {
        for (let i = 0; i < 40; i++) hog.push(await TcpPeer.connect(ATTACKER, port));
        await until("the server to close 38 of the 40 connections", () => hog.filter((c) => c.isClosed).length >= 38);
        await sleep(200);
        assert.deepEqual(hog.map((c) => c.isClosed), hog.map((_, i) => i >= 2), "the first two stay open");
        for (let i = 0; i < 10; i++) {
          const c = await TcpPeer.connect(GOOD, port);
          good.push(c);
          await tcpOptions(c, port, `good-${i}`);
          // Closed by the client, and the server has seen it (it closes its side): it counts no more.
          c.socket.end();
          await c.serverClose(`the server to close connection ${i} after the client did`);
        }
        assert.equal(hog.filter((c) => !c.isClosed).length, 2);
      } finally {
        for (const c of [...hog, ...good]) c.close();
        await stop(server);
      }
    },
  );

  test(
    "serve() with share 1 keeps a full TCP connection table at 20 by evicting the hog's oldest idle connections, " +
      "and serves 10 connections from another source",
    { timeout: 15_000 },
    async () => {
      const server = await serve({ listen: listenOn("tcp"), connections: { maxConnections: 20 }, edge: { share: 1 } });
      const port = portOf(server, "tcp");
      const hog: TcpPeer[] = [];
      const good: TcpPeer[] = [];
      try {
        for (let i = 0; i < 40; i++) hog.push(await TcpPeer.connect(ATTACKER, port));
        await until("the server to close 20 of the 40 connections", () => hog.filter((c) => c.isClosed).length >= 20);
        await sleep(200);
        assert.deepEqual(hog.map((c) => c.isClosed), hog.map((_, i) => i < 20), "the oldest 20 are closed");
        // The newcomers stay open: each one takes the place of one of the hog's.
        for (let i = 0; i < 10; i++) {
          const c = await TcpPeer.connect(GOOD, port);
          good.push(c);
          await tcpOptions(c, port, `good-${i}`);
        }
        await until("the hog to be down to 10 connections", () => hog.filter((c) => !c.isClosed).length <= 10);
        await sleep(200);
        assert.equal(hog.filter((c) => !c.isClosed).length, 10);
        assert.equal(good.filter((c) => c.isClosed).length, 0);
      } finally {
        for (const c of [...hog, ...good]) c.close();
        await stop(server);
      }
    },
  );

  test(
    "serve() closes slowloris TCP connections (one byte every 100 ms) and a silent one after messageTimeout, " +
      "and answers a TCP client from another source meanwhile",
    { timeout: 15_000 },
    async () => {
      const server = await serve({ listen: listenOn("tcp"), connections: { messageTimeout: 300 } });
      const port = portOf(server, "tcp");
      const slow: TcpPeer[] = [];
      let silent: TcpPeer | undefined;
      let good: TcpPeer | undefined;
      const drips: Promise<void>[] = [];
      try {
        silent = await TcpPeer.connect(ATTACKER, port);
        for (let i = 0; i < 20; i++) {
          const c = await TcpPeer.connect(ATTACKER, port);
          slow.push(c);
          // Half of them start with a whole message (answered): the deadline is then that of the
          // next message, from its first byte, not that of the first message from the opening.
          if (i % 2 === 1) await tcpOptions(c, port, `whole-${i}`);
          const bytes = encoder.encode(
            request({
              method: "OPTIONS",
              port,
              transport: "TCP",
              sentBy: c.sentBy,
              branch: `z9hG4bK-slow-${i}`,
              callId: `slow-${i}`,
              viaParams: "",
            }),
          );
          drips.push((async () => {
            for (let n = 0; n < bytes.length && !c.isClosed; n++) {
              c.socket.write(bytes.subarray(n, n + 1));
              await sleep(100);
            }
          })());
        }
        good = await TcpPeer.connect(GOOD, port);
        await tcpOptions(good, port, "good");
        await until("the server to close the 20 slow connections", () => slow.every((c) => c.isClosed));
        await silent.serverClose("the server to close the silent connection");
        assert.deepEqual(
          slow.map((c) => c.inbox.items.length),
          slow.map(() => 0),
          "no answer to a message sent a byte at a time",
        );
        // Still serving, on a new connection as on the one that was open.
        const again = await TcpPeer.connect(GOOD, port);
        try {
          await tcpOptions(again, port, "good-again");
        } finally {
          again.close();
        }
      } finally {
        for (const c of slow) c.close();
        silent?.close();
        good?.close();
        await Promise.all(drips);
        await stop(server);
      }
    },
  );

  /** Calls (INVITE, 200, ACK, no BYE) from one source until one is refused; the refusal. */
  async function fillCalls(client: UdpPeer, port: number, prefix: string, most: number): Promise<SipResponse[]> {
    const finals: SipResponse[] = [];
    for (let i = 0; i < most; i++) {
      const callId = `${prefix}-${i}`;
      const base = { port, sentBy: client.sentBy, callId, contact: `<sip:alice@${client.sentBy}>` };
      await client.send(request({ ...base, method: "INVITE", branch: `z9hG4bK-${callId}-inv`, body: OFFER }), port);
      const answer = await client.next(`the final response to INVITE ${callId}`, final("INVITE")) as SipResponse;
      finals.push(answer);
      // A 2xx is acknowledged in a transaction of its own, a refusal in the INVITE's (RFC 3261 §17.1.1.3).
      const branch = `z9hG4bK-${callId}-${answer.status === 200 ? "ack" : "inv"}`;
      await client.send(request({ ...base, method: "ACK", branch, toTag: answer.to.tag }), port);
      if (answer.status !== 200) break;
    }
    return finals;
  }

  test(
    "serve() with limits.dialogs 20 refuses a source's 3rd open call 503 (its share is 2) and takes another source's",
    { timeout: 15_000 },
    async () => {
      const server = await serve({ listen: listenOn("udp"), limits: { dialogs: 20 } });
      const attacker = await UdpPeer.open(ATTACKER);
      const good = await UdpPeer.open(GOOD);
      try {
        const port = portOf(server, "udp");
        const finals = await fillCalls(attacker, port, "hold", 10);
        assert.deepEqual(finals.map(line), ["200 INVITE", "200 INVITE", "503 INVITE"]);
        assert.equal(finals[2].reason, "Service Unavailable: too many dialogs from this source");
        assert.ok(finals[2].headers.get("Retry-After") !== undefined, "the 503 says when to retry");
        assert.equal(server.peer.dialogs.length, 2);
        await udpCall(good, port, "good", { hangUp: false });
        assert.equal(server.peer.dialogs.length, 3);
      } finally {
        attacker.close();
        good.close();
        await stop(server);
      }
    },
  );

  test(
    "serve() with limits.bindings 50 refuses a source's 6th binding 503 (its share is 5), 11 contacts for one " +
      "address of record 403, and registers another source",
    { timeout: 15_000 },
    async () => {
      const server = await serve({ listen: listenOn("udp"), limits: { bindings: 50 } });
      const attacker = await UdpPeer.open(ATTACKER);
      const good = await UdpPeer.open(GOOD);
      try {
        const port = portOf(server, "udp");
        const register = (client: UdpPeer, user: string, contacts: number) =>
          client.send(
            request({
              method: "REGISTER",
              port,
              uri: `sip:${SERVER}:${port}`,
              to: `sip:${user}@example.com`,
              sentBy: client.sentBy,
              branch: `z9hG4bK-reg-${user}`,
              callId: `reg-${user}`,
              extra: Array.from({ length: contacts }, (_, i) => `Contact: <sip:${user}-${i}@${client.sentBy}>`),
            }),
            port,
          );
        const statuses: string[] = [];
        for (let i = 0; i < 6; i++) {
          await register(attacker, `a${i}`, 1);
          const r = await attacker.next(`the response to REGISTER ${i}`, final("REGISTER")) as SipResponse;
          statuses.push(`${r.status} ${r.reason}`);
        }
        assert.deepEqual(statuses, [
          ...Array(5).fill("200 OK"),
          "503 Service Unavailable: too many bindings from this source",
        ]);
        await register(attacker, "many", 11);
        const forbidden = await attacker.next("the response to 11 contacts", final("REGISTER")) as SipResponse;
        assert.equal(forbidden.status, 403);
        assert.match(forbidden.reason, /^Forbidden: too many contacts for .* \(at most 10\)$/);
        await register(good, "good", 1);
        assert.equal(line(await good.next("200 to REGISTER", final("REGISTER"))), "200 REGISTER");
        assert.equal(server.peer.bindings().length, 6);
      } finally {
        attacker.close();
        good.close();
        await stop(server);
      }
    },
  );

  test(
    "serve() with 20 RTP streams refuses a source's 3rd call with media 503 (its share is 2) and takes another " +
      "source's",
    { timeout: 15_000 },
    async () => {
      const base = await freeBlock(40);
      const server = await serve({ listen: listenOn("udp"), media: { portRange: [base, base + 39] } });
      const attacker = await UdpPeer.open(ATTACKER);
      const good = await UdpPeer.open(GOOD);
      try {
        assert.equal(server.media?.capacity, 20);
        const port = portOf(server, "udp");
        const finals = await fillCalls(attacker, port, "media", 10);
        assert.deepEqual(finals.map(line), ["200 INVITE", "200 INVITE", "503 INVITE"]);
        assert.equal(finals[2].reason, "Service Unavailable: too many RTP streams from this source");
        await udpCall(good, port, "good-media");
        assert.equal(server.media?.available, 18);
      } finally {
        attacker.close();
        good.close();
        await stop(server);
      }
    },
  );

  test(
    "serve() sends a UDP response to the source, not to a unicast maddr elsewhere (127.0.0.9) nor to a host name " +
      "in maddr",
    { timeout: 15_000 },
    async () => {
      const server = await serve({ listen: listenOn("udp") });
      const client = await UdpPeer.open(ATTACKER);
      // A socket at the address maddr names, on the sent-by port: where the response would go.
      const target = await UdpPeer.open("127.0.0.9", client.port);
      try {
        const port = portOf(server, "udp");
        for (const maddr of ["127.0.0.9", "nonexistent.invalid"]) {
          // No rport: by RFC 3261 §18.2.2 the response would go to maddr at the sent-by port.
          await client.send(
            request({
              method: "OPTIONS",
              port,
              sentBy: client.sentBy,
              viaParams: `;maddr=${maddr}`,
              branch: `z9hG4bK-maddr-${maddr}`,
              callId: `maddr-${maddr}`,
            }),
            port,
          );
          // Promptly: no name is looked up for it.
          const ok = await client.next(`200 to OPTIONS with maddr=${maddr}`, undefined, 1500) as SipResponse;
          assert.equal(line(ok), "200 OPTIONS");
          assert.equal(ok.callId, `maddr-${maddr}`);
        }
        await sleep(300);
        assert.equal(target.datagrams, 0, "nothing went to 127.0.0.9");
      } finally {
        client.close();
        target.close();
        await stop(server);
      }
    },
  );

  test(
    "serve() answers a UDP OPTIONS whose Via values fill a datagram 513 with one Via, and a REGISTER with 2,000 " +
      "Contacts 403, and goes on answering",
    { timeout: 15_000 },
    async () => {
      const server = await serve({ listen: listenOn("udp") });
      const client = await UdpPeer.open(ATTACKER);
      try {
        const port = portOf(server, "udp");
        // As many Via values as fit the largest UDP payload over IPv4, 65,507 bytes (serve() takes
        // messages up to 65,535), 20 to a Via field (a message has at most 256 fields): every
        // response copies them, so none fits a datagram.
        const head = request({
          method: "OPTIONS",
          port,
          sentBy: client.sentBy,
          branch: "z9hG4bK-vias",
          callId: "vias",
        });
        const at = head.indexOf("Max-Forwards:");
        const value = (i: number) => `SIP/2.0/UDP 10.${i >> 8 & 255}.${i & 255}.1;branch=z9hG4bK${i}`;
        const fields: string[][] = [];
        let bytes = encoder.encode(head).length;
        let count = 0;
        for (;;) {
          const v = value(count);
          // A new field costs "Via: " and CRLF, another value in a field ", ".
          const more = count % 20 === 0 ? 7 + v.length : 2 + v.length;
          if (bytes + more > 65_507) break;
          if (count % 20 === 0) fields.push([]);
          fields.at(-1)!.push(v);
          bytes += more;
          count++;
        }
        const options = head.slice(0, at) + fields.map((f) => `Via: ${f.join(", ")}\r\n`).join("") + head.slice(at);
        assert.equal(encoder.encode(options).length, bytes);
        assert.ok(count >= 1500, `${count} Via values fit`);
        await client.send(options, port);
        const tooLarge = await client.next("the answer to an OPTIONS with many Vias") as SipResponse;
        assert.equal(tooLarge.status, 513);
        assert.equal(tooLarge.reason, "Message Too Large: any response would be too large for UDP");
        assert.deepEqual(tooLarge.headers.getAll("Via"), [
          `SIP/2.0/UDP ${client.sentBy};branch=z9hG4bK-vias;rport=${client.port};received=${ATTACKER}`,
        ]);

        // 2,000 Contact values, 100 to a field.
        const contacts = Array.from(
          { length: 20 },
          (_, f) =>
            "Contact: " + Array.from({ length: 100 }, (_, i) => `<sip:c${100 * f + i}@${client.sentBy}>`).join(", "),
        );
        const register = request({
          method: "REGISTER",
          port,
          uri: `sip:${SERVER}:${port}`,
          to: "sip:many@example.com",
          sentBy: client.sentBy,
          branch: "z9hG4bK-contacts",
          callId: "contacts",
          extra: contacts,
        });
        await client.send(register, port);
        const forbidden = await client.next("403 to 2,000 Contacts", undefined, 1500) as SipResponse;
        assert.equal(forbidden.status, 403);
        assert.match(forbidden.reason, /^Forbidden: too many contacts/);
        assert.deepEqual(server.peer.bindings(), []);
        await udpOptions(client, port, "after-big");
      } finally {
        client.close();
        await stop(server);
      }
    },
  );

  test(
    "serve() ends a silent UDP dialog with BYE after timers.dialogIdle and keeps one that sends INFO every 150 ms",
    { timeout: 15_000 },
    async () => {
      const server = await serve({ listen: listenOn("udp"), timers: { dialogIdle: 400 } });
      const silent = await UdpPeer.open(ATTACKER);
      const busy = await UdpPeer.open(GOOD);
      let talking = true;
      let talk: Promise<void> | undefined;
      try {
        const port = portOf(server, "udp");
        const silentTag = await udpCall(silent, port, "silent", { hangUp: false });
        const busyTag = await udpCall(busy, port, "busy", { hangUp: false });
        const base = { port, sentBy: busy.sentBy, callId: "busy", toTag: busyTag };
        let cseq = 1;
        talk = (async () => {
          while (talking) {
            await sleep(150);
            cseq++;
            await busy.send(request({ ...base, method: "INFO", branch: `z9hG4bK-info-${cseq}`, cseq }), port);
            const ok = await busy.next(`200 to INFO ${cseq}`, final("INFO"));
            assert.equal(line(ok), "200 INFO");
          }
        })();
        const bye = await silent.next("a BYE from the server", (m) => m.type === "request", 3000) as SipRequest;
        assert.equal(bye.method, "BYE");
        assert.equal(bye.callId, "silent");
        assert.equal(bye.from.tag, silentTag);
        // Answered 200 (RFC 3261 §15.1.2), with its Via, From, To, Call-ID and CSeq.
        const answer = [
          "SIP/2.0 200 OK",
          ...["Via", "From", "To", "Call-ID", "CSeq"].map((name) => `${name}: ${bye.headers.get(name)}`),
          "Content-Length: 0",
          "",
          "",
        ].join("\r\n");
        await silent.send(answer, port);
        await until("the silent dialog to be gone", () => !server.peer.dialogs.some((d) => d.callId === "silent"));
        // The other dialog: kept for three times dialogIdle while it talks.
        await sleep(1200);
        talking = false;
        await talk;
        assert.deepEqual(busy.inbox.items.filter((m) => m.type === "request").map(line), []);
        assert.ok(server.peer.dialogs.some((d) => d.callId === "busy"), "the talking dialog is kept");
        assert.ok(cseq >= 5, `${cseq - 1} INFOs`);
        // And its BYE is answered as usual.
        await busy.send(request({ ...base, method: "BYE", branch: "z9hG4bK-busy-bye", cseq: ++cseq }), port);
        assert.equal(line(await busy.next("200 to BYE", final("BYE"))), "200 BYE");
        // The BYE the server sent was answered: it is not sent again.
        assert.equal(silent.inbox.items.filter((m) => m.type === "request").length, 0);
      } finally {
        talking = false;
        await talk?.catch(() => {});
        silent.close();
        busy.close();
        await stop(server);
      }
    },
  );

  test(
    "serve() answers a UDP REGISTER with 300 Contact fields (over the 256 header fields a message may have) " +
      "rather than dropping it",
    async () => {
      const server = await serve({ listen: listenOn("udp") });
      const client = await UdpPeer.open(ATTACKER);
      try {
        const port = portOf(server, "udp");
        await client.send(
          request({
            method: "REGISTER",
            port,
            uri: `sip:${SERVER}:${port}`,
            to: "sip:fields@example.com",
            sentBy: client.sentBy,
            branch: "z9hG4bK-fields",
            callId: "fields",
            extra: Array.from({ length: 300 }, (_, i) => `Contact: <sip:c${i}@${client.sentBy}>`),
          }),
          port,
        );
        const answer = await client.next("the answer to 300 Contact fields", final("REGISTER")) as SipResponse;
        assert.deepEqual([answer.status, answer.reason], [400, "Message has more than 256 header fields"]);
      } finally {
        client.close();
        await stop(server);
      }
    },
  );
});

// ---------------------------------------------------------------------------------------------
// WebSocket frames written by hand over node:net (RFC 6455), the same answers on every runtime.

/** A client frame: FIN and `opcode` in the first byte (plus `rsv`), masked unless `masked` is false. */
function frame(opcode: number, payload: Uint8Array, options: { masked?: boolean; rsv?: number } = {}): Uint8Array {
  const masked = options.masked ?? true;
  const head: number[] = [0x80 | (options.rsv ?? 0) | opcode];
  const m = masked ? 0x80 : 0;
  if (payload.length < 126) head.push(m | payload.length);
  else if (payload.length < 65536) head.push(m | 126, payload.length >> 8, payload.length & 255);
  else throw new RangeError("frame(): payload too long for this helper");
  const key = [0x12, 0x34, 0x56, 0x78];
  const body = masked ? payload.map((b, i) => b ^ key[i % 4]) : payload;
  return new Uint8Array([...head, ...(masked ? key : []), ...body]);
}

const WS_KEY = "dGhlIHNhbXBsZSBub25jZQ==";

function upgrade(port: number, fields: string[]): string {
  return [
    "GET / HTTP/1.1",
    `Host: ${SERVER}:${port}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Key: ${WS_KEY}`,
    ...fields,
    "",
    "",
  ].join("\r\n");
}

/** The HTTP response head a raw connection received, and the bytes after it. */
function httpResponse(raw: Uint8Array): { head: string; rest: Uint8Array } | undefined {
  const text = decoder.decode(raw);
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) return undefined;
  // The head is ASCII: its characters are its bytes.
  return { head: text.slice(0, end), rest: raw.subarray(end + 4) };
}

/** The server's frames in `bytes` (unmasked, lengths up to 64 KiB): opcode and payload. */
function serverFrames(bytes: Uint8Array): { opcode: number; payload: Uint8Array }[] {
  const frames: { opcode: number; payload: Uint8Array }[] = [];
  let at = 0;
  while (at + 2 <= bytes.length) {
    assert.equal(bytes[at + 1] & 0x80, 0, "a server frame is not masked (RFC 6455 §5.1)");
    let length = bytes[at + 1] & 0x7f;
    let start = at + 2;
    if (length === 126) {
      length = (bytes[at + 2] << 8) | bytes[at + 3];
      start = at + 4;
    }
    if (start + length > bytes.length) break;
    frames.push({ opcode: bytes[at] & 0x0f, payload: bytes.subarray(start, start + length) });
    at = start + length;
  }
  return frames;
}

/** Opens a WebSocket connection by hand from `from` and completes the handshake. */
async function wsOpen(from: string, port: number): Promise<TcpPeer> {
  const c = await TcpPeer.connect(from, port, true);
  await c.write(upgrade(port, ["Sec-WebSocket-Version: 13", "Sec-WebSocket-Protocol: sip"]));
  await until("the 101 answer", () => httpResponse(c.raw) !== undefined);
  assert.match(httpResponse(c.raw)!.head, /^HTTP\/1\.1 101 /);
  return c;
}

/** An OPTIONS in a masked text frame on a raw WebSocket connection, answered 200 in a text frame. */
async function wsOptions(c: TcpPeer, port: number, id: string): Promise<void> {
  const text = request({
    method: "OPTIONS",
    port,
    transport: "WS",
    sentBy: "ws.invalid",
    viaParams: "",
    branch: `z9hG4bK-${id}`,
    callId: id,
  });
  await c.write(frame(0x1, encoder.encode(text)));
  const answered = () =>
    serverFrames(httpResponse(c.raw)!.rest).find((f) => f.opcode === 0x1 && decoder.decode(f.payload).includes(id));
  await until(`the 200 to OPTIONS ${id} over WebSocket`, () => answered() !== undefined);
  assert.match(decoder.decode(answered()!.payload), /^SIP\/2\.0 200 OK\r\n/);
}

describe(`serve() at the edge on ${runtime}: WebSocket`, () => {
  test("serve() answers a WebSocket handshake offering `SIP, chat` 101 with the subprotocol `SIP`", async () => {
    const server = await serve({ listen: listenOn("ws") });
    const port = portOf(server, "ws");
    const c = await TcpPeer.connect(GOOD, port, true);
    try {
      await c.write(upgrade(port, ["Sec-WebSocket-Version: 13", "Sec-WebSocket-Protocol: SIP, chat"]));
      await until("the answer to the handshake", () => httpResponse(c.raw) !== undefined);
      assert.deepEqual(httpResponse(c.raw)!.head.split("\r\n"), [
        "HTTP/1.1 101 Switching Protocols",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
        "Sec-WebSocket-Protocol: SIP",
      ]);
      await wsOptions(c, port, "ws-sip-chat");
    } finally {
      c.close();
      await stop(server);
    }
  });

  test("serve() refuses a WebSocket handshake of Sec-WebSocket-Version 8 with 426 naming version 13", async () => {
    const server = await serve({ listen: listenOn("ws") });
    const port = portOf(server, "ws");
    const c = await TcpPeer.connect(ATTACKER, port, true);
    let good: TcpPeer | undefined;
    try {
      await c.write(upgrade(port, ["Sec-WebSocket-Version: 8", "Sec-WebSocket-Protocol: sip"]));
      await c.serverClose("the server to close the refused connection");
      const head = httpResponse(c.raw)?.head.split("\r\n") ?? [];
      assert.equal(head[0], "HTTP/1.1 426 Upgrade Required");
      assert.ok(head.includes("Sec-WebSocket-Version: 13"), head.join(" | "));
      assert.ok(head.includes("Upgrade: websocket"), head.join(" | "));
      // RFC 9110 §15.5.22: a 426 names the upgrade in Connection; the connection then closes.
      assert.ok(head.some((h) => /^Connection: (.*, )?close$/i.test(h)), head.join(" | "));
      good = await wsOpen(GOOD, port);
      await wsOptions(good, port, "ws-after-426");
    } finally {
      c.close();
      good?.close();
      await stop(server);
    }
  });

  const bad: [string, () => Uint8Array, number][] = [
    ["an unmasked client frame", () => frame(0x1, encoder.encode("OPTIONS"), { masked: false }), 1002],
    ["a frame of reserved opcode 0x3", () => frame(0x3, encoder.encode("x")), 1002],
    ["a frame with RSV1 set and no extension", () => frame(0x1, encoder.encode("x"), { rsv: 0x40 }), 1002],
    ["a ping of 200 bytes (over 125)", () => frame(0x9, new Uint8Array(200).fill(0x61)), 1002],
    ["a text frame that is not UTF-8", () => frame(0x1, new Uint8Array([0x61, 0xc3, 0x28, 0x62])), 1007],
    [
      "a frame header announcing 16 MiB, without its payload",
      () => new Uint8Array([0x82, 0x80 | 127, 0, 0, 0, 0, 0x01, 0, 0, 0, 0x12, 0x34, 0x56, 0x78]),
      1009,
    ],
  ];
  for (const [what, bytes, code] of bad) {
    test(`serve() closes a WebSocket connection that sends ${what} with ${code}, and serves another`, async () => {
      const server = await serve({ listen: listenOn("ws") });
      const port = portOf(server, "ws");
      const c = await wsOpen(ATTACKER, port);
      let good: TcpPeer | undefined;
      try {
        await c.write(bytes());
        await c.serverClose(`the server to close the connection after ${what}`);
        const frames = serverFrames(httpResponse(c.raw)!.rest);
        assert.deepEqual(frames.map((f) => f.opcode), [0x8], "one close frame, nothing else");
        const payload = frames[0].payload;
        assert.equal((payload[0] << 8) | payload[1], code);
        good = await wsOpen(GOOD, port);
        await wsOptions(good, port, "ws-good");
      } finally {
        c.close();
        good?.close();
        await stop(server);
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Backpressure: one connection must not hang the peer.

/** The runtime's shim, counting the times the server stops reading a connection (backpressure). */
async function pauseCounter(): Promise<{ net: RuntimeNet; pauses: () => number }> {
  const real = await detectRuntime();
  let pauses = 0;
  const net: RuntimeNet = {
    ...real,
    listenStream: (options, handlers: StreamHandlers) =>
      real.listenStream(options, {
        ...handlers,
        open(conn) {
          const pause = conn.pause;
          if (pause !== undefined) {
            conn.pause = () => {
              pauses++;
              pause.call(conn);
            };
          }
          handlers.open(conn);
        },
      }),
  };
  return { net, pauses: () => pauses };
}

/**
 * A UDP OPTIONS from `client` every 100 ms, each answered within 1 s, until `done()` holds (at
 * most `ms`); returns how many.
 */
async function probe(client: UdpPeer, port: number, prefix: string, done: () => boolean, ms: number): Promise<number> {
  const deadline = Date.now() + ms;
  let n = 0;
  while (!done()) {
    assert.ok(Date.now() < deadline, `${prefix}: not done within ${ms} ms`);
    await udpOptions(client, port, `${prefix}-${n++}`, 1000);
    await sleep(100);
  }
  return n;
}

/**
 * Runs tests/_stream_flood.ts in a process of its own: a TCP client from ATTACKER that never
 * reads and writes `mode` for `ms` (`mb` megabytes of keep-alives at once first).
 */
function floodProcess(mode: "pings" | "wspings" | "options", port: number, ms: number, mb: number) {
  const script = new URL("../_stream_flood.ts", import.meta.url).pathname;
  const flags = runtime === "deno" ? ["run", "-A"] : [];
  const child = spawn(process.execPath, [...flags, script, mode, ATTACKER, String(port), String(ms), String(mb)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const writing = Promise.withResolvers<void>();
  const done = Promise.withResolvers<number>();
  let out = "";
  child.stdout.on("data", (d: Uint8Array) => {
    out += decoder.decode(d);
    if (out.includes("writing\n")) writing.resolve();
    const m = /done (\d+)\n/.exec(out);
    if (m !== null) done.resolve(Number(m[1]));
  });
  child.on("exit", (code) => {
    const why = new Error(`the flooding process exited (${code}): ${out}`);
    writing.reject(why);
    done.reject(why);
  });
  // Handled where awaited; not an unhandled rejection when the test fails before.
  writing.promise.catch(() => {});
  done.promise.catch(() => {});
  return {
    writing: writing.promise,
    done: done.promise,
    kill(): void {
      if (child.exitCode === null) child.kill();
    },
  };
}

describe(`serve() at the edge on ${runtime}: backpressure`, () => {
  for (
    const [mode, what] of [
      ["pings", "4 MB of CRLF keep-alives at once and more"],
      ["wspings", "4 MB of WebSocket pings at once and more"],
      ["options", "OPTIONS pipelined (no rate limit)"],
    ] as const
  ) {
    test(
      `serve() answers UDP from another source while a TCP client in another process sends ${what} for 2 s ` +
        `and never reads, ${mode === "wspings" ? "" : "stops reading that client, "}and closes within 2 s with it ` +
        "still connected",
      { timeout: 20_000 },
      async () => {
        const { net: spy, pauses } = await pauseCounter();
        // Keep-alives are not messages: the rate limit does not see them, and each gets a pong.
        // Messages are: past 200 the client would be banned, so the rate limit is lifted for them,
        // to leave backpressure alone to hold the client.
        const edge = mode === "options" ? { rate: Infinity, burst: Infinity } : "public" as const;
        const server = await serve({ listen: listenOn("udp", mode === "wspings" ? "ws" : "tcp"), net: spy, edge });
        const good = await UdpPeer.open(GOOD);
        const hog = floodProcess(mode, server.addresses[1].port, 2000, 4);
        try {
          const port = portOf(server, "udp");
          await within(hog.writing, "the flooding process to connect", 10_000);
          // During: while it writes, an OPTIONS every 100 ms, each answered within 1 s.
          let done = false;
          hog.done.then(() => done = true, () => done = true);
          const during = await probe(good, port, "during", () => done, 10_000);
          const written = await hog.done;
          assert.ok(during >= 1, "OPTIONS answered while the client wrote");
          assert.ok(written >= 4 * 1024 * 1024, `${written} bytes written`);
          // Its answers back up and the server stops reading it. (WebSocket pongs are a third of the
          // pings: the system's buffers may take them all within 2 s.)
          if (mode !== "wspings") assert.ok(pauses() > 0, "the server stopped reading the connection");
          // After: the client still connected, reading nothing.
          await udpOptions(good, port, "after");
          await within(server.close(), "server.close() with the client connected", 2000);
        } finally {
          hog.kill();
          good.close();
          await stop(server);
        }
      },
    );
  }
});
