// serve() on real loopback sockets (127.0.0.1 and [::1]): UDP, TCP and WebSocket, the same
// tests on Deno and on Bun. Every port is picked by the system (port 0); every wait for
// network data gives up after TIMEOUT ms; every socket is closed in a finally block.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import net from "node:net";
import { serve, type ServeOptions, type SipServer, type TrafficEntry } from "../../src/net/serve.ts";
import { parseMessage } from "../../src/sip/parse.ts";
import { parseRules } from "../../src/rules/rules.ts";
import { SipParseError } from "../../src/sip/errors.ts";
import { StreamFramer } from "../../src/sip/framer.ts";
import type { SipRequest, SipResponse } from "../../src/sip/message.ts";
import type { PeerEvent } from "../../src/ua/peer.ts";
import { detectRuntime } from "../../src/net/runtime/detect.ts";
import type { RuntimeNet } from "../../src/net/transport.ts";
import { sleep, within } from "../_wait.ts";
import { runToExit } from "../_process.ts";

const runtime = (await detectRuntime()).name;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** How long any wait for network data may take before the test fails. */
const TIMEOUT = 2000;
const HOSTS = ["127.0.0.1", "::1"] as const;

const OFFER = "v=0\r\no=alice 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\n" +
  "m=audio 49170 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n";

// ---------------------------------------------------------------------------------------------
// Helpers

