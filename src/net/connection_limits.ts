/**
 * The limits on stream connections ({@linkcode ConnectionLimits}) and the deadlines they set
 * a connection: a first message within `messageTimeout` of opening, each message within
 * `messageTimeout` of its first byte, some data every `idleTimeout`, a peer that reads
 * within `writeTimeout` while output waits, and (TLS) a handshake within `handshakeTimeout`.
 *
 * @module
 */

/**
 * Limits on stream connections (TCP and WebSocket).
 *
 * @example
 * ```ts
 * import { type ConnectionLimits, serve } from "@sipecho/sipecho";
 * import { type RuntimeNet, type StreamHandlers } from "@sipecho/sipecho/net";
 * import assert from "node:assert/strict";
 *
 * const accepted: StreamHandlers[] = [];
 * const net = {
 *   listenStream(options: { hostname: string; port: number }, h: StreamHandlers) {
 *     accepted.push(h);
 *     return Promise.resolve({ local: { address: options.hostname, port: 5060 }, close: () => Promise.resolve() });
 *   },
 * } as unknown as RuntimeNet; // an in-memory stand-in for the runtime's sockets
 * const connections: Partial<ConnectionLimits> = { maxConnections: 1 };
 * const listen = [{ transport: "tcp" as const, hostname: "127.0.0.1", port: 5060 }];
 * await using _server = await serve({ net, listen, connections, edge: "lab" });
 * const [handlers] = accepted;
 * const closed: number[] = [];
 * const conn = (port: number) =>
 *   ({ remote: { address: "192.0.2.9", port }, write() {}, close: () => closed.push(port) });
 * handlers.open(conn(40000));
 * handlers.open(conn(40001));
 * assert.deepEqual(closed, [40000]); // full: the oldest idle connection of the busiest source makes room
 * ```
 */
export interface ConnectionLimits {
  /**
   * Most connections open at once, over all stream listeners (default 512; lab: 10,000). When full, a new
   * connection closes the oldest idle one of the source holding the most.
   */
  maxConnections: number;
  /** A connection that sends nothing for this long is closed, ms (default 300,000); 0 or `Infinity`: never. */
  idleTimeout: number;
  /**
   * A connection must complete its first message within this long of opening, and each message
   * within this long of its first byte, ms (default 10,000); 0 or `Infinity`: no deadline.
   */
  messageTimeout: number;
  /** Bytes that may wait to be written on a connection before reading from it stops (default 16,384). */
  maxOutput: number;
  /** A connection whose output stays over `maxOutput` this long is closed, ms (default 10,000). */
  writeTimeout: number;
  /** `send()` gives up on a connection it opens that is not open after this long, ms (default 10,000). */
  connectTimeout: number;
  /**
   * TLS: a connection whose TLS handshake is not done this long after it was accepted is closed,
   * ms (default 5,000); 0 or `Infinity`: no deadline (`messageTimeout` still runs).
   */
  handshakeTimeout: number;
  /**
   * TLS: most accepted connections in their TLS handshake at once, over all TLS listeners
   * (default 64): a connection accepted beyond it is closed at once. A handshake costs CPU
   * (the server's signature) and memory, and a client that connects and never handshakes holds
   * a place until `handshakeTimeout`.
   */
  maxHandshakes: number;
}

/**
 * The connection limits of `serve()` by default.
 *
 * @example
 * ```ts
 * import { DEFAULT_CONNECTION_LIMITS } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * assert.equal(DEFAULT_CONNECTION_LIMITS.maxConnections, 512);
 * assert.equal(DEFAULT_CONNECTION_LIMITS.messageTimeout, 10_000);
 * ```
 */
export const DEFAULT_CONNECTION_LIMITS: Readonly<ConnectionLimits> = Object.freeze({
  maxConnections: 512,
  idleTimeout: 300_000,
  messageTimeout: 10_000,
  maxOutput: 16_384,
  writeTimeout: 10_000,
  connectTimeout: 10_000,
  handshakeTimeout: 5_000,
  maxHandshakes: 64,
});

/** What the deadlines of a connection run from: times on the table's clock, ms. */
export interface _ConnectionTimes {
  /** When it opened. */
  openedAt: number;
  /** When data last came. */
  lastData: number;
  /** Messages completed so far. */
  messages: number;
  /** When the unfinished message began arriving (-1: none). */
  partialSince: number;
  /** When reading stopped for backpressure (-1: reading). */
  pausedSince: number;
  /** TLS: whether its handshake is still under way (accepted connections only). */
  handshaking?: boolean;
}

/** Whether a time limit is on: 0 and Infinity turn it off. */
function _on(ms: number): boolean {
  return ms > 0 && Number.isFinite(ms);
}

/** The earliest deadline of a connection (Infinity: none). */
export function _deadline(c: _ConnectionTimes, l: ConnectionLimits): number {
  let at = Infinity;
  if (_on(l.idleTimeout)) at = c.lastData + l.idleTimeout;
  if (_on(l.messageTimeout)) {
    if (c.messages === 0) at = Math.min(at, c.openedAt + l.messageTimeout);
    if (c.partialSince >= 0) at = Math.min(at, c.partialSince + l.messageTimeout);
  }
  if (c.pausedSince >= 0 && _on(l.writeTimeout)) at = Math.min(at, c.pausedSince + l.writeTimeout);
  if (c.handshaking && _on(l.handshakeTimeout)) at = Math.min(at, c.openedAt + l.handshakeTimeout);
  return at;
}

/** Why a connection is to be closed at `now`, for a log line; undefined while no deadline has passed. */
export function _overdue(c: _ConnectionTimes, l: ConnectionLimits, now: number): string | undefined {
  // A millisecond of slack: timers may fire a little early.
  const due = (since: number, limit: number) => _on(limit) && since >= 0 && now - since >= limit - 1;
  if (c.handshaking && due(c.openedAt, l.handshakeTimeout)) {
    return `no TLS handshake within ${l.handshakeTimeout} ms of opening (handshakeTimeout)`;
  }
  if (c.pausedSince >= 0 && due(c.pausedSince, l.writeTimeout)) {
    return `its peer has not read for ${l.writeTimeout} ms (writeTimeout)`;
  }
  if (c.messages === 0 && due(c.openedAt, l.messageTimeout)) {
    return `no whole message within ${l.messageTimeout} ms of opening (messageTimeout)`;
  }
  if (c.partialSince >= 0 && due(c.partialSince, l.messageTimeout)) {
    return `a message not completed within ${l.messageTimeout} ms (messageTimeout)`;
  }
  if (due(c.lastData, l.idleTimeout)) return `idle for ${l.idleTimeout} ms (idleTimeout)`;
  return undefined;
}
