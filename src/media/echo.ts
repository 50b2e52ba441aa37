/**
 * The media half of the echo test: every RTP and RTCP packet a caller sends to the ports of its
 * call is sent back to the address and port it came from.
 *
 * - Ports: each accepted stream gets an even RTP port from a bounded range and RTCP on the next
 *   odd port (RFC 3550 §11), or only the RTP port when RTP and RTCP are multiplexed
 *   (`a=rtcp-mux`, RFC 5761 §4, §5.1.1). Ports go back to the range when the call ends.
 * - A pool of bound pairs: a call ended by {@linkcode MediaEcho.close} (the SIP side's BYE,
 *   CANCEL or failed INVITE) leaves its sockets bound, up to `poolSize` pairs, and the next
 *   call takes such a pair, the one back longest, without binding; what arrives at a pair in
 *   the pool is dropped, and a pair unused for 5 s is closed. Without pooled pairs, a new call
 *   takes the port pair released longest ago, so a late packet of an old call rarely lands on a
 *   new one (a pooled pair comes back sooner: after the others in the pool).
 * - Symmetric RTP (RFC 4961 §3): the echo leaves from the port the packet arrived on, and goes
 *   to the packet's actual source, not to the address in the caller's SDP; behind a NAT that is
 *   the only address that works (latching, RFC 7362 §4).
 * - The echo is the packet unchanged, unless `rewriteSsrc` puts our own SSRC in it, or `delay`
 *   holds it back (a bounded queue per socket, one timer per socket).
 * - Counters per call and stream; a call that sends nothing for `inactivityTimeout` ms ends with
 *   reason `timeout`, so the SIP side can send BYE.
 * - Sockets asked for polling (`ListenOptions.poll`): on Deno the shim's one epoll reactor reads
 *   them all, so a stream costs two descriptors and a few KiB (11-14 KiB of RSS measured,
 *   against 130 with a receive pending per socket, each on its own 64 KiB buffer); an echo may
 *   leave up to a timer tick (about 2 ms) later while packets flow.
 *
 * Why a synchronous {@linkcode MediaEcho.reserve}: the SIP peer is pure and synchronous, and asks
 * for the RTP port of m-line `index` of call `callId` while it writes the SDP answer
 * (`PeerOptions.rtpPort`). `reserve()` takes a port pair from the free list at once, so the
 * answer can name it, and starts binding the sockets in the same turn (both shims bind inside
 * `listenDatagram()`, before its promise settles), before the 200 OK leaves; a pair from the
 * pool is ready at once. Why a pool filled by ended calls, not bound up front: binding every idle
 * port (one descriptor per port, 10,000 for a 20000-29999 range) holds them all for nothing, and
 * binding per call costs: on Deno, about 30 µs of CPU per socket (creating, binding and
 * registering it with the reactor, then closing it: system calls, most of it in the kernel; and
 * the promises of the bind), two per call: with the pool off a SIPp call cost 60-70 µs more. The
 * cost of binding after
 * announcing: if another program holds an announced port, the bind fails after a few retries and
 * the call ends with reason `error` (the SIP side sends BYE). {@linkcode MediaEcho.open} is the
 * asynchronous way for a caller that can wait before answering: it binds first and moves to
 * another pair if one is taken.
 *
 * Wiring with the peer, in outline (what `serve({ media })` does):
 * ```ts ignore
 * const media = new MediaEcho({ net, hostname: "0.0.0.0", portRange: [20000, 29999], onEnd: (s) => {
 *   if (s.reason === "timeout" || s.reason === "error") send(peer.bye(s.callId, now())); // RFC 3261 §15.1.1
 * } });
 * const peer = new SipPeer({
 *   // undefined when the range is exhausted: the peer answers 503 with Retry-After.
 *   rtpPort: (callId, index, m) => media.reserve(callId, index, { rtcpMux: m !== undefined && hasRtcpMux(m) }),
 *   // BYE, CANCEL, a failed or unacknowledged INVITE, Timer C.
 *   rtpRelease: (callId) => media.close(callId),
 * });
 * // Shutting down: await media.closeAll().
 * ```
 *
 * @module
 */

import type { DatagramEndpoint, RuntimeNet, SocketAddress } from "../net/transport.ts";
import { hasRtcpMux, type SessionDescription } from "./sdp.ts";

/**
 * Why the media of a call ended: `closed` by {@linkcode MediaEcho.close} (BYE, CANCEL, a failed
 * INVITE), `timeout` (no packet for `inactivityTimeout` ms), `error` (a socket of an announced
 * port could not be bound), `shutdown` by {@linkcode MediaEcho.closeAll}. After `timeout` and
 * `error` the SIP side should end the dialog with BYE.
 *
 * @example
 * ```ts
 * import type { MediaEndReason } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const needsBye = (reason: MediaEndReason) => reason === "timeout" || reason === "error";
 * assert.equal(needsBye("timeout"), true);
 * assert.equal(needsBye("closed"), false);
 * ```
 */
export type MediaEndReason = "closed" | "timeout" | "error" | "shutdown";

/**
 * Packet and byte counters of one direction pair. Bytes are UDP payload bytes. `dropped`
 * counts packets received and not echoed: not RTP or RTCP version 2 (RFC 3550 §5.1, §6.4),
 * shorter than a fixed header, over `maxQueue` while delayed, or still queued when the call
 * ended. So `packetsIn === packetsOut + dropped` once a call has ended.
 *
 * @example
 * ```ts
 * import type { MediaCounters } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const c: MediaCounters = { packetsIn: 3, bytesIn: 516, packetsOut: 2, bytesOut: 344, dropped: 1 };
 * assert.equal(c.packetsIn, c.packetsOut + c.dropped);
 * ```
 */
export interface MediaCounters {
  /** Packets received. */
  packetsIn: number;
  /** Bytes received. */
  bytesIn: number;
  /** Packets echoed. */
  packetsOut: number;
  /** Bytes echoed. */
  bytesOut: number;
  /** Packets received and not echoed. */
  dropped: number;
}

/**
 * What one stream (one m-line) of a call has seen.
 *
 * @example
 * ```ts
 * import type { MediaStreamStats } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const zero = { packetsIn: 0, bytesIn: 0, packetsOut: 0, bytesOut: 0, dropped: 0 };
 * const s: MediaStreamStats = {
 *   index: 0, rtpPort: 20000, rtcpPort: undefined, ssrc: undefined,
 *   rtp: { ...zero }, rtcp: { ...zero }, rtpSource: undefined, rtcpSource: undefined,
 * };
 * assert.equal(s.rtcpPort === undefined ? "rtcp-mux" : "two ports", "rtcp-mux");
 * ```
 */
