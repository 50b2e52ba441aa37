/**
 * What the media of a call has seen: the counters per stream and per call that `MediaEcho`
 * keeps (and gives to `onEnd`), and {@linkcode describeMedia}, the line they make in the log.
 *
 * @module
 */

import type { SocketAddress } from "../net/transport.ts";

/**
 * Why the media of a call ended: `closed` by {@linkcode MediaEcho.close} (BYE, CANCEL, a failed
 * INVITE), `timeout` (no packet for `inactivityTimeout` ms), `error` (a socket of an announced
 * port could not be bound), `shutdown` by {@linkcode MediaEcho.closeAll}. After `timeout` and
 * `error` the SIP side should end the dialog with BYE.
 *
 * @example
 * ```ts
 * import type { MediaEndReason } from "@sipecho/sipecho/media";
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
 * import type { MediaCounters } from "@sipecho/sipecho/media";
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
 * import type { MediaStreamStats } from "@sipecho/sipecho/media";
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
 * import type { MediaCallStats } from "@sipecho/sipecho/media";
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
 * One line for the end of a call's media: why, how long, RTP and RTCP packets and bytes in and
 * out, what was dropped, the first and last packet's time (UTC), and where they came from.
 *
 * @param stats The final counters.
 * @param why Why it ended: the SIP reason (`bye`, `cancelled`, ...) or the media's (`timeout`).
 * @returns The line.
 * @example
 * ```ts
 * import { describeMedia } from "./stats.ts";
 * import assert from "node:assert/strict";
 *
 * const zero = { packetsIn: 0, bytesIn: 0, packetsOut: 0, bytesOut: 0, dropped: 0 };
 * const line = describeMedia({
 *   callId: "c1", reason: "closed", openedAt: 0, endedAt: 5000, firstPacketAt: 20, lastPacketAt: 4980,
 *   sources: [{ address: "192.0.2.9", port: 6000 }], streams: [{
 *     index: 0, rtpPort: 20000, rtcpPort: 20001, ssrc: undefined, rtpSource: undefined, rtcpSource: undefined,
 *     rtp: { packetsIn: 250, bytesIn: 43000, packetsOut: 250, bytesOut: 43000, dropped: 0 }, rtcp: zero,
 *   }], packetsIn: 250, bytesIn: 43000, packetsOut: 250, bytesOut: 43000, dropped: 0,
 * }, "bye");
 * assert.equal(
 *   line,
 *   "call c1 ended (bye) after 5.0 s: port 20000 rtp 250 in 250 out (43000/43000 bytes), rtcp 0 in 0 out " +
 *     "(0/0 bytes), 0 dropped, packets 00:00:00.020-00:00:04.980 from 192.0.2.9:6000",
 * );
 * ```
 */
export function describeMedia(stats: MediaCallStats, why: string): string {
  const rtp = _counters();
  const rtcp = _counters();
  for (const s of stats.streams) {
    _addCounters(rtp, s.rtp);
    _addCounters(rtcp, s.rtcp);
  }
  const seconds = ((stats.endedAt ?? Date.now()) - stats.openedAt) / 1000;
  const ports = stats.streams.map((s) => s.rtpPort).join(",");
  const from = stats.sources.map((a) => a.address.includes(":") ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`)
    .join(", ");
  const packets = stats.firstPacketAt === undefined
    ? "no packet received"
    : `packets ${_clock(stats.firstPacketAt)}-${_clock(stats.lastPacketAt)} from ${from}`;
  return `call ${stats.callId} ended (${why}) after ${seconds.toFixed(1)} s: port${
    stats.streams.length === 1 ? "" : "s"
  } ${ports} rtp ${rtp.packetsIn} in ${rtp.packetsOut} out (${rtp.bytesIn}/${rtp.bytesOut} bytes), rtcp ${rtcp.packetsIn} in ${rtcp.packetsOut} out (${rtcp.bytesIn}/${rtcp.bytesOut} bytes), ${stats.dropped} dropped, ${packets}`;
}

/** A time of day (UTC) with milliseconds, `-` for none. */
function _clock(ms: number | undefined): string {
  return ms === undefined ? "-" : new Date(ms).toISOString().slice(11, 23);
}

/** Zeroed counters. */
export function _counters(): MediaCounters {
  return { packetsIn: 0, bytesIn: 0, packetsOut: 0, bytesOut: 0, dropped: 0 };
}

/** Adds the counters `c` to `sum`. */
export function _addCounters(sum: MediaCounters, c: MediaCounters): void {
  sum.packetsIn += c.packetsIn;
  sum.bytesIn += c.bytesIn;
  sum.packetsOut += c.packetsOut;
  sum.bytesOut += c.bytesOut;
  sum.dropped += c.dropped;
}
