/**
 * The contract between the runtime-neutral core and the per-runtime socket shims
 * (src/runtime/deno.ts, src/runtime/bun.ts). A shim only moves bytes: it binds sockets,
 * hands received bytes to the handlers, and sends what it is given.
 *
 * @module
 */

/** The SIP transports (RFC 3261 §18, RFC 7118 for WebSocket). */
export type TransportName = "udp" | "tcp" | "tls" | "ws" | "wss";

/** An IP address (no brackets around IPv6) and a port. */
export interface SocketAddress {
  /** `192.0.2.1` or `2001:db8::1`. */
  address: string;
  /** The port. */
  port: number;
}

/** Where to listen. */
export interface ListenOptions {
  /** Host name or IP to bind, `127.0.0.1` or `::1` (no brackets). */
  hostname: string;
  /** Port; 0 picks a free one. */
  port: number;
}

/** A bound UDP socket. */
export interface DatagramEndpoint {
  /** The address actually bound. */
  readonly local: SocketAddress;
  /** Sends one datagram. Errors (unreachable, ...) are reported to `onError`, never thrown. */
  send(data: Uint8Array, to: SocketAddress): void;
  /** Closes the socket. */
  close(): void;
}

/** One stream connection (TCP) or WebSocket connection. */
export interface StreamConnection {
  /** The peer's address. */
  readonly remote: SocketAddress;
  /** Queues bytes to send, in order. For WebSocket, one call is one message (RFC 7118 §5). */
  write(data: Uint8Array): void;
  /** Closes the connection; `close` is then reported to the handlers once. */
  close(): void;
}

/** What a stream or WebSocket listener reports. */
export interface StreamHandlers {
  /** A connection was accepted. */
  open(conn: StreamConnection): void;
  /** Bytes arrived (TCP: any chunk of the stream; WebSocket: one whole message). */
  data(conn: StreamConnection, data: Uint8Array): void;
  /** The connection is closed (by either side). */
  close(conn: StreamConnection): void;
}

/** A listening TCP or WebSocket server. */
export interface StreamListener {
  /** The address actually bound. */
  readonly local: SocketAddress;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

/**
 * Where to open a TCP connection (see {@linkcode RuntimeNet.connectStream}).
 *
 * @example
 * ```ts
 * import type { ConnectOptions } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const controller = new AbortController();
 * const to: ConnectOptions = { hostname: "::1", port: 5060, signal: controller.signal };
 * assert.equal(to.hostname.includes(":"), true);
 * ```
 */
export interface ConnectOptions {
  /** The IP address to connect to, without brackets (`127.0.0.1`, `::1`). */
  hostname: string;
  /** The port. */
  port: number;
  /** Gives up on a connection not yet open: the promise rejects with the abort reason. */
  signal?: AbortSignal;
}

/** The socket abilities of one runtime. */
export interface RuntimeNet {
  /** `deno` or `bun`. */
  readonly name: string;
  /** Binds a UDP socket; `onData` gets every datagram. */
  listenDatagram(
    options: ListenOptions,
    onData: (data: Uint8Array, from: SocketAddress) => void,
    onError: (error: unknown) => void,
  ): Promise<DatagramEndpoint>;
  /** Listens for TCP connections. */
  listenStream(options: ListenOptions, handlers: StreamHandlers): Promise<StreamListener>;
  /** Listens for WebSocket connections with the `sip` subprotocol (RFC 7118 §4). */
  listenWebSocket(options: ListenOptions, handlers: StreamHandlers): Promise<StreamListener>;
  /**
   * Opens a TCP connection. Once it is open, `handlers.open` gets it (before the promise
   * resolves), then its data and close go to `handlers` as for an accepted connection.
   * Rejects when it cannot be opened (refused, unreachable, aborted). Optional: a shim without
   * it serves, but `serve()` cannot open connections through it.
   */
  connectStream?(options: ConnectOptions, handlers: StreamHandlers): Promise<StreamConnection>;
  /**
   * Opens a WebSocket connection (`ws://HOST:PORT/`) offering the `sip` subprotocol, and
   * rejects unless the server chose it (RFC 7118 §4). Then as {@linkcode connectStream}: each
   * message goes to `handlers.data` whole.
   */
  connectWebSocket?(url: string, handlers: StreamHandlers, signal?: AbortSignal): Promise<StreamConnection>;
}

/** Removes the brackets of an IPv6 reference: `[::1]` -> `::1`. */
export function unbracket(host: string): string {
  return host.charCodeAt(0) === 0x5b ? host.slice(1, -1) : host;
}

/** The RFC 7118 §4 check: does a Sec-WebSocket-Protocol request header offer `sip`? */
export function offersSipSubprotocol(header: string | null): boolean {
  return header !== null && header.split(",").some((p) => p.trim().toLowerCase() === "sip");
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * RFC 7118 §5: a SIP message may go in a text or a binary frame. Text when it is valid
 * UTF-8, binary otherwise (a binary body).
 */
export function webSocketPayload(data: Uint8Array): string | Uint8Array {
  try {
    return utf8.decode(data);
  } catch {
    return data;
  }
}

/** The parts of a top Via that decide where a response goes (see `Via` in header_values.ts). */
export interface ViaRouting {
  /** sent-by port, if given. */
  port?: number;
  /** The received parameter. */
  received?: string;
  /** The rport parameter: a port, `null` when present without a value. */
  rport?: number | null;
  /** The maddr parameter. */
  maddr?: string;
}

/**
 * Where a response goes on an unreliable transport (UDP), from the top Via of the response
 * (with `received` and `rport` already filled in by the server) and the request's source.
 *
 * - RFC 3261 §18.2.2: `maddr` wins, at the sent-by port (default 5060);
 * - RFC 3581 §4: with `rport` the response goes back to the source address and port;
 * - RFC 3261 §18.2.2: otherwise to the `received` address (the source address, which is also the
 *   sent-by host when no `received` was needed) at the sent-by port (default 5060).
 *
 * Host names are never resolved: the answer is always the source address unless `maddr` says
 * otherwise, so only the port can differ from the source.
 *
 * @example
 * ```ts
 * import { responseDestination } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const source = { address: "192.0.2.7", port: 40000 };
 * assert.deepEqual(responseDestination({ port: 5062 }, source), { address: "192.0.2.7", port: 5062 });
 * assert.deepEqual(responseDestination({ rport: 40000, received: "192.0.2.7" }, source), source);
 * assert.deepEqual(responseDestination({ maddr: "239.1.1.1" }, source), { address: "239.1.1.1", port: 5060 });
 * ```
 */
export function responseDestination(via: ViaRouting, source: SocketAddress): SocketAddress {
  if (via.maddr !== undefined) return { address: unbracket(via.maddr), port: via.port ?? 5060 };
  if (via.rport !== undefined && via.rport !== null) {
    return { address: via.received !== undefined ? unbracket(via.received) : source.address, port: via.rport };
  }
  if (via.rport === null) return source;
  return { address: via.received !== undefined ? unbracket(via.received) : source.address, port: via.port ?? 5060 };
}
