/**
 * The options of `serve()` ({@linkcode ServeOptions}, with {@linkcode ServeMediaOptions} for the
 * RTP echo and {@linkcode EdgeProfile} for the edge limits), what it reports to `onTraffic`
 * ({@linkcode TrafficEntry}), and how they are read: the defaults, the checks, and the lab
 * profile's larger tables.
 *
 * @module
 */

import type { ConnectionLimits } from "./connections.ts";
import { type ListenSpec, parseListenAddress } from "./listeners.ts";
import { type RuntimeNet, type SocketAddress, unbracket } from "./transport.ts";
import type { Transport } from "../rules/rules.ts";
import type { SipMessage } from "../sip/message.ts";
import { DEFAULT_MAX_MESSAGE_SIZE } from "../sip/parse.ts";
import { EDGE_LAB, EDGE_PUBLIC, type EdgeOptions, SourceGuard } from "../ua/guard.ts";
import type { PeerLimits, PeerOptions } from "../ua/peer.ts";
import { DEFAULT_TIMERS } from "../ua/transaction.ts";
import { _tlsSettings, type ServeTls, type ServeTlsOptions } from "./serve_tls.ts";

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
  /**
   * Record each call: the RTP (PCMU or PCMA) of its first audio stream, G.711-decoded, is
   * written to `<dir>/<Call-ID>.wav` (16-bit PCM, mono, 8 kHz) when the call ends; at most
   * `maxSeconds` (default 60, up to 3600) from its first packet. Needs a runtime that writes
   * files (`RuntimeNet.writeFile`).
   */
  record?: { dir: string; maxSeconds?: number };
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
  /**
   * The address to put in Contact and SDP. Default: the first bound address; behind a wildcard
   * bind, the first interface address other machines can reach (`chooseAdvertised`), else
   * `127.0.0.1`. `server.advertised` tells which and why.
   */
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
  /**
   * Whether other processes may listen on the same ports (SO_REUSEPORT, `ListenOptions.reusePort`;
   * default false): the system spreads UDP sources (each source to one socket, so a transaction's
   * retransmissions and ACK reach the same process) and TCP connections over them. The command
   * line's `--workers` runs one `serve()` per process with it. Each process keeps its own state
   * (the command line shares the registrar's between them: src/net/worker_sync.ts). Deno: needs
   * the `net` unstable API and, for UDP, `udpPoll` with FFI on Linux.
   */
  reusePort?: boolean;
  /**
   * The certificate of the `tls` and `wss` listeners (RFC 3261 §26, RFC 7118), PEM, and the CAs
   * trusted for the TLS connections `send()` opens; or `"self-signed"` (or `{ selfSigned }`,
   * `SelfSignedTlsOptions`) to make one at start, which `server.tls` tells.
   */
  tls?: ServeTls;
  /**
   * An HTTP port for watching the peer (off by default): `/metrics` (Prometheus text 0.0.4),
   * `/healthz`, and the live page `/` with its event stream `/events`
   * (docs/observability.md). `[HOST:]PORT` or `{ hostname, port }`; the host defaults to
   * `127.0.0.1`, since the page shows every message whole. Needs a shim with `serveHttp`.
   */
  http?: string | ServeHttpOptions;
}

/**
 * The HTTP port of {@linkcode serve} (`ServeOptions.http`).
 *
 * @example
 * ```ts
 * import { serve, type ServeHttpOptions } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const http: ServeHttpOptions = { hostname: "127.0.0.1", port: 0 };
 * await using server = await serve({ listen: [{ transport: "udp", hostname: "127.0.0.1", port: 0 }], http });
 * const response = await fetch(`http://127.0.0.1:${server.http!.port}/healthz`);
 * assert.equal(await response.text(), "ok\n");
 * ```
 */
export interface ServeHttpOptions {
  /** The address to bind (default `127.0.0.1`). */
  hostname?: string;
  /** The port; 0 picks a free one (`server.http` tells which). */
  port: number;
}

