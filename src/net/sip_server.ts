/**
 * A running server ({@linkcode SipServer}): what `serve()` returns, and the URIs that reach it.
 *
 * @module
 */

import { _isWildcard, type AdvertisedAddress, type BoundAddress, type ListenTransport } from "./listeners.ts";
import { type SocketAddress, unbracket } from "./transport.ts";
import type { MediaEcho } from "../media/echo.ts";
import type { SipPeer } from "../ua/peer.ts";
import type { ServerStats } from "./server_stats.ts";
import type { SendOptions, ServerTls } from "./serve_tls.ts";

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
   * The address in Contact and SDP, and why: `advertise` as given, the first bound address, or
   * behind a wildcard bind the first interface address other machines can reach (`127.0.0.1`,
   * `why: "loopback"`, when there is none).
   */
  readonly advertised: AdvertisedAddress;
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
   * @param options For a TLS connection it opens: whom to trust (`tls`), instead of `ServeOptions.tls.ca`.
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
  send(data: Uint8Array, remote: SocketAddress, transport?: ListenTransport, options?: SendOptions): Promise<void>;
  /**
   * What the server has counted since it started, as a plain object ({@linkcode ServerStats}):
   * requests by method and transport, responses by status, parse errors, drops by reason,
   * retransmissions, the response-time histogram, the tables against their limits, the RTP
   * echo's streams and packets, the connections. The same figures `/metrics` serves
   * (`ServeOptions.http`); docs/observability.md names each.
   *
   * @returns A new object each time.
   * @example
   * ```ts
   * import { MockPeer, serve } from "@sipecho/sipecho";
   * import assert from "node:assert/strict";
   *
   * await using server = await serve({ listen: [{ transport: "udp", hostname: "127.0.0.1", port: 0 }] });
   * await using client = await MockPeer.start();
   * const call = await client.request({ method: "INVITE", uri: server.uri("busy"), sdp: true });
   * assert.equal(call.status, 486);
   * const stats = server.stats();
   * assert.equal(stats.requests.INVITE.udp, 1);
   * assert.equal(stats.responseClasses["4xx"], 1);
   * assert.equal(stats.responseTime.count, 1);
   * ```
   */
  stats(): ServerStats;
  /**
   * The address of the HTTP port (`ServeOptions.http`: `/metrics`, `/healthz`, the live page),
   * or undefined when there is none.
   */
  readonly http: SocketAddress | undefined;
  /**
   * The certificate of the TLS and WSS listeners, when `ServeOptions.tls` is given: with
   * `tls: "self-signed"`, the CA to trust (`ca`) and the fingerprint to pin (`fingerprint`).
   */
  readonly tls?: ServerTls;
  /** Resolves once the server is closed. */
  readonly closed: Promise<void>;
  /** Stops listening, closes every connection and timer; resolves when all is closed. */
  close(): Promise<void>;
}

/**
 * `server.uri()`: `sip:USER@HOST:PORT` on the first bound address of the transport (default: the
 * first one), with the advertised address for a wildcard.
 *
 * @param addresses The bound addresses.
 * @param advertise The advertised address (maybe in brackets).
 * @param user The user part, if any.
 * @param transport The transport, if one is asked for.
 * @returns The URI.
 * @throws {RangeError} If the server does not listen on the transport.
 */
export function _serverUri(
  addresses: readonly BoundAddress[],
  advertise: string,
  user?: string,
  transport?: ListenTransport,
): string {
  const a = transport === undefined ? addresses[0] : addresses.find((x) => x.transport === transport);
  if (a === undefined) throw new RangeError(`uri(): the server does not listen on ${transport}`);
  const host = _isWildcard(a.address) ? unbracket(advertise) : a.address;
  const h = host.includes(":") ? `[${host}]` : host;
  const u = user === undefined ? "" : `${user}@`;
  return `sip:${u}${h}:${a.port}${a.transport === "udp" ? "" : `;transport=${a.transport}`}`;
}