export interface MediaStreamStats {
  /** The 0-based m-line index. */
  index: number;
  /** The RTP port (even). */
  rtpPort: number;
  /** The RTCP port (`rtpPort + 1`), or `undefined` when RTCP shares the RTP port (RFC 5761). */
  rtcpPort: number | undefined;
  /** The SSRC written into the echoes when `rewriteSsrc` is on, else `undefined`. */
  ssrc: number | undefined;
  /** RTP packets (on the RTP port, told from RTCP by RFC 5761 §4). */
  rtp: MediaCounters;
  /** RTCP packets (on the RTCP port, or multiplexed on the RTP port). */
  rtcp: MediaCounters;
  /** Where the last RTP packet came from: where its echo went. */
  rtpSource: SocketAddress | undefined;
  /** Where the last RTCP packet came from. */
  rtcpSource: SocketAddress | undefined;
}

/**
 * What the media of one call has seen: totals over its streams and both RTP and RTCP, plus each
 * stream. Times are from the `now` option (default `Date.now`, ms since the epoch).
 *
 * @example
 * ```ts
 * import type { MediaCallStats } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * function line(s: MediaCallStats): string {
 *   return `${s.callId}: ${s.reason ?? "active"}, ${s.packetsIn} in, ${s.packetsOut} out`;
 * }
 * const s: MediaCallStats = {
 *   callId: "a84b4c76e66710", reason: "timeout", openedAt: 0, endedAt: 30000,
 *   firstPacketAt: undefined, lastPacketAt: undefined, sources: [], streams: [],
 *   packetsIn: 0, bytesIn: 0, packetsOut: 0, bytesOut: 0, dropped: 0,
 * };
 * assert.equal(line(s), "a84b4c76e66710: timeout, 0 in, 0 out");
 * ```
 */
export interface MediaCallStats extends MediaCounters {
  /** The call. */
  callId: string;
  /** Why it ended; `undefined` while it runs. */
  reason: MediaEndReason | undefined;
  /** With reason `error`: what failed. */
  error?: unknown;
  /** When its first port was reserved. */
  openedAt: number;
  /** When it ended; `undefined` while it runs. */
  endedAt: number | undefined;
  /** When its first packet arrived, if one did. */
  firstPacketAt: number | undefined;
  /** When its last packet arrived, if one did. */
  lastPacketAt: number | undefined;
  /** The distinct source addresses seen, in order, at most 8. */
  sources: SocketAddress[];
  /** Its streams, by m-line index. */
  streams: MediaStreamStats[];
}

/**
 * A stream to open: the m-line index and whether it multiplexes RTP and RTCP. An
 * `AcceptedStream` of `answerSdp()` is one.
 *
 * @example
 * ```ts
 * import type { MediaStreamRequest } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const streams: MediaStreamRequest[] = [{ index: 0 }, { index: 1, rtcpMux: true }];
 * assert.equal(streams.filter((s) => s.rtcpMux).length, 1);
 * ```
 */
export interface MediaStreamRequest {
  /** The 0-based m-line index. */
  index: number;
  /** RTP and RTCP on one port (`a=rtcp-mux` in the offer, RFC 5761 §5.1.1); default false. */
  rtcpMux?: boolean;
}

/**
 * The ports of one opened stream, for the SDP answer.
 *
 * @example
 * ```ts
 * import type { MediaPorts } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const p: MediaPorts = { index: 0, rtpPort: 20000, rtcpPort: 20001 };
 * assert.equal(p.rtcpPort, p.rtpPort + 1);
 * ```
 */
export interface MediaPorts {
  /** The 0-based m-line index. */
  index: number;
  /** The RTP port to put in the `m=` line. */
  rtpPort: number;
  /** The RTCP port, `rtpPort + 1`; `undefined` with rtcp-mux. */
  rtcpPort: number | undefined;
}

/**
 * The result of {@linkcode MediaEcho.open}: the ports, or why not. With `no-ports` (the range
 * is exhausted) and `bind-failed` the SIP side answers 503 Service Unavailable (RFC 3261
 * §21.5.4), with a Retry-After; `ended` means the call was closed while its ports were being
 * bound (a CANCEL came in), and nothing is to be answered for the media.
 *
 * @example
 * ```ts
 * import type { MediaOpenResult } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * function statusFor(r: MediaOpenResult): number {
 *   return r.ok ? 200 : r.reason === "ended" ? 487 : r.status;
 * }
 * assert.equal(statusFor({ ok: false, reason: "no-ports", status: 503 }), 503);
 * assert.equal(statusFor({ ok: true, ports: [{ index: 0, rtpPort: 20000, rtcpPort: 20001 }] }), 200);
 * ```
 */
export type MediaOpenResult =
  | { ok: true; ports: MediaPorts[] }
  | { ok: false; reason: "no-ports"; status: 503 }
  | { ok: false; reason: "bind-failed"; status: 503; error: unknown }
  | { ok: false; reason: "ended" };

/**
 * Options of a {@linkcode MediaEcho}.
 *
 * @example
 * ```ts
 * import type { MediaEchoOptions, RuntimeNet } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const net = {} as RuntimeNet; // the runtime's shim, as given to serve()
 * const options: MediaEchoOptions = { net, hostname: "0.0.0.0", portRange: [20000, 29999], delay: 500 };
 * assert.equal(options.portRange[1] - options.portRange[0] + 1, 10000);
 * ```
 */
export interface MediaEchoOptions {
  /** The socket shim of the runtime. */
  net: RuntimeNet;
  /** The address to bind the media sockets to: `0.0.0.0`, `::`, `127.0.0.1`, ... */
  hostname: string;
  /** The ports to use, both included; each stream takes an even port and the odd one after it. */
  portRange: readonly [number, number];
  /** Hold each echo back this long, ms (default 0: at once). */
  delay?: number;
  /** Most packets held back per socket while `delay` runs (default 1000); more are dropped. */
  maxQueue?: number;
  /** End a call that receives no RTP or RTCP for this long, ms (default 30,000); 0: never. */
  inactivityTimeout?: number;
  /**
   * Most port pairs kept bound between calls, for the next calls to take without binding
   * (default 128; 0: each call binds its sockets and closes them). A pair comes back bound from
   * a call ended by {@linkcode MediaEcho.close}; one unused for 5 s is closed.
   */
  poolSize?: number;
  /** Write our own SSRC into the echoes (a random one per stream, RFC 3550 §8.1); default false. */
  rewriteSsrc?: boolean;
  /** Called once when the media of a call ends, for any reason, with its final counters. */
  onEnd?: (stats: MediaCallStats) => void;
  /** Socket errors (an ICMP port unreachable after the caller left, ...), and errors thrown by `onEnd`. */
  onError?: (error: unknown, callId: string) => void;
  /** The clock for the times in the stats, ms (default `Date.now`). */
  now?: () => number;
}