/** Polls `check` until it returns a value other than undefined; fails after TIMEOUT ms. */
async function until<T>(what: string, check: () => T | undefined): Promise<T> {
  const deadline = Date.now() + TIMEOUT;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${TIMEOUT} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** `server.close()`, bounded. */
function stop(server: SipServer): Promise<void> {
  return within(server.close(), "server.close()");
}

/** `host:port`, with brackets around an IPv6 address. */
function hostport(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A queue of received items; `next()` waits (bounded) for the first one matching. */
class Inbox<T> {
  readonly items: T[] = [];
  #waiters: (() => void)[] = [];

  push(item: T): void {
    this.items.push(item);
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Takes the first item that matches, waiting for it at most TIMEOUT ms. */
  async next(what: string, match: (item: T) => boolean = () => true): Promise<T> {
    const deadline = Date.now() + TIMEOUT;
    for (;;) {
      const i = this.items.findIndex(match);
      if (i >= 0) return this.items.splice(i, 1)[0];
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${TIMEOUT} ms waiting for ${what}`);
      await within(new Promise<void>((resolve) => this.#waiters.push(resolve)), what, left).catch(() => {});
    }
  }
}

interface RequestSpec {
  method: string;
  /** The server's host and port, for the Request-URI and To. */
  server: { host: string; port: number };
  /** Via transport (`UDP`, `TCP`, `WS`). */
  transport: string;
  /** The Via sent-by. */
  sentBy: string;
  rport?: boolean;
  branch: string;
  callId: string;
  cseq?: number;
  toTag?: string;
  user?: string;
  body?: string;
  contact?: string;
  /** Leave Content-Length out (a stream cannot frame the message then). */
  noContentLength?: boolean;
}

function request(r: RequestSpec): string {
  const body = r.body ?? "";
  const user = r.user ?? "echo";
  const target = `sip:${user}@${hostport(r.server.host, r.server.port)}`;
  const lines = [
    `${r.method} ${target} SIP/2.0`,
    `Via: SIP/2.0/${r.transport} ${r.sentBy};branch=${r.branch}${r.rport ? ";rport" : ""}`,
    "Max-Forwards: 70",
    "From: <sip:alice@example.com>;tag=alice1",
    `To: <${target}>${r.toTag === undefined ? "" : `;tag=${r.toTag}`}`,
    `Call-ID: ${r.callId}`,
    `CSeq: ${r.cseq ?? 1} ${r.method}`,
    ...(r.contact === undefined ? [] : [`Contact: ${r.contact}`]),
    ...(body === "" ? [] : ["Content-Type: application/sdp"]),
    ...(r.noContentLength ? [] : [`Content-Length: ${encoder.encode(body).length}`]),
  ];
  return lines.join("\r\n") + "\r\n\r\n" + body;
}

/** Parses a response; one whose headers the parser refuses (a 400 echoing a bad Via) as far as it was read. */
function response(bytes: Uint8Array | string): SipResponse {
  let m;
  try {
    m = parseMessage(typeof bytes === "string" ? encoder.encode(bytes) : bytes);
  } catch (e) {
    if (!(e instanceof SipParseError) || e.partial === undefined) throw e;
    m = e.partial;
  }
  assert.equal(m.type, "response", "expected a response");
  return m as SipResponse;
}

/** `100 CSeq-method` of a response, for compact order checks. */
function line(r: SipResponse): string {
  return `${r.status} ${r.cseq.method}`;
}

/** A response to the request of this CSeq method (skips retransmissions of other responses). */
function forMethod(method: string): (r: SipResponse) => boolean {
  return (r) => r.cseq.method === method;
}

/** A node:dgram client bound to an ephemeral port of `host`. */
class UdpClient {
  readonly inbox = new Inbox<SipResponse>();
  readonly host: string;
  readonly socket: dgram.Socket;

  private constructor(host: string) {
    this.host = host;
    this.socket = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
    this.socket.on("message", (data) => this.inbox.push(response(new Uint8Array(data))));
  }

  static async open(host: string): Promise<UdpClient> {
    const c = new UdpClient(host);
    await within(new Promise<void>((resolve) => c.socket.bind(0, host, resolve)), `a UDP bind on ${host}`);
    return c;
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** Sends one datagram; awaited, so that datagrams leave in order (Deno reorders sends started together). */
  send(text: string, port: number): Promise<void> {
    return within(
      new Promise<void>((resolve, reject) =>
        this.socket.send(encoder.encode(text), port, this.host, (e) => e ? reject(e) : resolve())
      ),
      "a UDP send",
    );
  }

  next(what: string, match?: (r: SipResponse) => boolean): Promise<SipResponse> {
    return this.inbox.next(`${what} over UDP`, match);
  }

  close(): void {
    try {
      this.socket.close();
    } catch { /* already closed */ }
  }
}

/** A node:net client: framed responses, the raw text received, and when the server closes. */
class TcpClient {
  readonly inbox = new Inbox<SipResponse>();
  readonly socket: net.Socket;
  raw = "";
  readonly closed: Promise<void>;
  #framer = new StreamFramer();

  private constructor(socket: net.Socket) {
    this.socket = socket;
    const closed = Promise.withResolvers<void>();
    this.closed = closed.promise;
    socket.on("close", () => closed.resolve());
    socket.on("error", () => {});
    socket.on("data", (d: Uint8Array) => {
      this.raw += decoder.decode(d);
      for (const ev of this.#framer.push(new Uint8Array(d))) {
        if (ev.type === "message") this.inbox.push(response(ev.bytes));
      }
    });
  }

  static async connect(host: string, port: number): Promise<TcpClient> {
    const socket = net.connect({ host, port, noDelay: true });
    const c = new TcpClient(socket);
    await within(
      new Promise<void>((resolve, reject) => {
        socket.once("connect", resolve);
        socket.once("error", reject);
      }),
      `a TCP connection to ${hostport(host, port)}`,
    );
    return c;
  }

  get port(): number {
    return this.socket.localPort ?? 0;
  }

  write(data: string | Uint8Array): Promise<void> {
    return within(
      new Promise<void>((resolve, reject) => this.socket.write(data, (e) => e ? reject(e) : resolve())),
      "a TCP write",
    );
  }

  next(what: string, match?: (r: SipResponse) => boolean): Promise<SipResponse> {
    return this.inbox.next(`${what} over TCP`, match);
  }

  /** Waits until the server closes the connection. */
  serverClose(what: string): Promise<void> {
    return within(this.closed, what);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A WebSocket client offering the `sip` subprotocol (RFC 7118 §4). */
class WsClient {
  readonly inbox = new Inbox<SipResponse>();
  readonly ws: WebSocket;
  readonly closed: Promise<void>;
  /** The close code the server sent, once closed. */
  code: number | undefined;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    const closed = Promise.withResolvers<void>();
    this.closed = closed.promise;
    ws.binaryType = "arraybuffer";
    ws.addEventListener("close", (e) => {
      this.code = (e as CloseEvent).code;
      closed.resolve();
    });
    ws.addEventListener("message", (e) => {
      const data = e.data;
      this.inbox.push(response(typeof data === "string" ? data : new Uint8Array(data as ArrayBuffer)));
    });
  }

  static async connect(url: string): Promise<WsClient> {
    const c = new WsClient(new WebSocket(url, ["sip"]));
    try {
      await within(
        new Promise<void>((resolve, reject) => {
          c.ws.addEventListener("open", () => resolve());
          c.ws.addEventListener("error", () => reject(new Error(`WebSocket ${url} failed`)));
        }),
        `a WebSocket connection to ${url}`,
      );
    } catch (e) {
      c.close();
      throw e;
    }
    return c;
  }

  send(text: string): void {
    this.ws.send(text);
  }

  next(what: string, match?: (r: SipResponse) => boolean): Promise<SipResponse> {
    return this.inbox.next(`${what} over WebSocket`, match);
  }

  /** Closes and waits (bounded) for the close handshake, so that nothing stays open. */
  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close();
    await within(this.closed, "the WebSocket close").catch(() => {});
  }
}

function listenOn(host: string, ...transports: ("udp" | "tcp" | "ws")[]): ServeOptions["listen"] {
  return transports.map((transport) => ({ transport, hostname: host, port: 0 }));
}

function portOf(server: SipServer, transport: "udp" | "tcp" | "ws"): number {
  const a = server.addresses.find((x) => x.transport === transport);
  assert.ok(a !== undefined, `the server listens on ${transport}`);
  return a.port;
}

/** Resolves with the error of a TCP connection attempt (ECONNREFUSED once nothing listens). */
function connectError(host: string, port: number): Promise<string> {
  return within(
    new Promise<string>((resolve) => {
      const socket = net.connect({ host, port });
      socket.once("connect", () => {
        socket.destroy();
        resolve("connected");
      });
      socket.once("error", (e: NodeJS.ErrnoException) => {
        socket.destroy();
        resolve(e.code ?? String(e));
      });
    }),
    `a TCP connection attempt to ${hostport(host, port)}`,
  );
}

/** Binds a UDP socket to `port` and closes it: succeeds only when nothing else holds the port. */
async function udpPortIsFree(host: string, port: number): Promise<boolean> {
  const socket = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
  try {
    return await within(
      new Promise<boolean>((resolve) => {
        socket.once("error", () => resolve(false));
        socket.bind(port, host, () => resolve(true));
      }),
      `a UDP bind on ${hostport(host, port)}`,
    );
  } finally {
    try {
      socket.close();
    } catch { /* not bound */ }
  }
}

/** The checks every 200 to an INVITE must pass: Contact, and an SDP answer at the server's address. */
function assertInviteOk(ok: SipResponse, host: string, contact: string): void {
  assert.equal(line(ok), "200 INVITE");
  assert.equal(ok.reason, "OK");
  assert.equal(ok.headers.get("Contact"), contact);
  assert.equal(ok.headers.get("Content-Type"), "application/sdp");
  const sdp = ok.bodyText;
  assert.equal(ok.contentLength, ok.body.length);
  assert.match(sdp, /^v=0\r\n/);
  assert.ok(sdp.includes(`\r\nc=IN ${host.includes(":") ? "IP6" : "IP4"} ${host}\r\n`), sdp);
  assert.ok(sdp.includes("\r\nm=audio 4000 RTP/AVP 0 101\r\n"), sdp);
}

// ---------------------------------------------------------------------------------------------

describe(`serve() on ${runtime}`, () => {
  for (const host of HOSTS) {
    test(`serve() answers OPTIONS 200 over UDP on ${host}, received/rport filled in`, async () => {
      const server = await serve({ listen: listenOn(host, "udp") });
      const client = await UdpClient.open(host);
      try {
        const port = portOf(server, "udp");
        await client.send(
          request({
            method: "OPTIONS",
            server: { host, port },
            transport: "UDP",
            sentBy: hostport(host, client.port),
            rport: true,
            branch: "z9hG4bK-udp-options",
            callId: `options-${host}`,
          }),
          port,
        );
        const ok = await client.next("200 to OPTIONS");
        assert.equal(ok.status, 200);
        assert.equal(ok.reason, "OK");
        assert.equal(
          ok.headers.get("Via"),
          `SIP/2.0/UDP ${hostport(host, client.port)};branch=z9hG4bK-udp-options;rport=${client.port};received=${host}`,
        );
        assert.equal(ok.callId, `options-${host}`);
        assert.equal(ok.headers.get("CSeq"), "1 OPTIONS");
        assert.match(ok.to.tag ?? "", /^[0-9a-f]{8}$/);
        assert.match(ok.headers.get("Allow") ?? "", /^INVITE, ACK, CANCEL, BYE, OPTIONS/);
      } finally {
        client.close();
        await stop(server);
      }
    });

    test(`serve() runs an INVITE, ACK, BYE call over UDP on ${host}`, async () => {
      const server = await serve({ listen: listenOn(host, "udp") });
      const client = await UdpClient.open(host);
      try {
        const port = portOf(server, "udp");
        const base = {
          server: { host, port },
          transport: "UDP",
          sentBy: hostport(host, client.port),
          rport: true,
          callId: `call-udp-${host}`,
          contact: `<sip:alice@${hostport(host, client.port)}>`,
        };
        await client.send(request({ ...base, method: "INVITE", branch: "z9hG4bK-udp-inv", body: OFFER }), port);
        const trying = await client.next("100 Trying");
        const ringing = await client.next("180 Ringing");
        const ok = await client.next("200 OK to INVITE");
        assert.deepEqual([trying, ringing, ok].map(line), ["100 INVITE", "180 INVITE", "200 INVITE"]);
        assert.equal(trying.reason, "Trying");
        assert.equal(trying.to.tag, undefined);
        assert.equal(ringing.reason, "Ringing");
        const tag = ok.to.tag;
        assert.match(tag ?? "", /^[0-9a-f]{8}$/);
        assert.equal(ringing.to.tag, tag);
        assertInviteOk(ok, host, `<sip:echo@${hostport(host, port)}>`);
        assert.equal(server.peer.dialogs.length, 1);

        await client.send(request({ ...base, method: "ACK", branch: "z9hG4bK-udp-ack", toTag: tag }), port);
        await client.send(request({ ...base, method: "BYE", branch: "z9hG4bK-udp-bye", cseq: 2, toTag: tag }), port);
        const bye = await client.next("200 to BYE", forMethod("BYE"));
        assert.equal(line(bye), "200 BYE");
        assert.equal(bye.to.tag, tag);
        assert.equal(
          bye.headers.get("Via"),
          `SIP/2.0/UDP ${hostport(host, client.port)};branch=z9hG4bK-udp-bye;rport=${client.port};received=${host}`,
        );
        assert.equal(server.peer.dialogs.length, 0);
      } finally {
        client.close();
        await stop(server);
      }
    });

    test(`serve() routes UDP responses by the top Via on ${host} (RFC 3261 §18.2.2, RFC 3581)`, async () => {
      const server = await serve({ listen: listenOn(host, "udp") });
      const a = await UdpClient.open(host);
      const b = await UdpClient.open(host);
      try {
        const port = portOf(server, "udp");
        const base = { method: "OPTIONS", server: { host, port }, transport: "UDP" };
        // Sent from A, sent-by names B's port, no rport: the response goes to the sent-by port.
        await a.send(request({ ...base, sentBy: hostport(host, b.port), branch: "z9hG4bK-r1", callId: "r1" }), port);
        const atB = await b.next("the response at the sent-by port");
        assert.equal(atB.callId, "r1");
        assert.equal(atB.headers.get("Via"), `SIP/2.0/UDP ${hostport(host, b.port)};branch=z9hG4bK-r1`);
        // A got nothing: its first message is the answer to the next request, sent with rport.
        // With rport the response goes back to the source, whatever the sent-by port says.
        await a.send(
          request({ ...base, sentBy: hostport(host, b.port), rport: true, branch: "z9hG4bK-r2", callId: "r2" }),
          port,
        );
        const atA = await a.next("the response at the source port");
        assert.equal(atA.callId, "r2");
        assert.equal(
          atA.headers.get("Via"),
          `SIP/2.0/UDP ${hostport(host, b.port)};branch=z9hG4bK-r2;rport=${a.port};received=${host}`,
        );
        // B got nothing for r2: its next message is the answer to a request it sends itself.
        await b.send(request({ ...base, sentBy: hostport(host, b.port), branch: "z9hG4bK-r3", callId: "r3" }), port);
        assert.equal((await b.next("the response to B's own request")).callId, "r3");
        assert.deepEqual(a.inbox.items, []);
        assert.deepEqual(b.inbox.items, []);
      } finally {
        a.close();
        b.close();
        await stop(server);
      }
    });
  }

  for (const host of HOSTS) {
    test(`the ${runtime} shim's listenDatagram() sends datagrams in the order given on ${host}`, async () => {
      const net = await detectRuntime();
      const endpoint = await net.listenDatagram({ hostname: host, port: 0 }, () => {}, (e) => assert.fail(String(e)));
      const client = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
      const got: string[] = [];
      const all = Promise.withResolvers<void>();
      client.on("message", (d: Uint8Array) => {
        got.push(decoder.decode(d));
        if (got.length === 20) all.resolve();
      });
      try {
        await within(new Promise<void>((resolve) => client.bind(0, host, resolve)), "a UDP bind");
        const to = { address: host, port: client.address().port };
        for (let i = 0; i < 20; i++) endpoint.send(encoder.encode(String(i)), to);
        await within(all.promise, "20 datagrams");
        assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => String(i)));
      } finally {
        client.close();
        endpoint.close();
      }
    });
  }

  for (const host of HOSTS) {
    test(`serve() sends UDP responses in the order the peer made them on ${host}`, async () => {
      // One request, eighteen datagrams made at once: 100, four provisionals and the final, each
      // sent three times (`duplicate`).
      const rules = parseRules(JSON.stringify([{
        match: { user: "burst" },
        provisional: [180, 181, 182, 183].map((status) => ({ status, after: 0 })),
        respond: { status: 486 },
        duplicate: 3,
      }]));
      // The lab profile: no anti-amplification limit for this never-acknowledged burst.
      const server = await serve({ listen: listenOn(host, "udp"), rules, edge: "lab" });
      const client = await UdpClient.open(host);
      try {
        const port = portOf(server, "udp");
        await client.send(
          request({
            method: "INVITE",
            user: "burst",
            server: { host, port },
            transport: "UDP",
            sentBy: hostport(host, client.port),
            branch: "z9hG4bK-burst",
            callId: `burst-${host}`,
            body: OFFER,
          }),
          port,
        );
        const got: string[] = [];
        for (let i = 0; i < 18; i++) got.push(line(await client.next(`response ${i + 1} of 18`)));
        const once = ["100 INVITE", "180 INVITE", "181 INVITE", "182 INVITE", "183 INVITE", "486 INVITE"];
        assert.deepEqual(got, once.flatMap((l) => [l, l, l]));
      } finally {
        client.close();
        await stop(server);
      }
    });
  }

  test("serve() answers 400 to the source when the top Via cannot be read (RFC 3261 §8.2.6)", async () => {
    const events: PeerEvent[] = [];
    const server = await serve({ listen: listenOn("127.0.0.1", "udp"), onEvent: (e) => events.push(e) });
    const client = await UdpClient.open("127.0.0.1");
    try {
      const port = portOf(server, "udp");
      const bad = [
        `127.0.0.1:${client.port};branch=z9hG4bK-bad1;rport=abc`,
        `127.0.0.1:99999;branch=z9hG4bK-bad2`,
      ];
      for (const [i, sentBy] of bad.entries()) {
        await client.send(
          request({
            method: "OPTIONS",
            server: { host: "127.0.0.1", port },
            transport: "UDP",
            sentBy,
            branch: "",
            callId: `bad-via-${i}`,
          }).replace(";branch=\r\n", "\r\n"),
          port,
        );
        const answer = await client.next(`400 to bad Via ${i}`);
        assert.equal(answer.status, 400);
        assert.equal(answer.callId, `bad-via-${i}`);
      }
      assert.deepEqual(events.filter((e) => e.kind === "dropped"), []);
    } finally {
      client.close();
      await stop(server);
    }
  });

  test("serve() answers 513 to a datagram over maxMessageSize (RFC 3261 §21.5.14), 200 to one under it", async () => {
    const server = await serve({ listen: listenOn("127.0.0.1", "udp"), maxMessageSize: 800 });
    const client = await UdpClient.open("127.0.0.1");
    try {
      const port = portOf(server, "udp");
      const options = (id: string, pad: number) =>
        request({
          method: "OPTIONS",
          server: { host: "127.0.0.1", port },
          transport: "UDP",
          sentBy: hostport("127.0.0.1", client.port),
          rport: true,
          branch: `z9hG4bK-${id}`,
          callId: id,
        }).replace("Max-Forwards: 70\r\n", `Max-Forwards: 70\r\nX-Pad: ${"p".repeat(pad)}\r\n`);
      assert.ok(encoder.encode(options("big", 700)).length > 800);
      await client.send(options("big", 700), port);
      const tooBig = await client.next("513");
      assert.equal(tooBig.status, 513);
      assert.equal(tooBig.callId, "big");
      assert.equal(
        tooBig.headers.get("Via"),
        `SIP/2.0/UDP ${hostport("127.0.0.1", client.port)};branch=z9hG4bK-big;rport=${client.port};received=127.0.0.1`,
      );
      await client.send(options("small", 10), port);
      assert.equal(line(await client.next("200")), "200 OPTIONS");
    } finally {
      client.close();
      await stop(server);
    }
  });

  test("serve() keeps answering on UDP after a response went to a closed port", async () => {
    const server = await serve({ listen: listenOn("127.0.0.1", "udp") });
    const a = await UdpClient.open("127.0.0.1");
    const gone = await UdpClient.open("127.0.0.1");
    const goneport = gone.port;
    gone.close();
    try {
      const port = portOf(server, "udp");
      const base = { method: "OPTIONS", server: { host: "127.0.0.1", port }, transport: "UDP" };
      for (let i = 0; i < 3; i++) {
        await a.send(
          request({ ...base, sentBy: `127.0.0.1:${goneport}`, branch: `z9hG4bK-gone${i}`, callId: `gone${i}` }),
          port,
        );
      }
      await a.send(request({ ...base, sentBy: `127.0.0.1:${a.port}`, branch: "z9hG4bK-back", callId: "back" }), port);
      assert.equal((await a.next("the answer after the unreachable ones")).callId, "back");
    } finally {
      a.close();
      await stop(server);
    }
  });

  test("serve() retransmits the INVITE 2xx over UDP until the ACK (RFC 3261 §13.3.1.4)", async () => {
    const traffic: TrafficEntry[] = [];
    const server = await serve({
      listen: listenOn("127.0.0.1", "udp"),
      timers: { T1: 20, T2: 80 },
      onTraffic: (e) => traffic.push(e),
      // Every retransmission, whatever the anti-amplification limit (tested in edge_test.ts).
      edge: "lab",
    });
    const client = await UdpClient.open("127.0.0.1");
    try {
      const port = portOf(server, "udp");
      const base = {
        server: { host: "127.0.0.1", port },
        transport: "UDP",
        sentBy: hostport("127.0.0.1", client.port),
        callId: "retransmit",
      };
      await client.send(request({ ...base, method: "INVITE", branch: "z9hG4bK-rt", body: OFFER }), port);
      const first = [await client.next("100"), await client.next("180"), await client.next("200")];
      assert.deepEqual(first.map(line), ["100 INVITE", "180 INVITE", "200 INVITE"]);
      const ok = first[2];
      const tag = ok.to.tag;
      assert.match(tag ?? "", /^[0-9a-f]{8}$/);
      // Timer G: the same 200 again (same To tag, same headers and SDP), twice at least, before any ACK.
      for (const n of ["first", "second"]) {
        const again = await client.next(`the ${n} 200 retransmission`);
        assert.equal(line(again), "200 INVITE");
        assert.equal(again.to.tag, tag);
        assert.deepEqual(again.headers, ok.headers);
        assert.deepEqual(again.body, ok.body);
      }

      await client.send(request({ ...base, method: "ACK", branch: "z9hG4bK-rt-ack", toTag: tag }), port);
      const ackAt = await until("the ACK to arrive", () => {
        const i = traffic.findIndex((e) => e.direction === "in" && (e.message as SipRequest).method === "ACK");
        return i < 0 ? undefined : i;
      });
      const before = traffic.slice(0, ackAt).filter((e) => e.direction === "out");
      assert.ok(before.length >= 5, `${before.length} responses before the ACK`);
      for (const e of before.slice(2)) assert.equal((e.message as SipResponse).to.tag, tag);
      // Eight T2 intervals after the ACK: not one more 200 (nor anything else) was sent.
      await sleep(8 * 80);
      const after = traffic.slice(ackAt + 1).filter((e) => e.direction === "out");
      assert.deepEqual(after.map((e) => (e.message as SipResponse).status), []);
      assert.equal(server.peer.dialogs[0]?.acked, true);
    } finally {
      client.close();
      await stop(server);
    }
  });

  for (const host of HOSTS) {
    test(`serve() answers an INVITE split across many TCP writes on the same connection on ${host}`, async () => {
      const server = await serve({ listen: listenOn(host, "tcp") });
      const client = await TcpClient.connect(host, portOf(server, "tcp"));
      try {
        const port = portOf(server, "tcp");
        const base = {
          server: { host, port },
          transport: "TCP",
          sentBy: hostport(host, client.port),
          callId: `call-tcp-${host}`,
          contact: `<sip:alice@${hostport(host, client.port)};transport=tcp>`,
        };
        const invite = encoder.encode(request({ ...base, method: "INVITE", branch: "z9hG4bK-tcp-inv", body: OFFER }));
        // 7-byte writes, each waiting for the previous one to be handed to the kernel.
        for (let i = 0; i < invite.length; i += 7) await client.write(invite.subarray(i, i + 7));
        const got = [await client.next("100"), await client.next("180"), await client.next("200")];
        assert.deepEqual(got.map(line), ["100 INVITE", "180 INVITE", "200 INVITE"]);
        const tag = got[2].to.tag;
        assert.equal(got[1].to.tag, tag);
        assert.equal(
          got[2].headers.get("Via"),
          `SIP/2.0/TCP ${hostport(host, client.port)};branch=z9hG4bK-tcp-inv`,
        );
        assertInviteOk(got[2], host, `<sip:echo@${hostport(host, port)};transport=tcp>`);
        await client.write(
          request({ ...base, method: "ACK", branch: "z9hG4bK-tcp-ack", toTag: tag }) +
            request({ ...base, method: "BYE", branch: "z9hG4bK-tcp-bye", cseq: 2, toTag: tag }),
        );
        const bye = await client.next("200 to BYE");
        assert.equal(line(bye), "200 BYE");
        assert.equal(bye.to.tag, tag);
      } finally {
        client.close();
        await stop(server);
      }
    });
  }

  test("serve() answers two messages sent in one TCP write, in order", async () => {
    const server = await serve({ listen: listenOn("127.0.0.1", "tcp") });
    const port = portOf(server, "tcp");
    const client = await TcpClient.connect("127.0.0.1", port);
    try {
      const base = {
        method: "OPTIONS",
        server: { host: "127.0.0.1", port },
        transport: "TCP",
        sentBy: hostport("127.0.0.1", client.port),
      };
      await client.write(
        request({ ...base, branch: "z9hG4bK-two-1", callId: "two-1" }) +
          request({ ...base, branch: "z9hG4bK-two-2", callId: "two-2", cseq: 2 }),
      );
      const first = await client.next("the first 200");
      const second = await client.next("the second 200");
      assert.deepEqual([first, second].map((r) => `${r.status} ${r.callId} ${r.headers.get("CSeq")}`), [
        "200 two-1 1 OPTIONS",
        "200 two-2 2 OPTIONS",
      ]);
    } finally {
      client.close();
      await stop(server);
    }
  });

  test("serve() answers an RFC 5626 double-CRLF ping with a single CRLF pong over TCP", async () => {
    const server = await serve({ listen: listenOn("127.0.0.1", "tcp") });
    const port = portOf(server, "tcp");
    const client = await TcpClient.connect("127.0.0.1", port);
    try {
      await client.write("\r\n\r\n");
      await until("the CRLF pong", () => client.raw.length >= 2 || undefined);
      // Then an OPTIONS: the stream is the pong, then the 200, nothing in between.
      await client.write(request({
        method: "OPTIONS",
        server: { host: "127.0.0.1", port },
        transport: "TCP",
        sentBy: hostport("127.0.0.1", client.port),
        branch: "z9hG4bK-after-ping",
        callId: "after-ping",
      }));
      const ok = await client.next("200 after the pong");
      assert.equal(ok.callId, "after-ping");
      assert.ok(client.raw.startsWith("\r\nSIP/2.0 200 OK\r\n"), JSON.stringify(client.raw.slice(0, 40)));
    } finally {
      client.close();
      await stop(server);
    }
  });

  const garbage: [string, (port: number) => string | Uint8Array, ServeOptions?][] = [
    ["a message without Content-Length", (port) =>
      request({
        method: "OPTIONS",
        server: { host: "127.0.0.1", port },
        transport: "TCP",
        sentBy: "127.0.0.1:9",
        branch: "z9hG4bK-no-cl",
        callId: "no-cl",
        noContentLength: true,
      })],
    ["a Content-Length that is not a number", () => "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: many\r\n\r\n"],
    ["binary bytes up to an empty line", () => new Uint8Array([0, 1, 2, 0xff, 0xfe, 13, 10, 13, 10])],
    ["bytes with no end of header over maxMessageSize", () => "x".repeat(3000), { maxMessageSize: 1000 }],
  ];
  for (const [what, bytes, options] of garbage) {
    test(`serve() closes a TCP connection that sends ${what}, and keeps the others`, async () => {
      const events: PeerEvent[] = [];
      const server = await serve({ ...options, listen: listenOn("127.0.0.1", "tcp"), onEvent: (e) => events.push(e) });
      const port = portOf(server, "tcp");
      const good = await TcpClient.connect("127.0.0.1", port);
      const bad = await TcpClient.connect("127.0.0.1", port);
      try {
        await bad.write(bytes(port));
        await bad.serverClose("the server to close the bad connection");
        assert.deepEqual(bad.inbox.items, []);
        assert.equal(events.filter((e) => e.kind === "parse-error").length, 1);
        assert.match(events.find((e) => e.kind === "parse-error")!.message, /^closing the tcp connection: /);
        await good.write(request({
          method: "OPTIONS",
          server: { host: "127.0.0.1", port },
          transport: "TCP",
          sentBy: hostport("127.0.0.1", good.port),
          branch: "z9hG4bK-good",
          callId: "good",
        }));
        assert.equal(line(await good.next("200 on the good connection")), "200 OPTIONS");
      } finally {
        good.close();
        bad.close();
        await stop(server);
      }
    });
  }

  test("serve() makes room in a full connection table: the oldest idle connection of the busiest source goes, TCP and WebSocket together", async () => {
    const events: PeerEvent[] = [];
    const server = await serve({
      listen: listenOn("127.0.0.1", "tcp", "ws"),
      connections: { maxConnections: 1 },
      onEvent: (e) => events.push(e),
    });
    const port = portOf(server, "tcp");
    const first = await TcpClient.connect("127.0.0.1", port);
    let second: TcpClient | undefined;
    let third: WsClient | undefined;
    const options = (c: TcpClient, id: string) =>
      request({
        method: "OPTIONS",
        server: { host: "127.0.0.1", port },
        transport: "TCP",
        sentBy: hostport("127.0.0.1", c.port),
        branch: `z9hG4bK-${id}`,
        callId: id,
      });
    try {
      // The first is accepted and counted before the second connects.
      await first.write(options(first, "max-1"));
      assert.equal(line(await first.next("200 on the first connection")), "200 OPTIONS");
      // A newcomer gets in: the table is full, so the first (the only one) is closed for it.
      second = await TcpClient.connect("127.0.0.1", port);
      await first.serverClose("the server to close the first connection");
      await second.write(options(second, "max-2"));
      assert.equal((await second.next("200 on the second connection")).callId, "max-2");
      // WebSocket connections count in the same table.
      third = await WsClient.connect(`ws://127.0.0.1:${portOf(server, "ws")}/`);
      await second.serverClose("the server to close the second connection");
      const why = "connection table full (1): closing the oldest idle connection of 127.0.0.1 (1 open)";
      assert.deepEqual(events.map((e) => [e.kind, e.message, e.remote?.transport]), [
        ["limit", `${why} for a new tcp connection from 127.0.0.1`, "tcp"],
        ["limit", `${why} for a new ws connection from 127.0.0.1`, "tcp"],
      ]);
    } finally {
      first.close();
      second?.close();
      await third?.close();
      await stop(server);
    }
  });

  test("serve() closes a TCP connection idle for connections.idleTimeout", async () => {
    const events: PeerEvent[] = [];
    const server = await serve({
      listen: listenOn("127.0.0.1", "tcp"),
      connections: { idleTimeout: 100 },
      onEvent: (e) => events.push(e),
    });
    const client = await TcpClient.connect("127.0.0.1", portOf(server, "tcp"));
    try {
      await client.serverClose("the server to close the idle connection");
      assert.deepEqual(events.map((e) => [e.kind, e.message]), [
        ["dropped", "closing the tcp connection: idle for 100 ms (idleTimeout)"],
      ]);
    } finally {
      client.close();
      await stop(server);
    }
  });

  test("serve() never closes a connection for idleness with connections.idleTimeout: Infinity", async () => {
    const server = await serve({ listen: listenOn("127.0.0.1", "tcp"), connections: { idleTimeout: Infinity } });
    const port = portOf(server, "tcp");
    const client = await TcpClient.connect("127.0.0.1", port);
    try {
      await sleep(50);
      await client.write(request({
        method: "OPTIONS",
        server: { host: "127.0.0.1", port },
        transport: "TCP",
        sentBy: hostport("127.0.0.1", client.port),
        branch: "z9hG4bK-no-idle",
        callId: "no-idle",
      }));
      assert.equal(line(await client.next("200 on a connection without idle timeout")), "200 OPTIONS");
    } finally {
      client.close();
      await stop(server);
    }
  });

  for (const host of HOSTS) {
    test(`serve() answers SIP over WebSocket (RFC 7118) on ${host}`, async () => {
      const server = await serve({ listen: listenOn(host, "ws") });
      const port = portOf(server, "ws");
      const client = await WsClient.connect(`ws://${hostport(host, port)}/`);
      try {
        assert.equal(client.ws.protocol, "sip");
        const base = {
          server: { host, port },
          transport: "WS",
          sentBy: "df7jal23ls0d.invalid",
          contact: "<sip:alice@df7jal23ls0d.invalid;transport=ws>",
        };
        client.send(request({ ...base, method: "OPTIONS", branch: "z9hG4bK-ws-opt", callId: "ws-options" }));
        const ok = await client.next("200 to OPTIONS");
        assert.equal(line(ok), "200 OPTIONS");
        assert.equal(ok.headers.get("Via"), `SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK-ws-opt;received=${host}`);

        const call = { ...base, callId: "ws-call" };
        client.send(request({ ...call, method: "INVITE", branch: "z9hG4bK-ws-inv", body: OFFER }));
        const got = [await client.next("100"), await client.next("180"), await client.next("200")];
        assert.deepEqual(got.map(line), ["100 INVITE", "180 INVITE", "200 INVITE"]);
        assertInviteOk(got[2], host, `<sip:echo@${hostport(host, port)};transport=ws>`);
        const tag = got[2].to.tag;
        client.send(request({ ...call, method: "ACK", branch: "z9hG4bK-ws-ack", toTag: tag }));
        client.send(request({ ...call, method: "BYE", branch: "z9hG4bK-ws-bye", cseq: 2, toTag: tag }));
        assert.equal(line(await client.next("200 to BYE")), "200 BYE");
      } finally {
        await client.close();
        await stop(server);
      }
    });
  }

  test("serve() closes a WebSocket connection with 1009 on a message over maxMessageSize (RFC 6455 §7.4.1)", async () => {
    const events: PeerEvent[] = [];
    const server = await serve({
      listen: listenOn("127.0.0.1", "ws"),
      maxMessageSize: 800,
      onEvent: (e) => events.push(e),
    });
    const port = portOf(server, "ws");
    const client = await WsClient.connect(`ws://127.0.0.1:${port}/`);
    try {
      const options = (id: string, pad: number) =>
        request({
          method: "OPTIONS",
          server: { host: "127.0.0.1", port },
          transport: "WS",
          sentBy: "df7jal23ls0d.invalid",
          branch: `z9hG4bK-${id}`,
          callId: id,
        }).replace("Max-Forwards: 70\r\n", `Max-Forwards: 70\r\nX-Pad: ${"p".repeat(pad)}\r\n`);
      client.send(options("ws-small", 10));
      assert.equal((await client.next("200")).status, 200);
      // Refused from the frame header, before its payload is kept.
      client.send(options("ws-big", 700));
      await within(client.closed, "the server to close the connection");
      assert.equal(client.code, 1009);
      assert.match(events.map((e) => e.message).join("\n"), /closing the ws connection: close 1009/);
    } finally {
      await client.close();
      await stop(server);
    }
  });

  test("serve() refuses a WebSocket handshake without the sip subprotocol (RFC 7118 §4)", async () => {
    const server = await serve({ listen: listenOn("127.0.0.1", "ws") });
    try {
      const res = await within(fetch(`http://127.0.0.1:${portOf(server, "ws")}/`), "the HTTP answer");
      assert.equal(res.status, 426);
      await res.body?.cancel();
    } finally {
      await stop(server);
    }
  });

  test("server.uri() and server.addresses name every bound address", async () => {
    const server = await serve({
      listen: [
        { transport: "udp", hostname: "127.0.0.1", port: 0 },
        { transport: "tcp", hostname: "[::1]", port: 0 },
        { transport: "ws", hostname: "127.0.0.1", port: 0 },
      ],
    });
    try {
      const [udp, tcp, ws] = server.addresses.map((a) => a.port);
      assert.deepEqual(server.addresses, [
        { transport: "udp", address: "127.0.0.1", port: udp },
        { transport: "tcp", address: "::1", port: tcp },
        { transport: "ws", address: "127.0.0.1", port: ws },
      ]);
      for (const p of [udp, tcp, ws]) assert.ok(p > 0 && p < 65536);
      assert.equal(server.uri(), `sip:127.0.0.1:${udp}`);
      assert.equal(server.uri("echo"), `sip:echo@127.0.0.1:${udp}`);
      assert.equal(server.uri("echo", "udp"), `sip:echo@127.0.0.1:${udp}`);
      assert.equal(server.uri("echo", "tcp"), `sip:echo@[::1]:${tcp};transport=tcp`);
      assert.equal(server.uri(undefined, "ws"), `sip:127.0.0.1:${ws};transport=ws`);
    } finally {
      await stop(server);
    }
    const udpOnly = await serve({ listen: listenOn("::1", "udp") });
    try {
      assert.equal(udpOnly.uri("bob"), `sip:bob@[::1]:${portOf(udpOnly, "udp")}`);
      assert.throws(() => udpOnly.uri("bob", "tcp"), RangeError);
    } finally {
      await stop(udpOnly);
    }
  });

  test("server.close() closes every socket, is idempotent and resolves server.closed", async () => {
    const server = await serve({ listen: listenOn("127.0.0.1", "udp", "tcp", "ws") });
    const [udp, tcp, ws] = ["udp", "tcp", "ws"].map((t) => portOf(server, t as "udp" | "tcp" | "ws"));
    const client = await TcpClient.connect("127.0.0.1", tcp);
    const wsClient = await WsClient.connect(`ws://127.0.0.1:${ws}/`);
    try {
      let closed = false;
      void server.closed.then(() => closed = true);
      const one = server.close();
      const two = server.close();
      assert.equal(one, two);
      await within(one, "close()");
      await within(server.closed, "server.closed");
      assert.equal(closed, true);
      await within(server.close(), "a third close()");
      // Open connections were closed by the server; the ports no longer answer.
      await client.serverClose("the TCP connection to be closed by close()");
      await within(wsClient.closed, "the WebSocket to be closed by close()");
      assert.equal(await connectError("127.0.0.1", tcp), "ECONNREFUSED");
      assert.equal(await connectError("127.0.0.1", ws), "ECONNREFUSED");
      assert.equal(await udpPortIsFree("127.0.0.1", udp), true);
    } finally {
      client.close();
      await wsClient.close();
      await stop(server);
    }
  });

  for (const transport of ["udp", "tcp", "ws"] as const) {
    test(`serve() rejects when the ${transport} port is taken, and closes what it had opened`, async () => {
      const taken = await serve({ listen: listenOn("127.0.0.1", transport) });
      const opened: string[] = [];
      const closedNow: string[] = [];
      const real = await detectRuntime();
      // The real shim, recording what it opens and closes.
      const recording: RuntimeNet = {
        name: real.name,
        async listenDatagram(o, onData, onError) {
          const e = await real.listenDatagram(o, onData, onError);
          opened.push(`udp ${e.local.port}`);
          return {
            local: e.local,
            send: (d, to) => e.send(d, to),
            close: () => (closedNow.push(`udp ${e.local.port}`), e.close()),
          };
        },
        async listenStream(o, h) {
          const l = await real.listenStream(o, h);
          opened.push(`tcp ${l.local.port}`);
          return { local: l.local, close: () => (closedNow.push(`tcp ${l.local.port}`), l.close()) };
        },
      };
      try {
        const error = await within(
          serve({
            net: recording,
            listen: [...listenOn("127.0.0.1", "udp", "tcp", "ws")!, {
              transport,
              hostname: "127.0.0.1",
              port: portOf(taken, transport),
            }],
          }).then(() => undefined, (e) => e),
          "serve() to fail",
        );
        assert.equal((error as { code?: string } | undefined)?.code, "EADDRINUSE", String(error));
        assert.equal(opened.length, 3);
        assert.deepEqual(closedNow.sort(), opened.sort());
      } finally {
        await stop(taken);
      }
    });
  }

  test("serve() with await using closes the server at the end of the block", async () => {
    let closed: Promise<void>;
    let port: number;
    {
      await using server = await serve({ listen: listenOn("127.0.0.1", "tcp") });
      closed = server.closed;
      port = portOf(server, "tcp");
      assert.equal(await connectError("127.0.0.1", port), "connected");
    }
    await within(closed, "server.closed after the block");
    assert.equal(await connectError("127.0.0.1", port), "ECONNREFUSED");
  });

  test("serve() closes when its signal is aborted, before or after it started", async () => {
    const controller = new AbortController();
    const server = await serve({ listen: listenOn("127.0.0.1", "udp", "tcp"), signal: controller.signal });
    try {
      const udp = portOf(server, "udp");
      const tcp = portOf(server, "tcp");
      assert.equal(await connectError("127.0.0.1", tcp), "connected");
      controller.abort();
      await within(server.closed, "server.closed after abort()");
      assert.equal(await connectError("127.0.0.1", tcp), "ECONNREFUSED");
      assert.equal(await udpPortIsFree("127.0.0.1", udp), true);
    } finally {
      await stop(server);
    }
    const early = await serve({ listen: listenOn("127.0.0.1", "tcp"), signal: AbortSignal.abort() });
    await within(early.closed, "server.closed of a server started with an aborted signal");
    assert.equal(await connectError("127.0.0.1", portOf(early, "tcp")), "ECONNREFUSED");
  });

  test("serve() reports every message in and out to onTraffic, per transport", async () => {
    const traffic: TrafficEntry[] = [];
    const server = await serve({
      listen: listenOn("127.0.0.1", "udp", "tcp", "ws"),
      onTraffic: (e) => traffic.push(e),
    });
    const udp = await UdpClient.open("127.0.0.1");
    let tcp: TcpClient | undefined;
    let ws: WsClient | undefined;
    try {
      const opts = (transport: string, port: number, sentBy: string) =>
        request({
          method: "OPTIONS",
          server: { host: "127.0.0.1", port },
          transport,
          sentBy,
          branch: `z9hG4bK-traffic-${transport}`,
          callId: `traffic-${transport}`,
        });
      const before = Date.now();
      await udp.send(opts("UDP", portOf(server, "udp"), hostport("127.0.0.1", udp.port)), portOf(server, "udp"));
      await udp.next("200");
      tcp = await TcpClient.connect("127.0.0.1", portOf(server, "tcp"));
      await tcp.write(opts("TCP", portOf(server, "tcp"), hostport("127.0.0.1", tcp.port)));
      await tcp.next("200");
      ws = await WsClient.connect(`ws://127.0.0.1:${portOf(server, "ws")}/`);
      ws.send(opts("WS", portOf(server, "ws"), "df7jal23ls0d.invalid"));
      await ws.next("200");

      const summary = traffic.map((e) => {
        const m = e.message;
        return [e.direction, e.transport, m.type === "request" ? m.method : m.status, m.callId];
      });
      assert.deepEqual(summary, [
        ["in", "udp", "OPTIONS", "traffic-UDP"],
        ["out", "udp", 200, "traffic-UDP"],
        ["in", "tcp", "OPTIONS", "traffic-TCP"],
        ["out", "tcp", 200, "traffic-TCP"],
        ["in", "ws", "OPTIONS", "traffic-WS"],
        ["out", "ws", 200, "traffic-WS"],
      ]);
      assert.deepEqual(traffic[0].remote, { address: "127.0.0.1", port: udp.port });
      assert.deepEqual(traffic[1].remote, { address: "127.0.0.1", port: udp.port });
      assert.deepEqual(traffic[2].remote, { address: "127.0.0.1", port: tcp.port });
      assert.deepEqual(traffic[3].remote, { address: "127.0.0.1", port: tcp.port });
      assert.equal(traffic[4].remote.address, "127.0.0.1");
      assert.ok(traffic[4].remote.port > 0);
      assert.deepEqual(traffic[5].remote, traffic[4].remote);
      for (const e of traffic) assert.ok(e.time >= before - 1 && e.time <= Date.now() + 1, `time ${e.time}`);
    } finally {
      udp.close();
      tcp?.close();
      await ws?.close();
      await stop(server);
    }
  });

  // Deno runs the shim twice: with Deno.listenDatagram (--unstable-net) and with its node:dgram
  // fallback (no config, so no unstable flag).
  const variants = runtime === "deno"
    ? [["deno, Deno.listenDatagram", ["run", "-A", "--unstable-net"]], ["deno, node:dgram", [
      "run",
      "-A",
      "--no-config",
    ]]]
    : [["bun", []]];
  for (const [name, flags] of variants as [string, string[]][]) {
    test(`serve() leaves nothing open: a process that served and closed exits by itself (${name})`, async () => {
      const script = new URL("../_serve_exit.ts", import.meta.url).pathname;
      // Generous: this detects a hang (a socket or timer left open), not speed. Under bun test's
      // own 5 s limit per test, so that the failure says what hung.
      const { code, out } = await runToExit(script, flags, runtime === "bun" ? 4_500 : 10_000);
      assert.equal(code, 0, out);
      assert.equal(out, "served udp tcp ws on 127.0.0.1 and ::1, closed\n");
    });
  }
});

