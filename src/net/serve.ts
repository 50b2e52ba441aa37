/**
 * `serve()`: the pure {@linkcode SipPeer} on real sockets. This file joins the core to a
 * runtime's socket shim ({@linkcode RuntimeNet}); it holds the wire behaviour that is not in
 * the core: listen addresses, response routing on UDP (RFC 3261 §18.2.2), stream framing and
 * keep-alives on TCP (RFC 3261 §18.3, RFC 5626 §4.4.1), connection limits, the connections
 * `send()` opens (RFC 3261 §18.1.1), the one timer
 * that drives the peer's clock, and with `media` the RTP echo ({@linkcode MediaEcho}) wired to
 * the peer's answers, with the BYE the peer sends when a call's media goes silent.
 *
 * @module
 */

import { type Connection, type ConnectionLimits, ConnectionTable } from "./connections.ts";
import { EDGE_LAB, EDGE_PUBLIC, type EdgeOptions, SourceGuard } from "../ua/guard.ts";
import { type MediaCallStats, MediaEcho } from "../media/echo.ts";
import { describeMedia } from "../media/stats.ts";
import type { SipMessage, SipResponse } from "../sip/message.ts";
import { DEFAULT_MAX_MESSAGE_SIZE } from "../sip/parse.ts";
import {
  type PeerEvent,
  type PeerLimits,
  type PeerOptions,
  type Remote,
  type RtpReleaseReason,
  _heldBack,
  _warning,
  SipPeer,
} from "../ua/peer.ts";
import type { Transport } from "../rules/rules.ts";
import { hasRtcpMux } from "../media/sdp.ts";
import { DEFAULT_TIMERS } from "../ua/transaction.ts";
import {
  type DatagramEndpoint,
  type RuntimeNet,
  type SocketAddress,
  type StreamListener,
  unbracket,
} from "./transport.ts";

export { describeMedia } from "../media/stats.ts";

/**
 * The transports `serve()` can listen on.
 *
 * @example
 * ```ts
 * import { type ListenTransport, parseListenAddress, serve } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const transports: ListenTransport[] = ["udp", "tcp", "ws"];
 * await using server = await serve({ listen: transports.map((t) => parseListenAddress("127.0.0.1:0", t)) });
 * assert.deepEqual(server.addresses.map((a) => a.transport), transports);
 * assert.match(server.uri("echo", "ws"), /^sip:echo@127\.0\.0\.1:\d+;transport=ws$/);
 * ```
 */
export type ListenTransport = "udp" | "tcp" | "ws";

/**
 * One address to listen on.
 *
 * @example
 * ```ts
 * import { type ListenSpec, serve } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const listen: ListenSpec[] = [{ transport: "tcp", hostname: "127.0.0.1", port: 0 }];
 * await using server = await serve({ listen });
 * assert.equal(server.addresses[0].transport, "tcp");
 * assert.ok(server.addresses[0].port > 0); // port 0 picked a free port
 * ```
 */
export interface ListenSpec {
  /** The transport. */
  transport: ListenTransport;
  /** Host or IP to bind, without brackets (`0.0.0.0`, `127.0.0.1`, `::1`). */
  hostname: string;
  /** Port; 0 picks a free one. */
  port: number;
}

/**
 * An address a server is listening on.
 *
 * @example
 * ```ts
 * import { type BoundAddress, serve } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * await using server = await serve({ listen: [{ transport: "udp", hostname: "127.0.0.1", port: 0 }] });
 * const [bound]: readonly BoundAddress[] = server.addresses;
 * assert.equal(bound.transport, "udp");
 * assert.equal(bound.address, "127.0.0.1");
 * assert.equal(server.uri("echo"), `sip:echo@127.0.0.1:${bound.port}`);
 * ```
 */
export interface BoundAddress {
  /** The transport. */
  transport: ListenTransport;
  /** The bound IP, without brackets. */
  address: string;
  /** The bound port. */
  port: number;
}

/**
 * The RTP echo of {@linkcode serve} (see `MediaEchoOptions`): every accepted audio or video
 * stream of a call gets its own port pair, where RTP and RTCP are sent back to their source.
 *
 * @example
 * ```ts
 * import type { ServeMediaOptions } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const media: ServeMediaOptions = { portRange: [20000, 29999], delay: 0, inactivityTimeout: 30_000 };
 * assert.equal(media.portRange![1] - media.portRange![0] + 1, 10_000);
 * ```
 */