// RFC 3550 §6.3.5 times out a participant after 5 RTCP report intervals of silence, and §6.2
// makes that interval at least 5 s (randomized to 2.5-7.5 s by §6.3.1): 30 s without RTP or
// RTCP means the other side is gone.
const DEFAULT_INACTIVITY_TIMEOUT = 30_000;
const DEFAULT_MAX_QUEUE = 1000;
const MAX_SOURCES = 8;
// A closed socket's port may stay bound a moment (Deno.listenDatagram, where Deno cannot poll,
// frees it once its pending receive is cancelled, on a later turn of the event loop), or another
// program holds it for a moment: a bind is tried again after these waits.
const BIND_RETRY_DELAYS = [2, 4, 8, 16, 32];
// Port pairs kept bound between calls. A few dozen calls are up at once at 2,500 calls/s of a
// few ms each. A pooled pair holds two descriptors and a few small objects (on Deno its sockets
// are polled: read by the shim's one reactor, with no receive buffer of their own).
const DEFAULT_POOL_SIZE = 128;
// A pair left unused this long is closed: the pool is for a steady flow of calls.
const POOL_IDLE = 5_000;
// RFC 8085 §3.2: a UDP application keeps its datagrams within the path MTU; with jumbo Ethernet
// frames (9000 bytes) a datagram carries at most 8972 bytes. Longer ones are not taken (where Deno
// reads a socket with Deno.listenDatagram, its receive buffer is this size instead of 64 KiB).
const MAX_PACKET = 9000;
// How many other pairs open() tries when a pair cannot be bound (another program holds it).
const OTHER_PAIRS = 3;
const MAX_TIMER = 2 ** 31 - 1;
// The RTP profiles answerSdp() accepts: RTP/AVP, RTP/AVPF, RTP/SAVP, RTP/SAVPF, UDP/TLS/RTP/SAVPF.
const RTP_PROTOCOLS = /^(RTP\/S?AVPF?|UDP\/TLS\/RTP\/SAVPF)$/i;

interface _Queued {
  due: number;
  data: Uint8Array;
  to: SocketAddress;
  counters: MediaCounters;
}

/** One UDP socket of a stream: RTP (which also takes multiplexed RTCP) or RTCP. */
interface _Socket {
  stream: _Stream;
  rtcp: boolean;
  port: number;
  endpoint: DatagramEndpoint | undefined;
  /** Where the endpoint's datagrams go: this socket, while it has the endpoint. */
  slot: _Slot | undefined;
  queue: (_Queued | undefined)[];
  head: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * The receiver of a bound endpoint's datagrams and errors. An endpoint outlives a call when its
 * pair goes back to the pool: the next call's socket takes the slot; while it waits in the pool
 * the slot is empty, and what arrives is dropped.
 */
interface _Slot {
  owner: _Socket | undefined;
}

/** A bound endpoint with its slot. */
interface _Bound {
  endpoint: DatagramEndpoint;
  slot: _Slot;
}

/** A pair waiting bound in the pool: RTP, and RTCP unless its last call multiplexed (RFC 5761). */
interface _Idle {
  rtp: _Bound;
  rtcp: _Bound | undefined;
  /** performance.now() when it came back. */
  since: number;
}

interface _Stream {
  call: _Call;
  index: number;
  port: number;
  sockets: _Socket[];
  ssrc: number | undefined;
  rtp: MediaCounters;
  rtcp: MediaCounters;
  rtpSource: SocketAddress | undefined;
  rtcpSource: SocketAddress | undefined;
  /** Resolves with `undefined` once bound, or with the error that stopped it. */
  bound: Promise<unknown>;
  binding: number;
  closed: boolean;
  released: boolean;
}

interface _Call {
  callId: string;
  streams: Map<number, _Stream>;
  openedAt: number;
  endedAt: number | undefined;
  firstPacketAt: number | undefined;
  lastPacketAt: number | undefined;
  sources: SocketAddress[];
  /** performance.now() of the last packet (or of the start). */
  active: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  ended: boolean;
  reason: MediaEndReason | undefined;
  error: unknown;
}

/**
 * RTP and RTCP echo for many calls at once, each on its own ports from a bounded range.
 *
 * {@linkcode MediaEcho.reserve} (synchronous, for the peer's `rtpPort` hook) or
 * {@linkcode MediaEcho.open} (asynchronous, binds before answering) gives a call its ports;
 * every packet that arrives there is echoed to its source (RFC 4961 §3); RTCP is echoed the
 * same way on its own port. {@linkcode MediaEcho.stats} reads the counters,
 * {@linkcode MediaEcho.close} ends a call and frees its ports, an inactivity timeout ends a
 * silent call, {@linkcode MediaEcho.closeAll} ends everything and leaves no socket or timer.
 *
 * @example Echoing a packet (an in-memory socket shim stands in for the runtime's)
 * ```ts
 * import { MediaEcho, type RuntimeNet, type SocketAddress } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const inbox = new Map<number, (data: Uint8Array, from: SocketAddress) => void>();
 * const sent: string[] = [];
 * const net: RuntimeNet = {
 *   name: "memory",
 *   listenDatagram(options, onData) {
 *     inbox.set(options.port, onData);
 *     return Promise.resolve({
 *       local: { address: options.hostname, port: options.port },
 *       send: (data, to) => void sent.push(`${data.length} bytes to ${to.address}:${to.port}`),
 *       close: () => void inbox.delete(options.port),
 *     });
 *   },
 *   listenStream: () => Promise.reject(new Error("not needed")),
 * };
 * const media = new MediaEcho({ net, hostname: "127.0.0.1", portRange: [20000, 20003] });
 * const opened = await media.open("call-1", [{ index: 0, rtcpMux: true }]);
 * assert.ok(opened.ok);
 * assert.deepEqual(opened.ports, [{ index: 0, rtpPort: 20000, rtcpPort: undefined }]);
 *
 * const rtp = new Uint8Array(172);
 * rtp[0] = 0x80; // RTP version 2, payload type 0 (PCMU)
 * inbox.get(20000)!(rtp, { address: "192.0.2.7", port: 49170 });
 * assert.deepEqual(sent, ["172 bytes to 192.0.2.7:49170"]);
 *
 * const stats = media.close("call-1");
 * assert.equal(stats?.packetsOut, 1);
 * assert.equal(stats?.reason, "closed");
 * assert.equal(media.available, 2);
 * await media.closeAll();
 * ```
 */
export class MediaEcho implements AsyncDisposable {
  #net: RuntimeNet;
  #hostname: string;
  #delay: number;
  #maxQueue: number;
  #timeout: number;
  #rewriteSsrc: boolean;
  #onEnd: ((stats: MediaCallStats) => void) | undefined;
  #onError: ((error: unknown, callId: string) => void) | undefined;
  #now: () => number;
  #capacity: number;
  /** Free RTP ports (even), least recently released first: a Set keeps insertion order. */
  #free = new Set<number>();
  /** The free pairs still bound (a subset of #free), by RTP port, least recently released first. */
  #idle = new Map<number, _Idle>();
  #poolSize: number;
  /** The timer that closes pairs idle for POOL_IDLE ms. */
  #sweep: ReturnType<typeof setTimeout> | undefined;
  #calls = new Map<string, _Call>();
  /** Binds in flight, for closeAll(). */
  #pending = new Set<Promise<unknown>>();

