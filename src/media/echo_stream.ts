/**
 * The echo of one stream: a packet that arrives on a stream's socket is counted and sent back
 * to where it came from, from that socket (symmetric RTP, RFC 4961 §3), unchanged or with our
 * SSRC, at once or after the delay (a bounded queue per socket, one timer per socket).
 *
 * @module
 */

import type { SocketAddress } from "../net/transport.ts";
import type { _Socket } from "./call_state.ts";
import type { _EchoSettings } from "./echo_options.ts";
import { _hasFixedHeader, _isMuxedRtcp, _rewriteRtcpSsrc, _rewriteRtpSsrc } from "./rtp_packet.ts";
import type { MediaCounters } from "./stats.ts";

// The distinct sources a call's stats keep (MediaCallStats.sources).
const MAX_SOURCES = 8;

/**
 * A datagram arrived on a stream's socket: counts it, notes its source, and echoes it (or holds
 * it back for `delay` ms). What is not RTP or RTCP version 2 is counted as dropped.
 *
 * @param settings The echo's `delay`, `maxQueue` and clock.
 * @param socket The socket it arrived on.
 * @param data The UDP payload (the runtime may reuse its buffer once this returns).
 * @param from Where it came from: where the echo goes.
 */
export function _receive(
  settings: Pick<_EchoSettings, "delay" | "maxQueue" | "now" | "onRtp">,
  socket: _Socket,
  data: Uint8Array,
  from: SocketAddress,
): void {
  const stream = socket.stream;
  if (stream.closed) return;
  const call = stream.call;
  // RFC 5761 §4: on a multiplexed port, RTCP is told from RTP by its packet type.
  const rtcp = socket.rtcp || _isMuxedRtcp(data);
  const counters = rtcp ? stream.rtcp : stream.rtp;
  counters.packetsIn++;
  counters.bytesIn += data.length;
  const at = settings.now();
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
  // RFC 3550 §5.1, §6.4.1: only version 2 with a whole fixed header is echoed, so the ports do
  // not reflect arbitrary UDP.
  if (!_hasFixedHeader(data, rtcp)) {
    counters.dropped++;
    return;
  }
  call.active = performance.now();
  // The media flows (DTMF, recording, announcements) see RTP first; `false`: not echoed.
  if (!rtcp && settings.onRtp !== undefined && settings.onRtp(call.callId, stream.index, data, from) === false) {
    counters.dropped++;
    return;
  }
  // RFC 3264 §5.1, §8.4: on hold (our direction recvonly or inactive) no RTP is sent; RTCP is
  // (RFC 3264 §5.1: RTCP goes on whatever the direction).
  if (!rtcp && !_sends(stream.direction)) {
    counters.dropped++;
    return;
  }
  let out = data;
  if (stream.ssrc !== undefined) {
    out = data.slice();
    if (rtcp) _rewriteRtcpSsrc(out, stream.ssrc);
    else _rewriteRtpSsrc(out, stream.ssrc);
  }
  const delay = settings.delay;
  if (delay === 0) return _send(socket, out, from, counters);
  if (socket.queue.length - socket.head >= settings.maxQueue) {
    counters.dropped++;
    return;
  }
  // The runtime may reuse its receive buffer: keep a copy.
  socket.queue.push({ due: call.active + delay, data: out === data ? data.slice() : out, to: from, counters });
  socket.timer ??= setTimeout(() => _flush(socket), delay);
}

/** Sends what is due, in arrival order, and waits for the rest; never before its time. */
function _flush(socket: _Socket): void {
  socket.timer = undefined;
  const now = performance.now();
  const queue = socket.queue;
  while (socket.head < queue.length && queue[socket.head]!.due <= now) {
    const item = queue[socket.head]!;
    queue[socket.head++] = undefined;
    _send(socket, item.data, item.to, item.counters);
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
  socket.timer = setTimeout(() => _flush(socket), wait);
}

function _send(socket: _Socket, data: Uint8Array, to: SocketAddress, counters: MediaCounters): void {
  if (socket.endpoint === undefined) {
    counters.dropped++;
    return;
  }
  // RFC 4961 §3: sent from the port it came in on, to where it came from.
  socket.endpoint.send(data, to);
  counters.packetsOut++;
  counters.bytesOut += data.length;
}

/** Drops what the delay holds back on a socket (counted as dropped) and stops its timer. */
export function _dropHeld(socket: _Socket): void {
  clearTimeout(socket.timer);
  socket.timer = undefined;
  for (let i = socket.head; i < socket.queue.length; i++) socket.queue[i]!.counters.dropped++;
  socket.queue = [];
  socket.head = 0;
}

/** Whether a direction lets us send RTP (RFC 3264 §6.1). */
export function _sends(direction: string): boolean {
  return direction === "sendrecv" || direction === "sendonly";
}

/** Whether a direction has us receive RTP (RFC 3264 §6.1). */
export function _receives(direction: string): boolean {
  return direction === "sendrecv" || direction === "recvonly";
}