export interface ServeMediaOptions {
  /**
   * The RTP ports, both included (default 20000-29999): each stream takes an even port and the
   * odd one after it for RTCP (RFC 3550 §11). When none is left, an INVITE gets 503 with
   * Retry-After.
   */
  portRange?: readonly [number, number];
  /**
   * The address to bind the media sockets to. Default: the first SIP address when it is a
   * specific address and the one advertised, else the wildcard (`0.0.0.0`, or `::` when the
   * advertised address is IPv6).
   */
  hostname?: string;
  /** Hold each echo back this long, ms (default 0). */
  delay?: number;
  /** Most packets held back per socket while `delay` runs (default 1000). */
  maxQueue?: number;
  /**
   * A call that sends no RTP or RTCP for this long is ended by a BYE from the peer, ms
   * (default 30,000); 0: never.
   */
  inactivityTimeout?: number;
  /** Write our own SSRC into the echoes (RFC 3550 §8.1), default false. */
  rewriteSsrc?: boolean;
}

/**
 * The RTP port range of `serve({ media })` and of the command line by default.
 *
 * @example
 * ```ts
 * import { DEFAULT_RTP_PORTS, serve } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(DEFAULT_RTP_PORTS, [20000, 29999]);
 * await using server = await serve({ listen: [{ transport: "udp", hostname: "127.0.0.1", port: 0 }], media: true });
 * assert.equal(server.media?.capacity, 5000); // an even RTP port and the odd RTCP port after it, per stream
 * ```
 */
export const DEFAULT_RTP_PORTS: readonly [number, number] = [20000, 29999];

/**
 * What went in or out, for logs and recorders.
 *
 * @example
 * ```ts
 * import { MockPeer, serve, type TrafficEntry } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const traffic: TrafficEntry[] = [];
 * await using server = await serve({
 *   listen: [{ transport: "udp", hostname: "127.0.0.1", port: 0 }],
 *   onTraffic: (entry) => void traffic.push(entry),
 * });
 * await using client = await MockPeer.start();
 * await client.request({ method: "OPTIONS", uri: server.uri("echo") });
 * assert.deepEqual(traffic.map((e) => `${e.direction} ${e.transport} ${e.remote.address}`), [
 *   "in udp 127.0.0.1",
 *   "out udp 127.0.0.1",
 * ]);
 * assert.equal(traffic[1].message.type === "response" && traffic[1].message.status, 200);
 * ```
 */
export interface TrafficEntry {
  /** Wall-clock time, ms since the epoch. */
  time: number;
  /** `in` for a received message, `out` for a sent one. */
  direction: "in" | "out";
  /** The transport. */
  transport: Transport;
  /** The other side. */
  remote: SocketAddress;
  /** The message. */
  message: SipMessage;
}

/**
 * The edge limits of {@linkcode serve}: a profile (`public` by default, or `lab`), and limits of
 * your own over it.
 *
 * @example
 * ```ts
 * import { type EdgeProfile, serve } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const edge: EdgeProfile = { profile: "lab", rate: 500 }; // the lab's tables, with a rate limit
 * await using server = await serve({ listen: [{ transport: "udp", hostname: "127.0.0.1", port: 0 }], edge });
 * assert.equal(server.peer.guard?.options.rate, 500);
 * ```
 */
export interface EdgeProfile extends Partial<EdgeOptions> {
  /** `public` (the default) or `lab` (see `ServeOptions.edge`). */
  profile?: "public" | "lab";
}

/**
 * Options of {@linkcode serve}: where to listen, plus everything a {@linkcode SipPeer} takes.
 *
 * @example
 * ```ts
 * import { MockPeer, serve, type ServeOptions } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const options: ServeOptions = {
 *   listen: [{ transport: "udp", hostname: "127.0.0.1", port: 0 }],
 *   server: "lab/1.0",
 *   defaultRules: false,
 * };
 * await using server = await serve(options);
 * await using client = await MockPeer.start();
 * const result = await client.request({ method: "OPTIONS", uri: server.uri("echo") });
 * assert.equal(result.response.headers.get("Server"), "lab/1.0");
 * ```
 */