  /**
   * Makes an echo with the whole port range free; no socket is bound until a call gets ports.
   *
   * @param options The socket shim, the bind address, the port range, and the echo's behaviour.
   * @throws {TypeError} If `net` is not a socket shim or `hostname` is empty.
   * @throws {RangeError} If the port range is not two ports from 1 to 65535, low to high, holding
   *   an even port and the odd one after it; or `delay`, `maxQueue`, `inactivityTimeout` or
   *   `poolSize` is out of range.
   */
  constructor(options: MediaEchoOptions) {
    if (typeof options?.net?.listenDatagram !== "function") {
      throw new TypeError("Cannot create MediaEcho: net is not a RuntimeNet");
    }
    if (typeof options.hostname !== "string" || options.hostname === "") {
      throw new TypeError("Cannot create MediaEcho: hostname is empty");
    }
    const [low, high] = options.portRange ?? [];
    if (!_isPort(low) || !_isPort(high) || low > high) {
      throw new RangeError(
        `Cannot create MediaEcho: portRange must be two ports from 1 to 65535, low to high, not ${
          JSON.stringify(options.portRange)
        }`,
      );
    }
    // RFC 3550 §11: RTP on an even port, RTCP on the next higher (odd) port.
    for (let port = low % 2 === 0 ? low : low + 1; port + 1 <= high; port += 2) this.#free.add(port);
    this.#capacity = this.#free.size;
    if (this.#capacity === 0) {
      throw new RangeError(`Cannot create MediaEcho: portRange [${low}, ${high}] holds no even port and the next one`);
    }
    this.#delay = _option("delay", options.delay, 0, 0, MAX_TIMER);
    this.#maxQueue = _option("maxQueue", options.maxQueue, DEFAULT_MAX_QUEUE, 1, 1_000_000);
    this.#timeout = _option("inactivityTimeout", options.inactivityTimeout, DEFAULT_INACTIVITY_TIMEOUT, 0, MAX_TIMER);
    this.#poolSize = _option("poolSize", options.poolSize, DEFAULT_POOL_SIZE, 0, 32768);
    this.#net = options.net;
    this.#hostname = options.hostname;
    this.#rewriteSsrc = options.rewriteSsrc ?? false;
    this.#onEnd = options.onEnd;
    this.#onError = options.onError;
    this.#now = options.now ?? Date.now;
  }

  /**
   * The m-lines of an offer that may need ports: those with a port other than 0 and an RTP
   * transport (RFC 3264 §6 rejects the others), with their `a=rtcp-mux`. An upper bound of what
   * `answerSdp()` accepts, for checking {@linkcode MediaEcho.available} before answering, or
   * for {@linkcode MediaEcho.open}.
   *
   * @param offer The offer.
   * @returns One request per such m-line, in order.
   * @example
   * ```ts
   * import { MediaEcho, parseSdp } from "@sipecho/sipecho";
   * import assert from "node:assert/strict";
   *
   * const offer = parseSdp(
   *   "v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\n" +
   *     "m=audio 49170 RTP/AVP 0\r\na=rtcp-mux\r\nm=video 0 RTP/AVP 96\r\nm=image 49172 udptl t38\r\n",
   * );
   * assert.deepEqual(MediaEcho.offeredStreams(offer), [{ index: 0, rtcpMux: true }]);
   * ```
   */
  static offeredStreams(offer: SessionDescription): MediaStreamRequest[] {
    const streams: MediaStreamRequest[] = [];
    offer.media.forEach((m, index) => {
      if (m.port !== 0 && RTP_PROTOCOLS.test(m.proto)) streams.push({ index, rtcpMux: hasRtcpMux(m) });
    });
    return streams;
  }

  /**
   * How many more streams can get ports now. {@linkcode MediaEcho.reserve} returns `undefined`
   * when it is 0, and the peer then answers 503.
   *
   * @example
   * ```ts
   * import { MediaEcho, type RuntimeNet } from "@sipecho/sipecho";
   * import assert from "node:assert/strict";
   *
   * const net = {
   *   listenDatagram: (o: { hostname: string; port: number }) =>
   *     Promise.resolve({ local: { address: o.hostname, port: o.port }, send() {}, close() {} }),
   * } as unknown as RuntimeNet;
   * const media = new MediaEcho({ net, hostname: "127.0.0.1", portRange: [20000, 20009] });
   * assert.equal(media.available, 5);
   * media.reserve("c1", 0);
   * assert.equal(media.available, 4);
   * await media.closeAll();
   * ```
   */
  get available(): number {
    return this.#free.size;
  }

  /**
   * How many streams the port range holds: the even ports with their odd neighbour in range.
   *
   * @example
   * ```ts
   * import { MediaEcho, type RuntimeNet } from "@sipecho/sipecho";
   * import assert from "node:assert/strict";
   *
   * const net = {
   *   listenDatagram: (o: { hostname: string; port: number }) =>
   *     Promise.resolve({ local: { address: o.hostname, port: o.port }, send() {}, close() {} }),
   * } as unknown as RuntimeNet;
   * assert.equal(new MediaEcho({ net, hostname: "::", portRange: [20001, 20006] }).capacity, 2);
   * ```
   */
  get capacity(): number {
    return this.#capacity;
  }

  /**
   * How many calls have media now.
   *
   * @example
   * ```ts
   * import { MediaEcho, type RuntimeNet } from "@sipecho/sipecho";
   * import assert from "node:assert/strict";
   *
   * const net = {
   *   listenDatagram: (o: { hostname: string; port: number }) =>
   *     Promise.resolve({ local: { address: o.hostname, port: o.port }, send() {}, close() {} }),
   * } as unknown as RuntimeNet;
   * const media = new MediaEcho({ net, hostname: "127.0.0.1", portRange: [20000, 20009] });
   * media.reserve("c1", 0);
   * media.reserve("c1", 1);
   * assert.equal(media.activeCalls, 1);
   * await media.closeAll();
   * ```
   */
  get activeCalls(): number {
    return this.#calls.size;
  }

