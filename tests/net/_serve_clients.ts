// The clients of the serve() tests on real loopback sockets: node:dgram, node:net and WebSocket
// clients that parse what comes back, the requests they send, and bounded waits.
import assert from "node:assert/strict";
import dgram from "node:dgram";
import net from "node:net";
import type { ServeOptions, SipServer } from "../../src/net/serve.ts";
import { parseMessage } from "../../src/sip/parse.ts";
import { SipParseError } from "../../src/sip/errors.ts";
import { StreamFramer } from "../../src/sip/framer.ts";
import type { SipResponse } from "../../src/sip/message.ts";
import { detectRuntime } from "../../src/net/runtime/detect.ts";
import { sleep, within } from "../_wait.ts";

export const runtime = (await detectRuntime()).name;
export const encoder = new TextEncoder();
export const decoder = new TextDecoder();
/** How long any wait for network data may take before the test fails. */
export const TIMEOUT = 2000;
export const HOSTS = ["127.0.0.1", "::1"] as const;

export const OFFER = "v=0\r\no=alice 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\n" +
  "m=audio 49170 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n";

/** Polls `check` until it returns a value other than undefined; fails after TIMEOUT ms. */
export async function until<T>(what: string, check: () => T | undefined): Promise<T> {
  const deadline = Date.now() + TIMEOUT;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${TIMEOUT} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** `server.close()`, bounded. */
export function stop(server: SipServer): Promise<void> {
  return within(server.close(), "server.close()");
}

/** `host:port`, with brackets around an IPv6 address. */
export function hostport(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A queue of received items; `next()` waits (bounded) for the first one matching. */
export class Inbox<T> {
  readonly items: T[] = [];
  #waiters: (() => void)[] = [];

  push(item: T): void {
    this.items.push(item);
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Takes the first item that matches, waiting for it at most `ms` (TIMEOUT by default). */
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

/** A request of the tests (also of the edge tests, through _edge_peers.ts). */
export interface RequestSpec {
  method: string;
  /** The server's host and port, for the Request-URI and To. */
  server: { host: string; port: number };
  /** Via transport (`UDP`, `TCP`, `WS`). */
  transport: string;
  /** The Via sent-by. */
  sentBy: string;
  rport?: boolean;
  /** Via parameters after the branch and `;rport` (`;maddr=...`). */
  viaParams?: string;
  branch: string;
  callId: string;
  cseq?: number;
  toTag?: string;
  user?: string;
  /** The Request-URI (default `sip:USER@HOST:PORT` of the server). */
  uri?: string;
  /** The To URI (default the Request-URI). */
  to?: string;
  body?: string;
  contact?: string;
  /** Header lines (without CRLF) put before Content-Length. */
  extra?: string[];
  /** Leave Content-Length out (a stream cannot frame the message then). */
  noContentLength?: boolean;
}

export function request(r: RequestSpec): string {
  const body = r.body ?? "";
  const user = r.user ?? "echo";
  const target = r.uri ?? `sip:${user}@${hostport(r.server.host, r.server.port)}`;
  const lines = [
    `${r.method} ${target} SIP/2.0`,
    `Via: SIP/2.0/${r.transport} ${r.sentBy};branch=${r.branch}${r.rport ? ";rport" : ""}${r.viaParams ?? ""}`,
    "Max-Forwards: 70",
    "From: <sip:alice@example.com>;tag=alice1",
    `To: <${r.to ?? target}>${r.toTag === undefined ? "" : `;tag=${r.toTag}`}`,
    `Call-ID: ${r.callId}`,
    `CSeq: ${r.cseq ?? 1} ${r.method}`,
    ...(r.contact === undefined ? [] : [`Contact: ${r.contact}`]),
    ...(body === "" ? [] : ["Content-Type: application/sdp"]),
    ...(r.extra ?? []),
    ...(r.noContentLength ? [] : [`Content-Length: ${encoder.encode(body).length}`]),
  ];
  return lines.join("\r\n") + "\r\n\r\n" + body;
}

/** Parses a response; one whose headers the parser refuses (a 400 echoing a bad Via) as far as it was read. */
export function response(bytes: Uint8Array | string): SipResponse {
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
export function line(r: SipResponse): string {
  return `${r.status} ${r.cseq.method}`;
}

/** A response to the request of this CSeq method (skips retransmissions of other responses). */
export function forMethod(method: string): (r: SipResponse) => boolean {
  return (r) => r.cseq.method === method;
}

/** A node:dgram client bound to an ephemeral port of `host`. */
export class UdpClient {
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

/**
 * A node:net client: framed responses, the raw text received, and when the server closes. Over
 * TLS (a `TLSSocket` is a `net.Socket`), `TlsClient` in _tls.ts.
 */
export class TcpClient {
  readonly inbox = new Inbox<SipResponse>();
  readonly socket: net.Socket;
  raw = "";
  readonly closed: Promise<void>;
  #framer = new StreamFramer();
  readonly #label: string;

  protected constructor(socket: net.Socket, label = "TCP") {
    this.socket = socket;
    this.#label = label;
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
      `a ${this.#label} write`,
    );
  }

  next(what: string, match?: (r: SipResponse) => boolean): Promise<SipResponse> {
    return this.inbox.next(`${what} over ${this.#label}`, match);
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
export class WsClient {
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

export function listenOn(host: string, ...transports: ("udp" | "tcp" | "ws")[]): ServeOptions["listen"] {
  return transports.map((transport) => ({ transport, hostname: host, port: 0 }));
}

export function portOf(server: SipServer, transport: "udp" | "tcp" | "ws"): number {
  const a = server.addresses.find((x) => x.transport === transport);
  assert.ok(a !== undefined, `the server listens on ${transport}`);
  return a.port;
}

/** Resolves with the error of a TCP connection attempt (ECONNREFUSED once nothing listens). */
export function connectError(host: string, port: number): Promise<string> {
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
export async function udpPortIsFree(host: string, port: number): Promise<boolean> {
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
export function assertInviteOk(ok: SipResponse, host: string, contact: string): void {
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