export interface ServeOptions extends Omit<PeerOptions, "address" | "port" | "ports" | "onReceive"> {
  /**
   * Where to listen: specs, or `[HOST:]PORT` strings per transport. Default: UDP and TCP on
   * `0.0.0.0:5060`.
   */
  listen?: ListenSpec[];
  /** The address to put in Contact and SDP (default: the first bound address, or `127.0.0.1` for a wildcard). */
  advertise?: string;
  /**
   * Largest message, bytes (default 65,535): bigger datagrams and WebSocket messages get 513
   * (RFC 3261 §21.5.14), a bigger message on TCP closes the connection (it cannot be skipped).
   */
  maxMessageSize?: number;
  /** Limits on stream connections (see `ConnectionLimits`). */
  connections?: Partial<ConnectionLimits>;
  /**
   * The edge limits (see `SourceGuard`): `"public"` (the default) for a peer on a public
   * address: UDP sources not validated get at most 3x the bytes they send, 100 messages a
   * second per source, a tenth of each table per source, warnings throttled. `"lab"` lifts all
   * of them and makes the tables ten times larger (`limits`, `connections.maxConnections`), for
   * load tests from a known generator. Or limits of your own (the rest public).
   */
  edge?: "public" | "lab" | EdgeProfile;

  /** Closes the server when aborted. */
  signal?: AbortSignal;
  /** The socket shim (default: the one of the running runtime). */
  net?: RuntimeNet;
  /** Called with every message received (parsed) and sent. */
  onTraffic?: (entry: TrafficEntry) => void;
  /**
   * The RTP echo: `true` or options turn it on (then the peer's `rtpPort` and `rtpRelease`
   * are the echo's, and may not be given); absent or `false`: off, and SDP answers carry
   * placeholder ports (or those of `rtpPort`).
   */
  media?: ServeMediaOptions | boolean;
  /**
   * Whether the shim may read the SIP UDP sockets by polling (`ListenOptions.poll`; default
   * true): on Deno on Linux with FFI allowed, a half to a third of the CPU per datagram, for up
   * to a timer tick (about 2 ms) more latency on the way in. False: the runtime's own sockets.
   */
  udpPoll?: boolean;
}

/**
 * A running server, from {@linkcode serve}.
 *
 * @example
 * ```ts
 * import { serve, type SipServer } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const server: SipServer = await serve({ listen: [{ transport: "udp", hostname: "127.0.0.1", port: 0 }] });
 * assert.equal(server.uri("alice"), `sip:alice@127.0.0.1:${server.addresses[0].port}`);
 * assert.equal(server.peer.dialogs.length, 0);
 * assert.equal(server.media, undefined); // no RTP echo unless `media` is given
 * await server.close();
 * await server.closed;
 * ```
 */