  /**
   * Reserves the ports of m-line `index` of call `callId` and starts binding them, at once:
   * for the peer's synchronous `rtpPort(callId, index)` hook. Asking again for the same stream
   * returns the same port (a 183 and a 200, a re-INVITE). Without `rtcpMux` the RTCP port is
   * bound too, which is right either way: a caller that multiplexes sends its RTCP to the RTP
   * port, which echoes it. If the sockets cannot be bound (another program holds the port),
   * the call ends with reason `error` and `onEnd` is called.
   *
   * @param callId The Call-ID.
   * @param index The 0-based m-line index.
   * @param options `rtcpMux`: RTP and RTCP on one port (RFC 5761), so bind only the RTP port.
   * @returns The RTP port for the `m=` line, or `undefined` when the range is exhausted.
   * @throws {RangeError} If `index` is not a non-negative integer.
   * @example
   * ```ts
   * import { MediaEcho, type RuntimeNet } from "@sipecho/sipecho";
   * import assert from "node:assert/strict";
   *
   * const net = {
   *   listenDatagram: (o: { hostname: string; port: number }) =>
   *     Promise.resolve({ local: { address: o.hostname, port: o.port }, send() {}, close() {} }),
   * } as unknown as RuntimeNet;
   * const media = new MediaEcho({ net, hostname: "127.0.0.1", portRange: [20000, 20003] });
   * assert.equal(media.reserve("c1", 0), 20000);
   * assert.equal(media.reserve("c1", 0), 20000);
   * assert.equal(media.reserve("c2", 0), 20002);
   * assert.equal(media.reserve("c3", 0), undefined); // 503
   * await media.closeAll();
   * ```
   */
  reserve(callId: string, index: number, options: { rtcpMux?: boolean } = {}): number | undefined {
    _checkIndex(index);
    const existing = this.#calls.get(callId)?.streams.get(index);
    if (existing !== undefined) return existing.port;
    const port = this.#take();
    if (port === undefined) return undefined;
    const stream = this.#addStream(callId, index, port, options.rtcpMux ?? false);
    stream.bound = this.#bindStream(stream).then((error) => {
      if (error !== undefined && !stream.closed) this.#end(stream.call, "error", error);
      return error;
    });
    return port;
  }

  /**
   * Opens the streams of a call and resolves once their sockets are bound: all of them, or
   * none. A port pair that cannot be bound is swapped for another (up to 3). Streams already
   * reserved keep their ports.
   *
   * @param callId The Call-ID.
   * @param streams The streams: `MediaEcho.offeredStreams(offer)`, or the `accepted` streams of
   *   `answerSdp()`.
   * @returns The ports, by stream; `no-ports` when the range cannot hold them all (answer 503);
   *   `bind-failed` when the sockets cannot be bound (answer 503); `ended` when the call was
   *   closed meanwhile.
   * @throws {RangeError} If an index is not a non-negative integer.
   * @example
   * ```ts
   * import { MediaEcho, type RuntimeNet } from "@sipecho/sipecho";
   * import assert from "node:assert/strict";
   *
   * const net = {
   *   listenDatagram: (o: { hostname: string; port: number }) =>
   *     Promise.resolve({ local: { address: o.hostname, port: o.port }, send() {}, close() {} }),
   * } as unknown as RuntimeNet;
   * const media = new MediaEcho({ net, hostname: "127.0.0.1", portRange: [20000, 20003] });
   * const result = await media.open("c1", [{ index: 0 }, { index: 1, rtcpMux: true }]);
   * assert.deepEqual(result, {
   *   ok: true,
   *   ports: [{ index: 0, rtpPort: 20000, rtcpPort: 20001 }, { index: 1, rtpPort: 20002, rtcpPort: undefined }],
   * });
   * assert.deepEqual(await media.open("c2", [{ index: 0 }]), { ok: false, reason: "no-ports", status: 503 });
   * await media.closeAll();
   * ```
   */
  async open(callId: string, streams: readonly MediaStreamRequest[]): Promise<MediaOpenResult> {
    for (const s of streams) _checkIndex(s.index);
    const call = this.#calls.get(callId);
    const wanted = new Map<number, boolean>();
    for (const s of streams) if (!wanted.has(s.index)) wanted.set(s.index, s.rtcpMux ?? false);
    const old: _Stream[] = [];
    const fresh: [number, boolean][] = [];
    for (const [index, rtcpMux] of wanted) {
      const existing = call?.streams.get(index);
      if (existing !== undefined) old.push(existing);
      else fresh.push([index, rtcpMux]);
    }
    if (fresh.length > this.#free.size) return { ok: false, reason: "no-ports", status: 503 };
    const created = fresh.map(([index, rtcpMux]) => this.#addStream(callId, index, this.#take()!, rtcpMux));
    for (const stream of created) stream.bound = this.#bindElsewhere(stream);
    const all = [...old, ...created];
    const errors = await Promise.all(all.map((s) => s.bound));
    if (all.some((s) => s.closed)) {
      this.#forget(created);
      return { ok: false, reason: "ended" };
    }
    const error = errors.find((e) => e !== undefined);
    if (error !== undefined) {
      this.#forget(created);
      return { ok: false, reason: "bind-failed", status: 503, error };
    }
    return { ok: true, ports: all.sort((a, b) => a.index - b.index).map(_ports) };
  }

  /**
   * The RTP port of a stream, if it has one.
   *
   * @param callId The Call-ID.
   * @param index The 0-based m-line index.
   * @returns The port, or `undefined`.
   * @example
   * ```ts
   * import { MediaEcho, type RuntimeNet } from "@sipecho/sipecho";
   * import assert from "node:assert/strict";
   *
   * const net = {
   *   listenDatagram: (o: { hostname: string; port: number }) =>
   *     Promise.resolve({ local: { address: o.hostname, port: o.port }, send() {}, close() {} }),
   * } as unknown as RuntimeNet;
   * const media = new MediaEcho({ net, hostname: "127.0.0.1", portRange: [20000, 20003] });
   * media.reserve("c1", 0);
   * assert.equal(media.port("c1", 0), 20000);
   * assert.equal(media.port("c1", 1), undefined);
   * await media.closeAll();
   * ```
   */
  port(callId: string, index: number): number | undefined {
    return this.#calls.get(callId)?.streams.get(index)?.port;
  }

  /**
   * The counters of a call whose media runs (a copy).
   *
   * @param callId The Call-ID.
   * @returns The stats, or `undefined` if the call has no media (never had, or ended: the final
   *   stats went to `onEnd` and to the caller of `close()`).
   * @example
   * ```ts
   * import { MediaEcho, type RuntimeNet } from "@sipecho/sipecho";
   * import assert from "node:assert/strict";
   *
   * const net = {
   *   listenDatagram: (o: { hostname: string; port: number }) =>
   *     Promise.resolve({ local: { address: o.hostname, port: o.port }, send() {}, close() {} }),
   * } as unknown as RuntimeNet;
   * const media = new MediaEcho({ net, hostname: "127.0.0.1", portRange: [20000, 20003], now: () => 5 });
   * media.reserve("c1", 0);
   * const stats = media.stats("c1");
   * assert.equal(stats?.openedAt, 5);
   * assert.equal(stats?.packetsIn, 0);
   * assert.equal(stats?.streams[0].rtcpPort, 20001);
   * await media.closeAll();
   * ```
   */
  stats(callId: string): MediaCallStats | undefined {
    const call = this.#calls.get(callId);
    return call === undefined ? undefined : _snapshot(call);
  }

  /**
   * Ends the media of a call (BYE, CANCEL, a failed INVITE): drops what is still held back,
   * frees its ports (their sockets stay bound in the pool for a next call while it has room,
   * else they are closed), calls `onEnd` with reason `closed`.
   *
   * @param callId The Call-ID.
   * @returns The final stats, or `undefined` if the call had no media.
   * @example
   * ```ts
   * import { MediaEcho, type RuntimeNet } from "@sipecho/sipecho";
   * import assert from "node:assert/strict";
   *
   * const net = {
   *   listenDatagram: (o: { hostname: string; port: number }) =>
   *     Promise.resolve({ local: { address: o.hostname, port: o.port }, send() {}, close() {} }),
   * } as unknown as RuntimeNet;
   * const ended: string[] = [];
   * const media = new MediaEcho({
   *   net, hostname: "127.0.0.1", portRange: [20000, 20001], onEnd: (s) => void ended.push(s.reason!),
   * });
   * media.reserve("c1", 0);
   * assert.equal(media.available, 0);
   * assert.equal(media.close("c1")?.reason, "closed");
   * assert.equal(media.close("c1"), undefined);
   * assert.deepEqual(ended, ["closed"]);
   * ```
   */
  close(callId: string): MediaCallStats | undefined {
    const call = this.#calls.get(callId);
    return call === undefined ? undefined : this.#end(call, "closed");
  }

  /**
   * Ends every call (reason `shutdown`) and resolves once no socket, bind or timer of this
   * object is left. The object can still be used afterwards.
   *
   * @example
   * ```ts
   * import { MediaEcho, type RuntimeNet } from "@sipecho/sipecho";
   * import assert from "node:assert/strict";
   *
   * const net = {
   *   listenDatagram: (o: { hostname: string; port: number }) =>
   *     Promise.resolve({ local: { address: o.hostname, port: o.port }, send() {}, close() {} }),
   * } as unknown as RuntimeNet;
   * const reasons: string[] = [];
   * const media = new MediaEcho({
   *   net, hostname: "127.0.0.1", portRange: [20000, 20009], onEnd: (s) => void reasons.push(s.reason!),
   * });
   * media.reserve("c1", 0);
   * await media.open("c2", [{ index: 0 }]);
   * await media.closeAll();
   * assert.deepEqual(reasons, ["shutdown", "shutdown"]);
   * assert.equal(media.available, media.capacity);
   * ```
   */
  async closeAll(): Promise<void> {
    for (const call of [...this.#calls.values()]) this.#end(call, "shutdown");
    this.#closeIdle(Infinity);
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }

  /** Same as {@linkcode MediaEcho.closeAll}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.closeAll();
  }

  /**
   * A free pair: one still bound from an earlier call if there is one (#bindStream takes its
   * sockets), the one back longest; else the one released longest ago.
   */
  #take(): number | undefined {
    // open() takes all its pairs before binding any: a pooled pair taken already is no longer in #free.
    for (const port of this.#idle.keys()) if (this.#free.delete(port)) return port;
    for (const port of this.#free) {
      this.#free.delete(port);
      return port;
    }
    return undefined;
  }

  #addStream(callId: string, index: number, port: number, rtcpMux: boolean): _Stream {
    let call = this.#calls.get(callId);
    if (call === undefined) {
      call = {
        callId,
        streams: new Map(),
        openedAt: this.#now(),
        endedAt: undefined,
        firstPacketAt: undefined,
        lastPacketAt: undefined,
        sources: [],
        active: performance.now(),
        timer: undefined,
        ended: false,
        reason: undefined,
        error: undefined,
      };
      this.#calls.set(callId, call);
      if (this.#timeout > 0) this.#armInactivity(call, this.#timeout);
    }
    const stream: _Stream = {
      call,
      index,
      port,
      sockets: [],
      ssrc: this.#rewriteSsrc ? crypto.getRandomValues(new Uint32Array(1))[0] : undefined,
      rtp: _counters(),
      rtcp: _counters(),
      rtpSource: undefined,
      rtcpSource: undefined,
      bound: Promise.resolve(undefined),
      binding: 0,
      closed: false,
      released: false,
    };
    stream.sockets.push(_socket(stream, port, false));
    // RFC 3550 §11: RTCP on the next higher port; RFC 5761 §5.1.1: none with rtcp-mux.
    if (!rtcpMux) stream.sockets.push(_socket(stream, port + 1, true));
    call.streams.set(index, stream);
    return stream;
  }

  /**
   * Binds a stream's sockets, or takes them from the pool when its pair waits there (then at
   * once); resolves with `undefined`, or the error (and nothing stays bound).
   */
  #bindStream(stream: _Stream): Promise<unknown> {
    const idle = this.#idle.get(stream.port);
    if (idle !== undefined) {
      this.#idle.delete(stream.port);
      const [rtp, rtcp] = stream.sockets;
      _adopt(rtp, idle.rtp);
      if (rtcp !== undefined && idle.rtcp !== undefined) _adopt(rtcp, idle.rtcp);
      // RFC 5761 §5.1.1: a multiplexed stream leaves the odd port unbound.
      else if (idle.rtcp !== undefined) this.#closeEndpoint(idle.rtcp.endpoint);
      if (rtcp === undefined || rtcp.endpoint !== undefined) return Promise.resolve(undefined);
    }
    stream.binding++;
    const done = (async () => {
      const unbound = stream.sockets.filter((s) => s.endpoint === undefined);
      const results = await Promise.allSettled(unbound.map((s) => this.#bindSocket(stream, s)));
      const failed = results.find((r) => r.status === "rejected");
      if (failed === undefined) return undefined;
      for (const socket of stream.sockets) {
        if (socket.endpoint !== undefined) this.#closeEndpoint(socket.endpoint);
        socket.endpoint = undefined;
        socket.slot = undefined;
      }
      return (failed as PromiseRejectedResult).reason ?? new Error("bind failed");
    })().finally(() => {
      stream.binding--;
      this.#pending.delete(done);
      if (stream.closed) this.#release(stream);
    });
    this.#pending.add(done);
    return done;
  }

  async #bindSocket(stream: _Stream, socket: _Socket): Promise<void> {
    // The shims may hand over a datagram before listenDatagram() resolves: the slot has its
    // owner from the start (the echo of such a datagram is dropped: no endpoint to send it yet).
    const slot: _Slot = { owner: socket };
    for (let attempt = 0;; attempt++) {
      if (stream.closed) return;
      try {
        const endpoint = await this.#net.listenDatagram(
          { hostname: this.#hostname, port: socket.port, maxDatagram: MAX_PACKET, poll: true },
          (data, from) => {
            const owner = slot.owner;
            if (owner !== undefined) this.#packet(owner.stream, owner, data, from);
          },
          (error) => {
            // An error of a pair waiting in the pool (an ICMP error for an earlier call's echo) is nobody's.
            const owner = slot.owner;
            if (owner !== undefined) this.#error(error, owner.stream.call.callId);
          },
        );
        if (stream.closed) {
          this.#closeEndpoint(endpoint);
        } else {
          socket.endpoint = endpoint;
          socket.slot = slot;
        }
        return;
      } catch (e) {
        if (attempt >= BIND_RETRY_DELAYS.length) throw e;
        await new Promise((resolve) => setTimeout(resolve, BIND_RETRY_DELAYS[attempt]));
      }
    }
  }

  /** open(): binds a new stream, on another free pair if its pair is taken. */
  async #bindElsewhere(stream: _Stream): Promise<unknown> {
    let error = await this.#bindStream(stream);
    for (let tries = 0; error !== undefined && !stream.closed && tries < OTHER_PAIRS; tries++) {
      const port = this.#take();
      if (port === undefined) break;
      // The taken pair goes to the end of the free list: tried last by later calls.
      this.#free.add(stream.port);
      stream.port = port;
      for (const socket of stream.sockets) socket.port = socket.rtcp ? port + 1 : port;
      error = await this.#bindStream(stream);
    }
    return error;
  }

  /** open() failed or the call ended meanwhile: take back the streams it added, without onEnd. */
  #forget(streams: _Stream[]): void {
    for (const stream of streams) {
      const call = stream.call;
      if (call.streams.get(stream.index) === stream && !call.ended) call.streams.delete(stream.index);
      this.#closeStream(stream);
      if (!call.ended && call.streams.size === 0) {
        call.ended = true;
        clearTimeout(call.timer);
        if (this.#calls.get(call.callId) === call) this.#calls.delete(call.callId);
      }
    }
  }

  #packet(stream: _Stream, socket: _Socket, data: Uint8Array, from: SocketAddress): void {
    if (stream.closed) return;
    const call = stream.call;
    // RFC 5761 §4: on a multiplexed port, RTCP has packet types 192-223 in its second byte.
    const rtcp = socket.rtcp || (data.length > 1 && data[1] >= 192 && data[1] <= 223);
    const counters = rtcp ? stream.rtcp : stream.rtp;
    counters.packetsIn++;
    counters.bytesIn += data.length;
    const at = this.#now();
    call.firstPacketAt ??= at;
    call.lastPacketAt = at;
    const last = rtcp ? stream.rtcpSource : stream.rtpSource;
    if (last === undefined || last.port !== from.port || last.address !== from.address) {
      const source = { address: from.address, port: from.port };
      if (rtcp) stream.rtcpSource = source;
      else stream.rtpSource = source;
      const known = call.sources.some((s) => s.port === source.port && s.address === source.address);
      if (!known && call.sources.length < MAX_SOURCES) call.sources.push(source);
    }
    // RFC 3550 §5.1 and §6.4.1: version 2, and at least the fixed header (12 bytes for RTP; the
    // header and the sender's SSRC, 8 bytes, for RTCP). Anything else is not echoed, so the
    // ports do not reflect arbitrary UDP.
    if ((data[0] ?? 0) >> 6 !== 2 || data.length < (rtcp ? 8 : 12)) {
      counters.dropped++;
      return;
    }
    call.active = performance.now();
    let out = data;
    if (stream.ssrc !== undefined) {
      out = data.slice();
      if (rtcp) _rewriteRtcpSsrc(out, stream.ssrc);
      else _rewriteRtpSsrc(out, stream.ssrc);
    }
    if (this.#delay === 0) return this.#send(socket, out, from, counters);
    if (socket.queue.length - socket.head >= this.#maxQueue) {
      counters.dropped++;
      return;
    }
    // The runtime may reuse its receive buffer: keep a copy.
    socket.queue.push({ due: call.active + this.#delay, data: out === data ? data.slice() : out, to: from, counters });
    socket.timer ??= setTimeout(() => this.#flush(socket), this.#delay);
  }

  /** Sends what is due, in arrival order, and waits for the rest; never before its time. */
  #flush(socket: _Socket): void {
    socket.timer = undefined;
    const now = performance.now();
    const queue = socket.queue;
    while (socket.head < queue.length && queue[socket.head]!.due <= now) {
      const item = queue[socket.head]!;
      queue[socket.head++] = undefined;
      this.#send(socket, item.data, item.to, item.counters);
    }
    if (socket.head === queue.length) {
      queue.length = 0;
      socket.head = 0;
      return;
    }
    if (socket.head > 1024) {
      queue.splice(0, socket.head);
      socket.head = 0;
    }
    const wait = Math.max(1, Math.ceil(queue[socket.head]!.due - now));
    socket.timer = setTimeout(() => this.#flush(socket), wait);
  }

  #send(socket: _Socket, data: Uint8Array, to: SocketAddress, counters: MediaCounters): void {
    if (socket.endpoint === undefined) {
      counters.dropped++;
      return;
    }
    // RFC 4961 §3: sent from the port it came in on, to where it came from.
    socket.endpoint.send(data, to);
    counters.packetsOut++;
    counters.bytesOut += data.length;
  }

  #armInactivity(call: _Call, wait: number): void {
    call.timer = setTimeout(() => {
      call.timer = undefined;
      if (call.ended) return;
      const idle = performance.now() - call.active;
      if (idle >= this.#timeout) this.#end(call, "timeout");
      else this.#armInactivity(call, Math.max(1, Math.ceil(this.#timeout - idle)));
    }, wait);
  }

  #end(call: _Call, reason: MediaEndReason, error?: unknown): MediaCallStats {
    if (!call.ended) {
      call.ended = true;
      call.reason = reason;
      call.error = error;
      call.endedAt = this.#now();
      clearTimeout(call.timer);
      call.timer = undefined;
      if (this.#calls.get(call.callId) === call) this.#calls.delete(call.callId);
      // The pool is for the churn of calls the SIP side ends (BYE, CANCEL, a rejected INVITE):
      // after a timeout, an error or at shutdown the sockets are closed and the ports left free.
      for (const stream of call.streams.values()) this.#closeStream(stream, reason === "closed");
      const stats = _snapshot(call);
      try {
        this.#onEnd?.(stats);
      } catch (e) {
        this.#error(e, call.callId);
      }
    }
    return _snapshot(call);
  }

  /**
   * Ends a stream: drops what the delay holds, and closes its sockets, or with `pool` puts the
   * pair into the pool when it is fully bound and the pool has room.
   */
  #closeStream(stream: _Stream, pool = false): void {
    if (stream.closed) return;
    stream.closed = true;
    const [rtp, rtcp] = stream.sockets;
    const keep = pool && stream.binding === 0 && this.#idle.size < this.#poolSize &&
      stream.sockets.every((s) => s.endpoint !== undefined && s.slot !== undefined);
    const idle: _Idle | undefined = keep
      ? {
        rtp: { endpoint: rtp.endpoint!, slot: rtp.slot! },
        rtcp: rtcp && { endpoint: rtcp.endpoint!, slot: rtcp.slot! },
        since: performance.now(),
      }
      : undefined;
    for (const socket of stream.sockets) {
      clearTimeout(socket.timer);
      socket.timer = undefined;
      for (let i = socket.head; i < socket.queue.length; i++) socket.queue[i]!.counters.dropped++;
      socket.queue = [];
      socket.head = 0;
      if (socket.slot !== undefined) socket.slot.owner = undefined;
      if (!keep && socket.endpoint !== undefined) this.#closeEndpoint(socket.endpoint);
      socket.endpoint = undefined;
      socket.slot = undefined;
    }
    this.#release(stream, idle);
  }

  /** Gives a closed stream's pair back, once no bind of it is in flight; `idle`: still bound. */
  #release(stream: _Stream, idle?: _Idle): void {
    if (stream.released || stream.binding > 0) return;
    stream.released = true;
    this.#free.add(stream.port);
    if (idle === undefined) return;
    this.#idle.set(stream.port, idle);
    this.#sweep ??= setTimeout(() => this.#sweepIdle(), POOL_IDLE);
  }

  /** Closes the pairs idle for POOL_IDLE ms, and waits for the next one to be. */
  #sweepIdle(): void {
    this.#sweep = undefined;
    const now = performance.now();
    this.#closeIdle(now - POOL_IDLE);
    for (const idle of this.#idle.values()) {
      this.#sweep = setTimeout(() => this.#sweepIdle(), Math.max(1, Math.ceil(idle.since + POOL_IDLE - now)));
      break;
    }
  }

  /** Closes the pooled pairs back since before `before` (performance.now() time; Infinity: all). */
  #closeIdle(before: number): void {
    for (const [port, idle] of this.#idle) {
      if (idle.since >= before) break;
      this.#idle.delete(port);
      this.#closeEndpoint(idle.rtp.endpoint);
      if (idle.rtcp !== undefined) this.#closeEndpoint(idle.rtcp.endpoint);
    }
    if (this.#idle.size === 0) {
      clearTimeout(this.#sweep);
      this.#sweep = undefined;
    }
  }

  /**
   * Closes a socket; a close that returns a promise (the shim lets go of something on another
   * thread: the Deno reactor's wait, when the last polled socket goes) is awaited by closeAll().
   */
  #closeEndpoint(endpoint: DatagramEndpoint): void {
    const closing = endpoint.close();
    if (closing === undefined) return;
    const done: Promise<unknown> = closing.then(() => {}, () => {}).finally(() => this.#pending.delete(done));
    this.#pending.add(done);
  }

  #error(error: unknown, callId: string): void {
    this.#onError?.(error, callId);
  }
}

