/**
 * The records `MediaEcho` keeps for a call: the call, its streams (one per m-line) and their
 * sockets; and the stats they make ({@linkcode _snapshot}).
 *
 * @module
 */

import type { DatagramEndpoint, SocketAddress } from "../net/transport.ts";
import type { SdpDirection } from "./sdp_types.ts";
import {
  _addCounters,
  _counters,
  type MediaCallStats,
  type MediaCounters,
  type MediaEndReason,
  type MediaStreamStats,
} from "./stats.ts";

/** A packet the delay holds back. */
export interface _Queued {
  due: number;
  data: Uint8Array;
  to: SocketAddress;
  counters: MediaCounters;
}

/** One UDP socket of a stream: RTP (which also takes multiplexed RTCP) or RTCP. */
export interface _Socket {
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
export interface _Slot {
  owner: _Socket | undefined;
}

/** A bound endpoint with its slot. */
export interface _Bound {
  endpoint: DatagramEndpoint;
  slot: _Slot;
}

/** A pair waiting bound in the pool: RTP, and RTCP unless its last call multiplexed (RFC 5761). */
export interface _Pair {
  rtp: _Bound;
  rtcp: _Bound | undefined;
}

/** One stream (m-line) of a call: its port pair, sockets, counters and bind state. */
export interface _Stream {
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
  /**
   * Our direction for the stream, as in the last SDP answer (RFC 3264 §6.1): RTP is echoed only
   * while it lets us send (`sendrecv`, `sendonly`); held (`recvonly`, `inactive`) it is not.
   */
  direction: SdpDirection;
}

/** The media of one call. */
export interface _Call {
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

/** A call with no stream yet, opened at `openedAt` (the `now` option's clock). */
export function _newCall(callId: string, openedAt: number): _Call {
  return {
    callId,
    streams: new Map(),
    openedAt,
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
}

/** A stream of `call` on the pair at `port`, its sockets not bound yet. */
export function _newStream(call: _Call, index: number, port: number, rtcpMux: boolean, ssrc?: number): _Stream {
  const stream: _Stream = {
    call,
    index,
    port,
    sockets: [],
    ssrc,
    rtp: _counters(),
    rtcp: _counters(),
    rtpSource: undefined,
    rtcpSource: undefined,
    bound: Promise.resolve(undefined),
    binding: 0,
    closed: false,
    released: false,
    direction: "sendrecv",
  };
  stream.sockets.push(_socket(stream, port, false));
  // RFC 3550 §11: RTCP on the next higher port; RFC 5761 §5.1.1: none with rtcp-mux.
  if (!rtcpMux) stream.sockets.push(_socket(stream, port + 1, true));
  return stream;
}

function _socket(stream: _Stream, port: number, rtcp: boolean): _Socket {
  return { stream, rtcp, port, endpoint: undefined, slot: undefined, queue: [], head: 0, timer: undefined };
}

/** A stream's socket takes a pooled endpoint: from now on its datagrams go to that socket. */
export function _adopt(socket: _Socket, bound: _Bound): void {
  socket.endpoint = bound.endpoint;
  socket.slot = bound.slot;
  bound.slot.owner = socket;
}

/** The RTCP port of a stream: `port + 1`, or `undefined` with rtcp-mux. */
export function _rtcpPort(stream: _Stream): number | undefined {
  return stream.sockets[1]?.port;
}

/** The stats of a call: a copy, with the totals over its streams and over RTP and RTCP. */
export function _snapshot(call: _Call): MediaCallStats {
  const totals = _counters();
  const streams = [...call.streams.values()].sort((a, b) => a.index - b.index).map((s): MediaStreamStats => {
    _addCounters(totals, s.rtp);
    _addCounters(totals, s.rtcp);
    return {
      index: s.index,
      rtpPort: s.port,
      rtcpPort: _rtcpPort(s),
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
