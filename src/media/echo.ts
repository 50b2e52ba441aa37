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
 * Where the parts are: `port_pool.ts` (which pair a stream gets, the pool), `media_sockets.ts`
 * (binding, closing and pooling the sockets), `echo_stream.ts` (a packet in, its echo out, the
 * delay queue), `rtp_packet.ts` (the RTP and RTCP header fields it reads and writes),
 * `call_state.ts` (the records of a call), `stats.ts` (the counters, {@linkcode describeMedia})
 * and `echo_options.ts` (the options, their defaults and checks).
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
 * Some 750 lines, most of them JSDoc examples: the class holds the port range, the pool and the
 * streams, whose methods all change the three together; the packet path and the options are in
 * their own modules.
 *
 * @module
 */

import type { SessionDescription } from "./sdp_types.ts";
import type { SocketAddress } from "../net/transport.ts";
import { hasRtcpMux } from "./sdp_attributes.ts";
import { _isRtpProtocol } from "./codecs.ts";
import { type _Call, _newCall, _newStream, _rtcpPort, _snapshot, type _Stream } from "./call_state.ts";
import { type _EchoSettings, _echoSettings, type MediaEchoOptions } from "./echo_options.ts";
import { _MediaSockets } from "./media_sockets.ts";
import { _dropHeld, _receives, _sends } from "./echo_stream.ts";
import type { SdpDirection } from "./sdp_types.ts";
import { _addCounters, _counters, type MediaCallStats, type MediaCounters, type MediaEndReason } from "./stats.ts";

export type { MediaCallStats, MediaCounters, MediaEndReason, MediaStreamStats } from "./stats.ts";
export type { MediaEchoOptions } from "./echo_options.ts";