test("serve() asks the shim to poll its SIP UDP sockets unless udpPoll is false", async () => {
  const asked: (boolean | undefined)[] = [];
  const recording = {
    name: "recording",
    listenDatagram(options: { hostname: string; port: number; poll?: boolean }) {
      asked.push(options.poll);
      return Promise.resolve({ local: { address: options.hostname, port: 5060 }, send() {}, close() {} });
    },
  } as unknown as RuntimeNet;
  const listen = [{ transport: "udp" as const, hostname: "127.0.0.1", port: 0 }];
  await (await serve({ net: recording, listen })).close();
  await (await serve({ net: recording, listen, udpPoll: false })).close();
  assert.deepEqual(asked, [true, false]);
});

describe("serve() edge profiles", () => {
  test("serve() with the lab profile, alone or with limits of its own, has tables ten times larger", async () => {
    const listen = [{ transport: "udp" as const, hostname: "127.0.0.1", port: 0 }];
    for (const edge of ["lab", { profile: "lab", rate: 500 }] as const) {
      await using server = await serve({ listen, edge });
      assert.equal(server.peer.limits.transactions, 1_000_000);
      assert.equal(server.peer.limits.dialogs, 100_000);
      assert.equal(server.peer.guard?.options.share, 1);
    }
    await using lab = await serve({ listen, edge: { profile: "lab", rate: 500 } });
    assert.equal(lab.peer.guard?.options.rate, 500);
    await using pub = await serve({ listen });
    assert.equal(pub.peer.limits.transactions, 100_000);
    assert.equal(pub.peer.guard?.options.share, 0.1);
  });
});