export interface SipServer extends AsyncDisposable {
  /** The pure peer behind the sockets: its dialogs, transactions and registrar. */
  readonly peer: SipPeer;
  /** The bound addresses, in the order of `listen`. */
  readonly addresses: readonly BoundAddress[];
  /**
   * The RTP echo, when `media` is on: `media.stats(callId)` gives the counters of a call while
   * it runs (the final ones come in a `media` event), `media.available` the free port pairs.
   */
  readonly media: MediaEcho | undefined;
  /**
   * A SIP URI that reaches the server: `sip:USER@HOST:PORT` on its first address of the
   * transport (default: the first address), with `;transport=tcp` or `ws` where needed.
   */
  uri(user?: string, transport?: ListenTransport): string;
  /**
   * Sends raw bytes (a request of the caller's own, say) from the server's sockets, so that
   * the answers come back to them. On UDP from the first bound socket of the remote's address
   * family, at once (before the promise settles). On TCP or WebSocket on the open connection
   * with `remote` (one it opened or one the server opened before, RFC 3261 §18.1.1), written
   * at once; when there is none, the server opens one (`ws://HOST:PORT/` with the `sip`
   * subprotocol for WebSocket) and writes once it is open; sends to the same remote meanwhile
   * share it, in order. Such a connection counts against `maxConnections`, closes when idle,
   * and what arrives on it is framed and answered like on an accepted one (RFC 3261 §18.2.2:
   * a request that comes on it is answered on it); `close()` closes it. Not reported to
   * `onTraffic`: the caller knows what it sent. Responses to such requests reach `onResponse`.
   *
   * @param data The bytes of one message.
   * @param remote Where to: an IP address, not a host name.
   * @param transport The transport (default `udp`).
   * @returns Resolves once the bytes are handed to the socket.
   * @throws {RangeError} (rejects) If the server does not listen on UDP (for `udp`), or the
   *   connection limit is reached.
   * @throws {Error} (rejects) If the server is closed, or the connection cannot be opened
   *   (refused, unreachable, `connectTimeout`): the message says to where and why.
   *
   * @example
   * ```ts
   * import { serve } from "@sipecho/sipecho";
   * import assert from "node:assert/strict";
   *
   * await using sut = await serve({ listen: [{ transport: "tcp", hostname: "127.0.0.1", port: 0 }] });
   * const port = sut.addresses[0].port;
   * const { promise, resolve } = Promise.withResolvers<number>();
   * await using client = await serve({
   *   listen: [{ transport: "tcp", hostname: "127.0.0.1", port: 0 }],
   *   onResponse: (response) => resolve(response.status),
   * });
   * // No connection to the system under test yet: send() opens one, and the 200 comes back on it.
   * await client.send(
   *   new TextEncoder().encode(
   *     `OPTIONS sip:echo@127.0.0.1:${port};transport=tcp SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bK1\r\n` +
   *       "From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:echo@127.0.0.1>\r\nCall-ID: doc1\r\nCSeq: 1 OPTIONS\r\n" +
   *       "Content-Length: 0\r\n\r\n",
   *   ),
   *   { address: "127.0.0.1", port },
   *   "tcp",
   * );
   * assert.equal(await promise, 200);
   * ```
   */
  send(data: Uint8Array, remote: SocketAddress, transport?: ListenTransport): Promise<void>;
  /** Resolves once the server is closed. */
  readonly closed: Promise<void>;
  /** Stops listening, closes every connection and timer; resolves when all is closed. */
  close(): Promise<void>;
}

/** The `Remote` the peer sees: it comes back unchanged in its outputs. */
interface _Remote extends Remote {
  endpoint?: DatagramEndpoint;
  connection?: Connection;
}

/** A message to send: a response of the peer ({@linkcode Output}) or its BYE ({@linkcode PeerRequest}). */
interface _Outgoing {
  data: Uint8Array;
  remote: Remote;
  /** Where it goes on UDP, as the peer decided (RFC 3261 §18.2.2). */
  readonly to: SocketAddress;
  at?: number;
  readonly message: SipMessage;
}

/** The table sizes of the lab edge profile (`edge: "lab"`), for a load generator. */
const LAB_LIMITS: Partial<PeerLimits> = { transactions: 1_000_000, pending: 100_000, dialogs: 100_000, bindings: 100_000 };
const LAB_CONNECTIONS: Partial<ConnectionLimits> = { maxConnections: 10_000 };
/** setTimeout takes a signed 32-bit delay; a longer one fires at once. */
const MAX_DELAY = 0x7fffffff;

/** A setTimeout delay for `ms` from now: whole, 0 or more, and not over {@linkcode MAX_DELAY}. */
function _delay(ms: number): number {
  return Math.min(Math.max(0, Math.ceil(ms)), MAX_DELAY);
}

/**
 * Parses a listen address: `PORT`, `HOST:PORT`, `[IPv6]:PORT` or `[IPv6]`.
 *
 * @param text The address.
 * @param transport The transport it is for.
 * @param defaultHost Host when none is given (default `0.0.0.0`).
 * @returns The spec.
 * @throws {RangeError} Naming what is wrong.
 *
 * @example
 * ```ts
 * import { parseListenAddress } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseListenAddress("[::1]:5070", "tcp"), { transport: "tcp", hostname: "::1", port: 5070 });
 * assert.deepEqual(parseListenAddress("5060", "udp"), { transport: "udp", hostname: "0.0.0.0", port: 5060 });
 * ```
 */