function _isPort(n: unknown): n is number {
  return Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 65535;
}

function _option(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value >= min && value <= max)) {
    throw new RangeError(`Cannot create MediaEcho: ${name} must be a number from ${min} to ${max}, not ${value}`);
  }
  return value;
}

function _checkIndex(index: number): void {
  if (!Number.isInteger(index) || index < 0) {
    throw new RangeError(`Cannot open media: m-line index must be a non-negative integer, not ${index}`);
  }
}

function _counters(): MediaCounters {
  return { packetsIn: 0, bytesIn: 0, packetsOut: 0, bytesOut: 0, dropped: 0 };
}

function _socket(stream: _Stream, port: number, rtcp: boolean): _Socket {
  return { stream, rtcp, port, endpoint: undefined, slot: undefined, queue: [], head: 0, timer: undefined };
}

/** A stream's socket takes a pooled endpoint: from now on its datagrams go to that socket. */
function _adopt(socket: _Socket, bound: _Bound): void {
  socket.endpoint = bound.endpoint;
  socket.slot = bound.slot;
  bound.slot.owner = socket;
}

function _ports(stream: _Stream): MediaPorts {
  return { index: stream.index, rtpPort: stream.port, rtcpPort: stream.sockets[1]?.port };
}

// RFC 3550 §5.1: the SSRC is the third 32-bit word of the fixed RTP header.
function _rewriteRtpSsrc(packet: Uint8Array, ssrc: number): void {
  new DataView(packet.buffer, packet.byteOffset, packet.byteLength).setUint32(8, ssrc);
}

