// The peers of the edge tests: node:dgram and node:net clients bound to loopback addresses of
// their own (the server on 127.0.0.1, the attacker on 127.0.0.2, the well-behaved client on
// 127.0.0.3), counting what they send and receive, the requests they send, and bounded waits.
import assert from "node:assert/strict";
import dgram from "node:dgram";
import net from "node:net";
import { serve, type ServeOptions, type SipServer } from "../../src/net/serve.ts";
import { parseMessage } from "../../src/sip/parse.ts";
import { SipParseError } from "../../src/sip/errors.ts";
import { StreamFramer } from "../../src/sip/framer.ts";
import type { SipMessage, SipRequest, SipResponse } from "../../src/sip/message.ts";
import { sleep, within } from "../_wait.ts";
import {
  encoder,
  Inbox,
  listenOn as listenOnHost,
  OFFER,
  portOf,
  request as serveRequest,
  type RequestSpec,
  stop,
} from "./_serve_clients.ts";

export { decoder, encoder, OFFER, portOf, runtime, stop } from "./_serve_clients.ts";
/** How long any wait for one expected network event may take before the test fails, ms. */
const TIMEOUT = 3000;
/** Where the server listens. */
export const SERVER = "127.0.0.1";
/** The attacker's address. */
export const ATTACKER = "127.0.0.2";
/** The well-behaved client's address. */
export const GOOD = "127.0.0.3";

// ---------------------------------------------------------------------------------------------
// Helpers

/** The listen option of serve() on SERVER, a system-picked port for each transport. */
export function listenOn(...transports: ("udp" | "tcp" | "ws")[]): ServeOptions["listen"] {
  return listenOnHost(SERVER, ...transports);
}

/**
 * The request builder of _serve_clients.ts aimed at SERVER:`port`, its Via over UDP with `;rport`
 * unless `transport` or `viaParams` (then without `;rport`) say otherwise.
 */
export function request(
  r: Omit<RequestSpec, "server" | "transport" | "rport" | "noContentLength"> & { port: number; transport?: string },
): string {
  const { port, transport = "UDP", ...rest } = r;
  return serveRequest({ ...rest, server: { host: SERVER, port }, transport, rport: r.viaParams === undefined });
}

/** Parses a message; one whose headers the parser refuses as far as it was read; undefined for garbage. */
export function parse(bytes: Uint8Array): SipMessage | undefined {
  try {
    return parseMessage(bytes);
  } catch (e) {
    if (e instanceof SipParseError) return e.partial;
    throw e;
  }
}

export function isResponse(m: SipMessage): m is SipResponse {
  return m.type === "response";
}

/** A response of this status to a request of this method. */
export function reply(status: number, method: string): (m: SipMessage) => boolean {
  return (m) => isResponse(m) && m.status === status && m.cseq.method === method;
}

/** A final response to a request of this method. */
export function final(method: string): (m: SipMessage) => boolean {
  return (m) => isResponse(m) && m.status >= 200 && m.cseq.method === method;
}

/** `200 INVITE`: status and CSeq method of a response, for messages in assertions. */
export function line(m: SipMessage): string {
  return isResponse(m) ? `${m.status} ${m.cseq.method}` : `${(m as SipRequest).method} request`;
}

/** A node:dgram socket bound to an ephemeral port of a loopback address, counting bytes both ways. */
export class UdpPeer {
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
    return this.inbox.next(`${what} over UDP at ${this.host}`, match, ms ?? TIMEOUT);
  }

  close(): void {
    try {
      this.socket.close();
    } catch { /* already closed */ }
  }
}

/** A node:net client bound to a loopback address: framed messages, raw bytes, and when the server closes. */
export class TcpPeer {
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
    return this.inbox.next(`${what} over TCP`, match, ms ?? TIMEOUT);
  }

  /** Waits (bounded) until the server closes the connection. */
  serverClose(what: string, ms = TIMEOUT): Promise<void> {
    return within(this.closed, what, ms);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A serve() listening over UDP on SERVER, its port, and UDP peers opened on their own addresses. */
export interface UdpEdge {
  server: SipServer;
  port: number;
  /** The peers, in the order of their addresses. */
  peers: UdpPeer[];
  /** Closes the peers, then the server (bounded). */
  close(): Promise<void>;
}

/** Starts serve() over UDP on SERVER with `options`, then opens a UDP peer at each of `hosts`. */
export async function udpEdge(options: Omit<ServeOptions, "listen">, ...hosts: string[]): Promise<UdpEdge> {
  const server = await serve({ ...options, listen: listenOn("udp") });
  const peers: UdpPeer[] = [];
  for (const host of hosts) peers.push(await UdpPeer.open(host));
  const close = async () => {
    for (const p of peers) p.close();
    await stop(server);
  };
  return { server, port: portOf(server, "udp"), peers, close };
}

/** Waits until `condition()` holds, checking every 10 ms, for at most `ms`. */
export async function until(what: string, condition: () => boolean, ms = TIMEOUT): Promise<void> {
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
export class Steady {
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
export async function udpCall(
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
export async function udpOptions(client: UdpPeer, port: number, id: string, ms?: number): Promise<void> {
  await client.send(
    request({ method: "OPTIONS", port, sentBy: client.sentBy, branch: `z9hG4bK-${id}`, callId: id }),
    port,
  );
  const ok = await client.next(`200 to OPTIONS ${id}`, (m) => isResponse(m) && m.callId === id, ms);
  assert.equal(line(ok), "200 OPTIONS");
}

/** One OPTIONS over TCP on a connection, answered 200 within TIMEOUT. */
export async function tcpOptions(client: TcpPeer, port: number, id: string): Promise<void> {
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