export function parseListenAddress(text: string, transport: ListenTransport, defaultHost = "0.0.0.0"): ListenSpec {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\[\]\s]+))?(?::?(\d{1,5}))?$/.exec(text.trim());
  const hostOnly = m !== null && m[3] === undefined;
  if (m === null || (m[1] === undefined && m[2] === undefined && m[3] === undefined)) {
    throw new RangeError(`${transport} address "${text}": expected PORT, HOST:PORT or [IPv6]:PORT`);
  }
  // "5060" alone is a port, "host" alone is a host on 5060.
  if (m[2] !== undefined && hostOnly && /^\d+$/.test(m[2])) {
    return parseListenAddress(`:${m[2]}`, transport, defaultHost);
  }
  const port = m[3] === undefined ? 5060 : Number(m[3]);
  if (port > 65535) throw new RangeError(`${transport} address "${text}": port ${port} is over 65535`);
  return { transport, hostname: m[1] ?? m[2] ?? defaultHost, port };
}

/** "a 200 response", "a BYE request": for log lines. */
function _what(message: SipMessage): string {
  return message.type === "response" ? `a ${message.status} response` : `a ${message.method} request`;
}


function isWildcard(host: string): boolean {
  return host === "0.0.0.0" || host === "::" || host === "";
}

function now(): number {
  return performance.now();
}

/**
 * Starts the SIP peer on real sockets: UDP, TCP and WebSocket (RFC 7118), IPv4 and IPv6, on
 * Deno and on Bun. Port 0 picks a free port; `addresses` tells which.
 *
 * @param options Where to listen and how to answer.
 * @returns The running server.
 *
 * @example
 * ```ts
 * import { serve } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * await using server = await serve({ listen: [{ transport: "udp", hostname: "127.0.0.1", port: 0 }] });
 * assert.ok(server.addresses[0].port > 0);
 * assert.match(server.uri("echo"), /^sip:echo@127\.0\.0\.1:\d+$/);
 * ```
 */