// RFC 3550 §6.4-§6.7 (and RFC 4585 §6.1 for feedback): each packet of a compound RTCP packet has
// its sender's SSRC (SR, RR, APP, RTPFB, PSFB), or its first SSRC (SDES chunk, BYE), in the second
// word; its length field is its size in 32-bit words minus one (§6.4.1).
function _rewriteRtcpSsrc(packet: Uint8Array, ssrc: number): void {
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  for (let offset = 0; offset + 4 <= packet.length;) {
    const size = (view.getUint16(offset + 2) + 1) * 4;
    if (size >= 8 && offset + 8 <= packet.length) view.setUint32(offset + 4, ssrc);
    offset += size;
  }
}

function _snapshot(call: _Call): MediaCallStats {
  const totals = _counters();
  const streams = [...call.streams.values()].sort((a, b) => a.index - b.index).map((s): MediaStreamStats => {
    for (const c of [s.rtp, s.rtcp]) {
      totals.packetsIn += c.packetsIn;
      totals.bytesIn += c.bytesIn;
      totals.packetsOut += c.packetsOut;
      totals.bytesOut += c.bytesOut;
      totals.dropped += c.dropped;
    }
    return {
      index: s.index,
      rtpPort: s.port,
      rtcpPort: s.sockets[1]?.port,
      ssrc: s.ssrc,
      rtp: { ...s.rtp },
      rtcp: { ...s.rtcp },
      rtpSource: s.rtpSource && { ...s.rtpSource },
      rtcpSource: s.rtcpSource && { ...s.rtcpSource },
    };
  });
  const stats: MediaCallStats = {
    callId: call.callId,
    reason: call.reason,
    openedAt: call.openedAt,
    endedAt: call.endedAt,
    firstPacketAt: call.firstPacketAt,
    lastPacketAt: call.lastPacketAt,
    sources: call.sources.map((s) => ({ ...s })),
    streams,
    ...totals,
  };
  if (call.reason === "error") stats.error = call.error;
  return stats;
}
