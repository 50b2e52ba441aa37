/**
 * `server.stats()`: the peer's counters ({@linkcode PeerStats}) with what the server around it
 * holds: its RTP echo's streams and packets, and its connections.
 *
 * @module
 */

import type { MediaEcho } from "../media/echo.ts";
import type { PeerStats } from "../ua/counters.ts";
import type { SipPeer } from "../ua/peer.ts";
import type { ConnectionTable } from "./connections.ts";

/**
 * What a server has counted since it started: everything of {@linkcode PeerStats}, the
 * server's own drops among `drops` (`transport`, `internal`), and its RTP echo and connections.
 *
 * @example
 * ```ts
 * import { MockPeer, serve, type ServerStats } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * await using server = await serve({ listen: [{ transport: "udp", hostname: "127.0.0.1", port: 0 }], media: true });
 * await using client = await MockPeer.start();
 * await client.request({ method: "OPTIONS", uri: server.uri("echo") });
 * const stats: ServerStats = server.stats();
 * assert.equal(stats.requests.OPTIONS.udp, 1);
 * assert.equal(stats.responses[200], 1);
 * assert.equal(stats.rtp.streams, 0);
 * assert.equal(stats.rtp.streamLimit, 5000);
 * ```
 */
export interface ServerStats extends PeerStats {
  /**
   * The RTP echo (zeros and a limit of 0 without `media`): the streams open now and how many
   * the port range holds, and the packets and bytes (RTP and RTCP, UDP payload) received,
   * echoed and dropped, over every call so far.
   */
  rtp: {
    streams: number;
    streamLimit: number;
    packetsIn: number;
    bytesIn: number;
    packetsOut: number;
    bytesOut: number;
    dropped: number;
  };
  /** The TCP and WebSocket connections open now, and the limit (`ConnectionLimits.maxConnections`). */
  connections: { active: number; limit: number };
}

/**
 * The stats of a server.
 *
 * @param peer The server's peer.
 * @param media Its RTP echo, if on.
 * @param connections Its connections.
 * @returns A new object.
 */
export function _serverStats(
  peer: SipPeer,
  media: MediaEcho | undefined,
  connections: ConnectionTable,
): ServerStats {
  const rtp = media?.totals();
  return {
    ...peer.stats(),
    rtp: {
      streams: rtp?.streams ?? 0,
      streamLimit: media?.capacity ?? 0,
      packetsIn: rtp?.packetsIn ?? 0,
      bytesIn: rtp?.bytesIn ?? 0,
      packetsOut: rtp?.packetsOut ?? 0,
      bytesOut: rtp?.bytesOut ?? 0,
      dropped: rtp?.dropped ?? 0,
    },
    connections: { active: connections.size, limit: connections.limits.maxConnections },
  };
}