export async function serve(options: ServeOptions = {}): Promise<SipServer> {
  const net = options.net ?? await (await import("./runtime/detect.ts")).detectRuntime();
  const listen = options.listen ?? [
    { transport: "udp", hostname: "0.0.0.0", port: 5060 },
    { transport: "tcp", hostname: "0.0.0.0", port: 5060 },
  ];
  if (listen.length === 0) throw new RangeError("serve(): nothing to listen on");
  const maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  const edge: EdgeProfile = typeof options.edge === "string" ? { profile: options.edge } : options.edge ?? {};
  // The lab profile is for a load generator: tables sized for thousands of calls a second.
  const lab = edge.profile === "lab";
  const { profile: _, ...own } = edge;
  const guard = new SourceGuard({ ...(lab ? EDGE_LAB : EDGE_PUBLIC), ...own });
  const onTraffic = options.onTraffic;
  const onEvent = options.onEvent;
  const mediaOptions: ServeMediaOptions | undefined = options.media === true ? {} : options.media || undefined;
  if (mediaOptions !== undefined && (options.rtpPort !== undefined || options.rtpRelease !== undefined)) {
    throw new TypeError("serve(): give media, or rtpPort and rtpRelease, not both");
  }
  if (mediaOptions !== undefined && options.stateless) {
    throw new TypeError("serve(): a stateless peer has no RTP echo (media): it sees no call end to free the ports at");
  }
  const timers = { ...DEFAULT_TIMERS, ...options.timers };
  let media: MediaEcho | undefined;
  /** Waits before sending a BYE in a dialog whose 2xx is not acknowledged yet (RFC 3261 §15). */
  const byeWaits = new Set<ReturnType<typeof setTimeout>>();
  const connections = new ConnectionTable({
    limits: lab ? { ...LAB_CONNECTIONS, ...options.connections } : options.connections,
    maxMessageSize,
    guard,
    now,
    onEvent: (kind, message, remote) => event(kind, message, remote as Remote),
    onMessage(bytes, c) {
      const remote: _Remote = { address: c.conn.remote.address, port: c.conn.remote.port, transport: c.transport };
      remote.connection = c;
      receive(bytes, remote);
    },
  });
  const endpoints: DatagramEndpoint[] = [];
  const listeners: StreamListener[] = [];
  const addresses: BoundAddress[] = [];
  // Made once the ports are bound; the handlers above it run only after that.
  // deno-lint-ignore prefer-const
  let peer: SipPeer | undefined;
  let closing: Promise<void> | undefined;
  const closed = Promise.withResolvers<void>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timerAt = Infinity;

  function event(kind: PeerEvent["kind"], message: string, remote?: Remote): void {
    if (onEvent === undefined) return;
    const at = now();
    if (_warning(kind)) {
      // Warnings are throttled per source (a flood must not become a flood of log lines).
      const held = guard.logLine(remote?.address, at);
      if (held < 0) return;
      if (held > 0) onEvent({ at, kind: "limit", message: _heldBack(guard, held) });
    }
    onEvent({ at, kind, message, remote });
  }


  function send(outputs: readonly _Outgoing[]): void {
    for (const out of outputs) {
      try {
        deliver(out);
      } catch (e) {
        // A bug (or a throwing onTraffic) must not lose the outputs after this one.
        event("dropped", `internal error sending ${_what(out.message)}: ${e}`, out.remote);
      }
    }
  }

  function deliver(out: _Outgoing): void {
    const remote = out.remote as _Remote;
    if (remote.endpoint !== undefined) {
      // RFC 3261 §18.2.2 and RFC 3581 §4: where a response goes on UDP, from the top Via as
      // the peer stamped it. A top Via that cannot be read (the request is answered 400 for
      // it) has no sent-by: back to the source.
      const to = out.to;
      remote.endpoint.send(out.data, to);
      onTraffic?.({ time: Date.now(), direction: "out", transport: "udp", remote: to, message: out.message });
    } else if (remote.connection !== undefined) {
      // RFC 3261 §18.2.2: on a stream, the response goes back on the request's connection (one
      // the remote opened, or one send() opened). If it has closed, the response is dropped: no
      // connection is opened for a response (§18.2.2 would open one to the sent-by).
      if (!remote.connection.open) {
        event("dropped", `${_what(out.message)}: the ${remote.transport} connection has closed`, remote);
        return;
      }
      connections.write(remote.connection, out.data);
      onTraffic?.({
        time: Date.now(),
        direction: "out",
        transport: remote.transport,
        remote: remote.connection.conn.remote,
        message: out.message,
      });
    }
  }

  // ---- media: the RTP echo, and the BYE that ends a call whose media went silent

  /** The peer's `rtpRelease`: the call's ports go back, its counters are logged. */
  function releaseMedia(callId: string, reason: RtpReleaseReason): void {
    const stats = media?.close(callId);
    if (stats !== undefined) mediaEvent(stats, reason);
  }

  /** MediaEcho's `onEnd`: a call's media ended by itself (or at shutdown). */
  function mediaEnded(stats: MediaCallStats): void {
    // Ended by releaseMedia(), which logs it with the SIP reason.
    if (stats.reason === "closed") return;
    mediaEvent(stats, stats.reason === "error" ? `error: ${stats.error}` : stats.reason ?? "ended");
    if (stats.reason === "timeout" || stats.reason === "error") hangUp(stats.callId);
  }

  function mediaEvent(stats: MediaCallStats, why: string): void {
    onEvent?.({ at: now(), kind: "media", message: describeMedia(stats, why), media: stats });
  }

  /** Ends the dialogs of a call with a BYE from the peer. */
  function hangUp(callId: string): void {
    if (peer === undefined || closing !== undefined) return;
    try {
      // The peer runs the BYE's client transaction; its resends come out of takeRequests().
      const requests = peer.bye(callId, now());
      send(requests);
      if (requests.length === 0 && peer.dialogs.some((d) => d.callId === callId && !d.acked)) {
        // RFC 3261 §15: no BYE before the ACK of the 2xx. By Timer L (64*T1) the ACK has come,
        // or the peer has dropped the dialog (§13.3.1.4).
        const wait = setTimeout(() => {
          byeWaits.delete(wait);
          hangUp(callId);
        }, _delay(64 * timers.T1 + 1));
        byeWaits.add(wait);
      }
    } catch (e) {
      event("dropped", `internal error ending the call ${callId}: ${e}`);
    } finally {
      arm();
    }
  }

  /** The peer's `onResponse`: a response to no request of the peer's own goes to the caller's. */
  function response(message: SipResponse, remote: Remote, at: number): void {
    if (options.onResponse !== undefined) options.onResponse(message, remote, at);
    else event("dropped", `a ${message.status} response that answers no request of ours`, remote);
  }

  /** Keeps exactly one timer, at the peer's next due time. */
  function arm(): void {
    if (peer === undefined || closing !== undefined) return;
    const next = peer.nextTimer();
    if (next === undefined) {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      timerAt = Infinity;
      return;
    }
    if (timer !== undefined && next >= timerAt) return;
    if (timer !== undefined) clearTimeout(timer);
    timerAt = next;
    timer = setTimeout(fire, _delay(next - now()));
  }

  function fire(): void {
    timer = undefined;
    timerAt = Infinity;
    if (peer === undefined || closing !== undefined) return;
    try {
      send(peer.tick(now()));
      // The peer's own requests: the BYE of an idle dialog, the resends of its BYEs.
      send(peer.takeRequests());
    } catch (e) {
      // Thrown from a timer, this would be an uncaught exception: the end of the process.
      event("dropped", `internal error on a timer: ${e}`);
    } finally {
      arm();
    }
  }

  function receive(data: Uint8Array, remote: _Remote): void {
    if (peer === undefined || closing !== undefined) return;
    try {
      send(peer.receive(data, remote, now()));
      send(peer.takeRequests());
    } catch (e) {
      // A bug must not take the server down with every call in it: log and go on.
      event("dropped", `internal error on a message from ${remote.address}:${remote.port}: ${e}`, remote);
    } finally {
      // Even after an error: what the peer scheduled before it must still run.
      arm();
    }
  }

  function close(): Promise<void> {
    if (closing !== undefined) return closing;
    closing = (async () => {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      for (const wait of byeWaits) clearTimeout(wait);
      byeWaits.clear();
      connections.stopTimers();
      await Promise.allSettled(endpoints.map(async (e) => await e.close()));
      // Every listener is closed even if one fails; `closed` must resolve.
      await Promise.allSettled(listeners.map(async (l) => await l.close()));
      // The connections the server opened have no listener to wait for: closeAll() waits (a
      // while at most) for the shim to report them closed, so that no read is left running.
      await connections.closeAll();
      await media?.closeAll();
      peer?.close();

      options.signal?.removeEventListener("abort", onAbort);
      closed.resolve();
    })();
    return closing;
  }
  const onAbort = () => void close();

  try {
    for (const spec of listen) {
      const hostname = unbracket(spec.hostname);
      if (spec.transport === "udp") {
        // Declared before the call: the shim may report an error (or a datagram) before it returns.
        let endpoint: DatagramEndpoint | undefined = undefined;
        endpoint = await net.listenDatagram(
          { hostname, port: spec.port, poll: options.udpPoll ?? true },
          (data, from) => {
            if (endpoint !== undefined) {
              // A datagram over maxMessageSize: the peer answers 513 (RFC 3261 §21.5.14).
              receive(data, { address: from.address, port: from.port, transport: "udp", endpoint });
            }
          },
          (e) => event("dropped", `udp ${hostname}:${endpoint?.local.port ?? spec.port}: ${e}`),
        );
        endpoints.push(endpoint);
        addresses.push({ transport: "udp", address: endpoint.local.address, port: endpoint.local.port });
      } else if (spec.transport === "tcp" || spec.transport === "ws") {
        // WebSocket is served over the runtime's TCP listener (src/websocket.ts), so that it
        // behaves the same on every runtime.
        const l = await net.listenStream({ hostname, port: spec.port }, connections.handlers(spec.transport));
        listeners.push(l);
        addresses.push({ transport: spec.transport, address: l.local.address, port: l.local.port });
      } else {
        throw new RangeError(`serve(): unknown transport "${(spec as ListenSpec).transport}"`);
      }
    }
  } catch (e) {
    await close();
    throw e;
  }

  const first = addresses[0];
  const advertise = options.advertise ?? (isWildcard(first.address) ? "127.0.0.1" : first.address);
  const ports: Partial<Record<Transport, number>> = {};
  for (const a of addresses) ports[a.transport] ??= a.port;
  if (mediaOptions !== undefined) {
    const advertised = unbracket(advertise);
    const hostname = mediaOptions.hostname ??
      (!isWildcard(first.address) && first.address === advertised
        ? first.address
        : advertised.includes(":")
        ? "::"
        : "0.0.0.0");
    try {
      media = new MediaEcho({
        net,
        hostname: unbracket(hostname),
        portRange: mediaOptions.portRange ?? DEFAULT_RTP_PORTS,
        delay: mediaOptions.delay,
        maxQueue: mediaOptions.maxQueue,
        inactivityTimeout: mediaOptions.inactivityTimeout,
        rewriteSsrc: mediaOptions.rewriteSsrc,
        onEnd: mediaEnded,
        onError: (e, callId) => event("dropped", `media of ${callId}: ${e}`),
        now: Date.now,
      });
    } catch (e) {
      await close();
      throw e;
    }
  }
  const echo = media;
  peer = new SipPeer({
    ...options,
    address: unbracket(advertise),
    port: first.port,
    ports,
    rtpPort: echo === undefined
      ? options.rtpPort
      // RFC 5761 §5.1.1: with rtcp-mux offered, RTCP shares the RTP port; no odd port is bound.
      : (callId, index, m) => echo.reserve(callId, index, { rtcpMux: m !== undefined && hasRtcpMux(m) }),
    rtpRelease: echo === undefined ? options.rtpRelease : releaseMedia,
    guard,
    maxMessageSize,
    limits: {
      ...(lab ? LAB_LIMITS : undefined),
      ...options.limits,
      streams: options.limits?.streams ?? echo?.capacity ?? Infinity,
    },
    onResponse: response,
    onReceive: onTraffic &&
      ((message, remote, _at) =>
        onTraffic({
          time: Date.now(),
          direction: "in",
          transport: remote.transport,
          remote: { address: remote.address, port: remote.port },
          message,
        })),
  });
  if (options.signal?.aborted) await close();
  else options.signal?.addEventListener("abort", onAbort, { once: true });

  /**
   * `server.send()`: a datagram from a bound socket, or a write on the open connection with
   * the remote, opening one when there is none. Synchronous but for opening a connection.
   */
  function sendRaw(data: Uint8Array, remote: SocketAddress, transport: ListenTransport = "udp"): Promise<void> {
    try {
      if (closing !== undefined) throw new Error("send(): the server is closed");
      const address = unbracket(remote.address);
      if (transport === "udp") {
        const v6 = address.includes(":");
        const endpoint = endpoints.find((e) => e.local.address.includes(":") === v6) ?? endpoints[0];
        if (endpoint === undefined) throw new RangeError("send(): the server does not listen on udp");
        endpoint.send(data, { address, port: remote.port });
        return Promise.resolve();
      }
      if (transport !== "tcp" && transport !== "ws") throw new RangeError(`send(): unknown transport "${transport}"`);
      // RFC 3261 §18.1.1: a request goes on a connection already open to its destination (opened
      // by either side); only when there is none is a new one opened.
      const open = connections.find(transport, address, remote.port);
      if (open !== undefined) {
        connections.write(open, data);
        return Promise.resolve();
      }
      return connections.connect(net, transport, address, remote.port).then((c) => {
        if (!connections.write(c, data)) {
          throw new Error(`send(): the ${transport} connection to ${address}:${remote.port} has closed`);
        }
      });
    } catch (e) {
      return Promise.reject(e);
    }
  }

  const server: SipServer = {
    peer,
    addresses,
    media,
    closed: closed.promise,
    close,
    send: sendRaw,
    uri(user?: string, transport?: ListenTransport) {
      const a = transport === undefined ? first : addresses.find((x) => x.transport === transport);
      if (a === undefined) throw new RangeError(`uri(): the server does not listen on ${transport}`);
      const host = isWildcard(a.address) ? unbracket(advertise) : a.address;
      const h = host.includes(":") ? `[${host}]` : host;
      const u = user === undefined ? "" : `${user}@`;
      return `sip:${u}${h}:${a.port}${a.transport === "udp" ? "" : `;transport=${a.transport}`}`;
    },
    [Symbol.asyncDispose]: close,
  };
  return server;
}