/**
 * A stream to open: the m-line index and whether it multiplexes RTP and RTCP. An
 * `AcceptedStream` of `answerSdp()` is one.
 *
 * @example
 * ```ts
 * import type { MediaStreamRequest } from "@sipecho/sipecho/media";
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
 * import type { MediaPorts } from "@sipecho/sipecho/media";
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
 * import type { MediaOpenResult } from "@sipecho/sipecho/media";
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
 * import { MediaEcho } from "@sipecho/sipecho/media";
 * import { type RuntimeNet } from "@sipecho/sipecho/net";
 * import { type SocketAddress } from "@sipecho/sipecho/message";
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
  #settings: _EchoSettings;
  /** The sockets of the streams and the port pairs they are bound on. */
  #sockets: _MediaSockets;
  #calls = new Map<string, _Call>();
  /** The counters of every call that has ended, summed (for {@linkcode MediaEcho.totals}). */
  #ended: MediaCounters = _counters();

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
    this.#settings = _echoSettings(options);
    this.#sockets = new _MediaSockets(this.#settings);
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
   * import { MediaEcho } from "@sipecho/sipecho/media";
   * import { parseSdp } from "@sipecho/sipecho";
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
      if (m.port !== 0 && _isRtpProtocol(m.proto)) streams.push({ index, rtcpMux: hasRtcpMux(m) });
    });
    return streams;
  }

  /**
   * How many more streams can get ports now. {@linkcode MediaEcho.reserve} returns `undefined`
   * when it is 0, and the peer then answers 503.
   *
   * @example
   * ```ts
   * import { MediaEcho } from "@sipecho/sipecho/media";
   * import { type RuntimeNet } from "@sipecho/sipecho/net";
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
    return this.#sockets.pool.available;
  }

  /**
   * How many streams the port range holds: the even ports with their odd neighbour in range.
   *
   * @example
   * ```ts
   * import { MediaEcho } from "@sipecho/sipecho/media";
   * import { type RuntimeNet } from "@sipecho/sipecho/net";
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
    return this.#sockets.pool.capacity;
  }

  /**
   * How many calls have media now.
   *
   * @example
   * ```ts
   * import { MediaEcho } from "@sipecho/sipecho/media";
   * import { type RuntimeNet } from "@sipecho/sipecho/net";
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
   * The counters of every call since the echo was made, summed (RTP and RTCP together), and the
   * streams open now. Adds up the calls that run (a walk over them); the ended ones were added
   * once, as they ended, so nothing is counted per packet beyond the call's own counters.
   *
   * @returns A new object.
   * @example
   * ```ts
   * import { MediaEcho } from "@sipecho/sipecho/media";
   * import { type RuntimeNet } from "@sipecho/sipecho/net";
   * import assert from "node:assert/strict";
   *
   * const net = {
   *   listenDatagram: (o: { hostname: string; port: number }) =>
   *     Promise.resolve({ local: { address: o.hostname, port: o.port }, send() {}, close() {} }),
   * } as unknown as RuntimeNet;
   * const media = new MediaEcho({ net, hostname: "127.0.0.1", portRange: [20000, 20009] });
   * media.reserve("c1", 0);
   * media.reserve("c1", 1);
   * assert.deepEqual(media.totals(), { streams: 2, packetsIn: 0, bytesIn: 0, packetsOut: 0, bytesOut: 0, dropped: 0 });
   * await media.closeAll();
   * assert.equal(media.totals().streams, 0);
   * ```
   */
  totals(): MediaCounters & { streams: number } {
    const sum = { streams: 0, ..._counters() };
    _addCounters(sum, this.#ended);
    for (const call of this.#calls.values()) {
      sum.streams += call.streams.size;
      for (const stream of call.streams.values()) {
        _addCounters(sum, stream.rtp);
        _addCounters(sum, stream.rtcp);
      }
    }
    return sum;
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
   * import { MediaEcho } from "@sipecho/sipecho/media";
   * import { type RuntimeNet } from "@sipecho/sipecho/net";
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
    const port = this.#sockets.pool.take();
    if (port === undefined) return undefined;
    const stream = this.#addStream(callId, index, port, options.rtcpMux ?? false);
    stream.bound = this.#sockets.bind(stream).then((error) => {
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
   * import { MediaEcho } from "@sipecho/sipecho/media";
   * import { type RuntimeNet } from "@sipecho/sipecho/net";
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
    const pool = this.#sockets.pool;
    if (fresh.length > pool.available) return { ok: false, reason: "no-ports", status: 503 };
    const created = fresh.map(([index, rtcpMux]) => this.#addStream(callId, index, pool.take()!, rtcpMux));
    for (const stream of created) stream.bound = this.#sockets.bindElsewhere(stream);
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
   * import { MediaEcho } from "@sipecho/sipecho/media";
   * import { type RuntimeNet } from "@sipecho/sipecho/net";
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
   * Sets our direction for a stream, as the last SDP answer says it (RFC 3264 §6.1): the hold
   * and resume of RFC 3264 §8.4 and RFC 6337 §5.3. While it does not let us send (`recvonly`,
   * `inactive`), arriving RTP is counted and given to the media flows but not echoed (counted
   * as dropped), what the delay holds back is dropped, and {@linkcode MediaEcho.send} sends
   * nothing; RTCP is still echoed (RFC 3264 §5.1). The ports stay allocated. While no stream of
   * the call expects to receive (`sendonly`, `inactive`), silence does not end the call
   * (`inactivityTimeout`): a held caller may send nothing. `sendrecv` resumes.
   *
   * @param callId The Call-ID.
   * @param index The 0-based m-line index.
   * @param direction Our direction for it: that of the answer.
   * @returns Whether the stream exists.
   * @example
   * ```ts
   * import { MediaEcho } from "@sipecho/sipecho/media";
   * import { type RuntimeNet } from "@sipecho/sipecho/net";
   * import assert from "node:assert/strict";
   *
   * const inbox = new Map<number, (data: Uint8Array, from: { address: string; port: number }) => void>();
   * let echoed = 0;
   * const net = {
   *   listenDatagram: (o: { hostname: string; port: number }, onData: (d: Uint8Array, f: { address: string; port: number }) => void) => {
   *     inbox.set(o.port, onData);
   *     return Promise.resolve({ local: { address: o.hostname, port: o.port }, send: () => void echoed++, close() {} });
   *   },
   * } as unknown as RuntimeNet;
   * const media = new MediaEcho({ net, hostname: "127.0.0.1", portRange: [20000, 20001] });
   * await media.open("c1", [{ index: 0 }]);
   * const rtp = new Uint8Array(172);
   * rtp[0] = 0x80;
   * assert.equal(media.setDirection("c1", 0, "recvonly"), true); // the caller holds: a=sendonly
   * inbox.get(20000)!(rtp, { address: "127.0.0.1", port: 4000 });
   * assert.equal(echoed, 0);
   * media.setDirection("c1", 0, "sendrecv"); // resumed
   * inbox.get(20000)!(rtp, { address: "127.0.0.1", port: 4000 });
   * assert.equal(echoed, 1);
   * assert.equal(media.setDirection("c2", 0, "inactive"), false);
   * await media.closeAll();
   * ```
   */
  setDirection(callId: string, index: number, direction: SdpDirection): boolean {
    const call = this.#calls.get(callId);
    const stream = call?.streams.get(index);
    if (call === undefined || stream === undefined) return false;
    const was = stream.direction;
    stream.direction = direction;
    if (!_sends(direction)) { for (const socket of stream.sockets) if (!socket.rtcp) _dropHeld(socket); }
    // Back to receiving: the silence of the hold does not count against inactivityTimeout.
    if (!_receives(was) && _receives(direction)) call.active = performance.now();
    return true;
  }

  /**
   * Sends a packet of our own (an announcement) from the RTP socket of a stream: the port the
   * caller sends to, so it reaches a caller behind a NAT as the echo does (RFC 4961 §3). It is
   * not counted in the echo's counters.
   *
   * @param callId The Call-ID.
   * @param index The 0-based m-line index.
   * @param data The RTP packet.
   * @param to Where to send it.
   * @returns Whether it was sent: `false` when the stream has no bound RTP socket. On a held
   *   stream ({@linkcode MediaEcho.setDirection}) nothing is sent and the result is `true`.
   * @example
   * ```ts
   * import { MediaEcho } from "@sipecho/sipecho/media";
   * import { type RuntimeNet } from "@sipecho/sipecho/net";
   * import assert from "node:assert/strict";
   *
   * const sent: number[] = [];
   * const net = {
   *   listenDatagram: (o: { hostname: string; port: number }) =>
   *     Promise.resolve({ local: { address: o.hostname, port: o.port }, send: (d: Uint8Array) => void sent.push(d.length), close() {} }),
   * } as unknown as RuntimeNet;
   * const media = new MediaEcho({ net, hostname: "127.0.0.1", portRange: [20000, 20003] });
   * await media.open("c1", [{ index: 0 }]);
   * assert.equal(media.send("c1", 0, new Uint8Array(172), { address: "127.0.0.1", port: 4000 }), true);
   * assert.equal(media.send("c2", 0, new Uint8Array(172), { address: "127.0.0.1", port: 4000 }), false);
   * assert.deepEqual(sent, [172]);
   * await media.closeAll();
   * ```
   */
  send(callId: string, index: number, data: Uint8Array, to: SocketAddress): boolean {
    const stream = this.#calls.get(callId)?.streams.get(index);
    const endpoint = stream?.sockets[0]?.endpoint;
    if (endpoint === undefined) return false;
    // RFC 3264 §8.4: nothing is sent on a held stream; the announcement goes on, unheard.
    if (_sends(stream!.direction)) endpoint.send(data, to);
    return true;
  }

  /**
   * The counters of a call whose media runs (a copy).
   *
   * @param callId The Call-ID.
   * @returns The stats, or `undefined` if the call has no media (never had, or ended: the final
   *   stats went to `onEnd` and to the caller of `close()`).
   * @example
   * ```ts
   * import { MediaEcho } from "@sipecho/sipecho/media";
   * import { type RuntimeNet } from "@sipecho/sipecho/net";
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
   * import { MediaEcho } from "@sipecho/sipecho/media";
   * import { type RuntimeNet } from "@sipecho/sipecho/net";
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
   * import { MediaEcho } from "@sipecho/sipecho/media";
   * import { type RuntimeNet } from "@sipecho/sipecho/net";
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
    await this.#sockets.settle();
  }

  /** Same as {@linkcode MediaEcho.closeAll}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.closeAll();
  }

  #addStream(callId: string, index: number, port: number, rtcpMux: boolean): _Stream {
    let call = this.#calls.get(callId);
    if (call === undefined) {
      call = _newCall(callId, this.#settings.now());
      this.#calls.set(callId, call);
      if (this.#settings.inactivityTimeout > 0) this.#armInactivity(call, this.#settings.inactivityTimeout);
    }
    const ssrc = this.#settings.rewriteSsrc ? crypto.getRandomValues(new Uint32Array(1))[0] : undefined;
    const stream = _newStream(call, index, port, rtcpMux, ssrc);
    call.streams.set(index, stream);
    return stream;
  }

  /** open() failed or the call ended meanwhile: take back the streams it added, without onEnd. */
  #forget(streams: _Stream[]): void {
    for (const stream of streams) {
      const call = stream.call;
      if (call.streams.get(stream.index) === stream && !call.ended) call.streams.delete(stream.index);
      this.#sockets.close(stream);
      if (!call.ended && call.streams.size === 0) this.#retire(call);
    }
  }

  /** Marks a call ended, stops its inactivity timer and forgets it; its streams are the caller's. */
  #retire(call: _Call): void {
    call.ended = true;
    clearTimeout(call.timer);
    call.timer = undefined;
    if (this.#calls.get(call.callId) === call) this.#calls.delete(call.callId);
  }

  #armInactivity(call: _Call, wait: number): void {
    call.timer = setTimeout(() => {
      call.timer = undefined;
      if (call.ended) return;
      const timeout = this.#settings.inactivityTimeout;
      // A call on hold may be silent (RFC 3264 §8.4): its silence is not inactivity.
      if (![...call.streams.values()].some((s) => _receives(s.direction))) call.active = performance.now();
      const idle = performance.now() - call.active;
      if (idle >= timeout) this.#end(call, "timeout");
      else this.#armInactivity(call, Math.max(1, Math.ceil(timeout - idle)));
    }, wait);
  }

  #end(call: _Call, reason: MediaEndReason, error?: unknown): MediaCallStats {
    if (!call.ended) {
      this.#retire(call);
      call.reason = reason;
      call.error = error;
      call.endedAt = this.#settings.now();
      // The pool is for the churn of calls the SIP side ends (BYE, CANCEL, a rejected INVITE):
      // after a timeout, an error or at shutdown the sockets are closed and the ports left free.
      for (const stream of call.streams.values()) this.#sockets.close(stream, reason === "closed");
      const stats = _snapshot(call);
      _addCounters(this.#ended, stats);
      try {
        this.#settings.onEnd?.(stats);
      } catch (e) {
        this.#settings.onError?.(e, call.callId);
      }
    }
    return _snapshot(call);
  }
}

function _checkIndex(index: number): void {
  if (!Number.isInteger(index) || index < 0) {
    throw new RangeError(`Cannot open media: m-line index must be a non-negative integer, not ${index}`);
  }
}

function _ports(stream: _Stream): MediaPorts {
  return { index: stream.index, rtpPort: stream.port, rtcpPort: _rtcpPort(stream) };
}