/** The table sizes of the lab edge profile (`edge: "lab"`), for a load generator. */
const LAB_LIMITS: Partial<PeerLimits> = {
  transactions: 1_000_000,
  pending: 100_000,
  dialogs: 100_000,
  bindings: 100_000,
};
const LAB_CONNECTIONS: Partial<ConnectionLimits> = { maxConnections: 10_000 };

/** The options of `serve()` as it uses them: defaults filled in, the edge profile applied. */
export interface _ServeSettings {
  /** Where to listen (never empty). */
  listen: ListenSpec[];
  /** Largest message, bytes. */
  maxMessageSize: number;
  /** The edge guard, with the profile's limits and the caller's own. */
  guard: SourceGuard;
  /** The RTP echo's options, when it is on. */
  media: ServeMediaOptions | undefined;
  /** The peer's T1 (RFC 3261 §17.1.1.1), ms. */
  t1: number;
  /** The connection limits given (with the lab profile's table size). */
  connections: Partial<ConnectionLimits> | undefined;
  /** The peer's table sizes given (with the lab profile's), but `streams`. */
  limits: Partial<PeerLimits>;
  /** The TLS certificate, when a listener needs one (or given). */
  tls: ServeTlsOptions | undefined;
  /** The HTTP port, when asked for. */
  http: { hostname: string; port: number } | undefined;
}

/**
 * Reads the options of `serve()`.
 *
 * @param options The options.
 * @returns The settings.
 * @throws {RangeError} When `listen` is empty.
 * @throws {TypeError} For `media` with `rtpPort` or `rtpRelease`, or with a stateless peer; for a
 *   `tls` or `wss` listener without `tls.cert` and `tls.key`.
 */
export function _serveSettings(options: ServeOptions): _ServeSettings {
  const listen = options.listen ?? [
    { transport: "udp", hostname: "0.0.0.0", port: 5060 },
    { transport: "tcp", hostname: "0.0.0.0", port: 5060 },
  ];
  if (listen.length === 0) throw new RangeError("serve(): nothing to listen on");
  const edge: EdgeProfile = typeof options.edge === "string" ? { profile: options.edge } : options.edge ?? {};
  // The lab profile is for a load generator: tables sized for thousands of calls a second.
  const lab = edge.profile === "lab";
  const { profile: _, ...own } = edge;
  const media: ServeMediaOptions | undefined = options.media === true ? {} : options.media || undefined;
  if (media !== undefined && (options.rtpPort !== undefined || options.rtpRelease !== undefined)) {
    throw new TypeError("serve(): give media, or rtpPort and rtpRelease, not both");
  }
  if (media !== undefined && options.stateless) {
    throw new TypeError("serve(): a stateless peer has no RTP echo (media): it sees no call end to free the ports at");
  }
  return {
    listen,
    maxMessageSize: options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE,
    guard: new SourceGuard({ ...(lab ? EDGE_LAB : EDGE_PUBLIC), ...own }),
    media,
    t1: options.timers?.T1 ?? DEFAULT_TIMERS.T1,
    connections: lab ? { ...LAB_CONNECTIONS, ...options.connections } : options.connections,
    limits: { ...(lab ? LAB_LIMITS : undefined), ...options.limits },
    tls: _tlsSettings(listen, options.tls),
    http: _httpSettings(options.http),
  };
}

/**
 * `ServeOptions.http` read: `[HOST:]PORT` or an object; the host defaults to `127.0.0.1`.
 *
 * @throws {RangeError} For a port that is not an integer 0..65535, or an empty host.
 */
function _httpSettings(http: string | ServeHttpOptions | undefined): { hostname: string; port: number } | undefined {
  if (http === undefined) return undefined;
  if (typeof http === "string") {
    const spec = parseListenAddress(http, "tcp", "127.0.0.1");
    return { hostname: spec.hostname, port: spec.port };
  }
  const hostname = unbracket(http.hostname ?? "127.0.0.1");
  if (hostname === "") throw new RangeError("serve(): http.hostname is empty");
  if (!Number.isInteger(http.port) || http.port < 0 || http.port > 65535) {
    throw new RangeError(`serve(): http.port must be an integer 0..65535, not ${http.port}`);
  }
  return { hostname, port: http.port };
}
