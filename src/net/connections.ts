/**
 * The stream connections of `serve()` (TCP, WebSocket): each one's framing, its limits and
 * deadlines, its share of the table, and backpressure. What arrives is cut into SIP messages
 * (RFC 3261 §18.3, RFC 7118 §5) and handed on; what the peer writes goes back on the
 * connection. The socket shims only move bytes.
 *
 * - **Deadlines**: a connection must complete its first message within `messageTimeout` of
 *   opening, and every message it starts within `messageTimeout` of its first byte (a client
 *   that sends a byte a second is closed); one that sends nothing for `idleTimeout` is closed.
 * - **Shares**: with a guard, one source holds at most its share of `maxConnections`; when the
 *   table is full, a new connection closes the oldest idle one of the source that holds the
 *   most, so a newcomer still gets in.
 * - **Backpressure**: while more than `maxOutput` bytes wait to be written on a connection
 *   (its peer does not read), nothing more is read from it; if that lasts `writeTimeout`, it is
 *   closed. A peer that does not read costs at most about `maxOutput` plus one message.
 *
 * The limits and the deadlines they set are in `connection_limits.ts`; how bytes become
 * messages, in `connection_framing.ts`. Some 690 lines: one table whose methods share the
 * connections, their deadlines and the source shares (TLS handshakes and the upgrade of the
 * WebSocket connections it opens included).
 *
 * @module
 */

import { _delay } from "./clock.ts";
import { _frameStream, _frameWebSocket, type _Item } from "./connection_framing.ts";
import {
  type _ConnectionTimes,
  _deadline,
  _overdue,
  type ConnectionLimits,
  DEFAULT_CONNECTION_LIMITS,
} from "./connection_limits.ts";
import type {
  ConnectOptions,
  RuntimeNet,
  SocketAddress,
  StreamConnection,
  StreamHandlers,
  TlsConnectOptions,
} from "./transport.ts";
import { WebSocketSession } from "./websocket.ts";
import { SipParseError } from "../sip/errors.ts";
import { StreamFramer } from "../sip/framer.ts";
import type { SourceGuard, SourceRecord } from "../ua/guard.ts";

export { type ConnectionLimits, DEFAULT_CONNECTION_LIMITS } from "./connection_limits.ts";

/** The stream transports: TCP and WebSocket, and both over TLS (RFC 3261 §26, RFC 7118). */
export type StreamTransport = "tcp" | "ws" | "tls" | "wss";

/** A stream connection and what is kept for it. */
export interface Connection {
  readonly conn: StreamConnection;
  readonly transport: StreamTransport;
  /** The source it counts against, with a guard. */
  readonly source: SourceRecord | undefined;
  /** Open on our side (a closed one takes no more data and counts no more). */
  open: boolean;
  /** Opened by `send()` (outgoing): resolved once the shim reports it closed. */
  readonly ended: PromiseWithResolvers<void> | undefined;
}

interface _Connection extends Connection, _ConnectionTimes {
  /**
   * How bytes become messages: SIP framing on a TCP stream (RFC 3261 §18.3), a WebSocket
   * session over TCP (RFC 6455, RFC 7118), or none (the shim delivers whole messages: the
   * WebSocket connections the server opens).
   */
  framer: StreamFramer | WebSocketSession | undefined;
  /** What was framed but not handled yet, while paused. */
  items: _Item[];
  itemIndex: number;
  /** Chunks the shim delivered after it was asked to pause. */
  backlog: Uint8Array[];
  backlogBytes: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  timerAt: number;
  /** A WebSocket we opened (RFC 6455 §4.1): settles when the server's answer to the upgrade is read. */
  upgrading: PromiseWithResolvers<void> | undefined;
}

/**
 * What a {@linkcode ConnectionTable} needs from its server.
 *
 * @example
 * ```ts
 * import { ConnectionTable, type ConnectionTableOptions } from "./connections.ts";
 * import assert from "node:assert/strict";
 *
 * const got: string[] = [];
 * const options: ConnectionTableOptions = {
 *   maxMessageSize: 65535,
 *   onMessage: (bytes) => void got.push(new TextDecoder().decode(bytes)),
 *   onEvent: () => {},
 * };
 * const table = new ConnectionTable(options);
 * const handlers = table.handlers("tcp");
 * const conn = { remote: { address: "192.0.2.9", port: 40000 }, write() {}, close() {} };
 * handlers.open(conn);
 * handlers.data(conn, new TextEncoder().encode("OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 0\r\n\r\n"));
 * assert.equal(got.length, 1);
 * await table.closeAll();
 * ```
 */
export interface ConnectionTableOptions {
  /** Limits (the rest from {@linkcode DEFAULT_CONNECTION_LIMITS}). */
  limits?: Partial<ConnectionLimits>;
  /** Largest SIP message, bytes. */
  maxMessageSize: number;
  /** Per-source shares, with its `connections` table. */
  guard?: SourceGuard;
  /** A whole SIP message arrived on a connection. */
  onMessage(bytes: Uint8Array, connection: Connection): void;
  /** Something worth a log line (a connection closed by a limit, a framing error). */
  onEvent(
    kind: "dropped" | "parse-error" | "limit",
    message: string,
    remote: SocketAddress & { transport: string },
  ): void;
  /** The clock, ms (default `performance.now`). */
  now?: () => number;
  /** The CA certificates (PEM) to trust for the TLS connections `connect()` opens; default the system's. */
  tlsCa?: string[];
}

/**
 * The stream connections of a server: accepted ones and those it opened, with their framing,
 * deadlines, shares and backpressure (see the module documentation).
 *
 * @example
 * ```ts
 * import { ConnectionTable } from "./connections.ts";
 * import assert from "node:assert/strict";
 *
 * const written: string[] = [];
 * const table = new ConnectionTable({ maxMessageSize: 65535, onMessage() {}, onEvent() {} });
 * const write = (d: Uint8Array) => void written.push(new TextDecoder().decode(d));
 * const conn = { remote: { address: "192.0.2.9", port: 40000 }, write, close() {} };
 * const handlers = table.handlers("tcp");
 * handlers.open(conn);
 * handlers.data(conn, new TextEncoder().encode("\r\n\r\n")); // an RFC 5626 ping
 * assert.deepEqual(written, ["\r\n"]);
 * assert.equal(table.size, 1);
 * await table.closeAll();
 * assert.equal(table.size, 0);
 * ```
 */
export class ConnectionTable {
  /** The limits in force. */
  readonly limits: Readonly<ConnectionLimits>;
  #options: ConnectionTableOptions;
  #now: () => number;
  #all = new Set<_Connection>();
  #byConn = new Map<StreamConnection, _Connection>();
  /** The connections `connect()` is opening, by `transport|address|port`: sends meanwhile share one. */
  #connecting = new Map<string, Promise<Connection>>();
  #connectAborts = new Set<AbortController>();
  #closed = false;
  /** Accepted TLS connections whose handshake is under way. */
  #handshaking = 0;

  /**
   * Makes an empty table.
   *
   * @param options Limits, the guard and where messages and events go.
   */
  constructor(options: ConnectionTableOptions) {
    this.limits = Object.freeze({ ...DEFAULT_CONNECTION_LIMITS, ...options.limits });
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
  }

  /** How many connections are open. */
  get size(): number {
    return this.#all.size;
  }

  /** The open connections, oldest first. */
  connections(): Connection[] {
    return [...this.#all];
  }

  /**
   * The handlers for a listener's connections, or (`outgoing`) for those {@linkcode connect}
   * opens.
   *
   * @param transport `tcp` or `ws` (a WebSocket shim delivers whole messages).
   * @param outgoing Whether these are connections the server opens.
   * @param client For a WebSocket we open over a TCP or TLS stream: the Host (`HOST:PORT`) and
   *   path of its upgrade request (RFC 6455 §4.1), and what settles once it is answered.
   * @returns The handlers to give the shim.
   */
  handlers(transport: StreamTransport, outgoing = false, client?: _WebSocketClient): StreamHandlers {
    return {
      open: (conn) => {
        this.#open(conn, transport, outgoing, client);
        // Closed at once (the server closing, a limit): no upgrade to wait for.
        if (!this.#byConn.has(conn)) client?.upgraded.reject(new Error("closed as it opened"));
      },
      data: (conn, data) => this.#data(conn, data),
      drain: (conn) => this.#drain(conn),
      close: (conn) => this.#closed_(conn),
    };
  }

  /**
   * An open connection of `transport` with the remote (RFC 3261 §18.1.1: a request goes on a
   * connection already open to its destination, opened by either side).
   */
  find(transport: StreamTransport, address: string, port: number): Connection | undefined {
    for (const c of this.#all) {
      if (c.open && c.transport === transport && c.conn.remote.port === port) {
        const from = c.conn.remote.address;
        if (from === address || from === `::ffff:${address}`) return c;
      }
    }
    return undefined;
  }

  /**
   * Writes on a connection (a response, or a request `send()` makes).
   *
   * @returns False when the connection has closed (nothing written).
   */
  write(connection: Connection, data: Uint8Array): boolean {
    if (!connection.open) return false;
    const framer = (connection as _Connection).framer;
    if (framer instanceof WebSocketSession) {
      // RFC 7118 §5: one SIP message per WebSocket message.
      const frame = framer.frame(data);
      if (frame.length > 0) connection.conn.write(frame);
    } else {
      connection.conn.write(data);
    }
    return true;
  }

  /**
   * Opens a connection for `send()` (RFC 3261 §18.1.1: when none is open to the destination, a
   * new one), or joins the one being opened to the same place. It is kept like an accepted one.
   *
   * @param net The socket shim.
   * @param transport `tcp`, `tls`, `ws` or `wss` (a WebSocket client over a TCP or TLS stream,
   *   RFC 7118 §4: the upgrade to path `/` with the `sip` subprotocol, done before it resolves).
   * @param address An IP address.
   * @param port The port.
   * @param trust TLS and WSS only: whom to trust for this connection, instead of the table's `tlsCa`.
   * @returns The open connection.
   * @throws {RangeError} (rejects) When the table is full.
   * @throws {Error} (rejects) When it cannot be opened: the message says where to and why.
   */
  connect(
    net: RuntimeNet,
    transport: StreamTransport,
    address: string,
    port: number,
    trust?: { ca?: string[]; fingerprint?: string },
  ): Promise<Connection> {
    const key = `${transport}|${address}|${port}`;
    const pending = this.#connecting.get(key);
    if (pending !== undefined) return pending;
    const host = address.includes(":") ? `[${address}]` : address;
    const where = `${transport} connection to ${host}:${port}`;
    const limits = this.limits;
    if (this.#all.size + this.#connecting.size >= limits.maxConnections) {
      return Promise.reject(
        new RangeError(`send(): connection limit (${limits.maxConnections}) reached: cannot open a ${where}`),
      );
    }
    const webSocket = transport === "ws" || transport === "wss";
    const overStream = webSocket && (transport === "ws" ? net.connectStream : net.connectTlsStream) !== undefined;
    const client: _WebSocketClient | undefined = overStream
      ? { host: `${host}:${port}`, upgraded: Promise.withResolvers<void>() }
      : undefined;
    // Whoever waits for it is told below; nobody else must see an unhandled rejection.
    client?.upgraded.promise.catch(() => {});
    const handlers = this.handlers(transport, true, client);
    const abort = new AbortController();
    const timeout = setTimeout(
      () => abort.abort(new Error(`not open after ${limits.connectTimeout} ms (connectTimeout)`)),
      _delay(limits.connectTimeout),
    );
    this.#connectAborts.add(abort);
    let opening: Promise<StreamConnection>;
    if ((transport === "tcp" || (transport === "ws" && overStream)) && net.connectStream !== undefined) {
      const options: ConnectOptions = { hostname: address, port, signal: abort.signal };
      opening = net.connectStream(options, handlers);
    } else if ((transport === "tls" || (transport === "wss" && overStream)) && net.connectTlsStream !== undefined) {
      // RFC 3261 §26.3.1: the server's certificate must name the address connected to.
      const options: TlsConnectOptions = { hostname: address, port, signal: abort.signal, ca: this.#options.tlsCa };
      if (trust !== undefined) Object.assign(options, { ca: trust.ca, fingerprint: trust.fingerprint });
      opening = net.connectTlsStream(options, handlers);
    } else {
      opening = Promise.reject(new Error(`the ${net.name} socket shim cannot open ${transport} connections`));
    }
    const result = opening
      .then(async (conn) => {
        if (client !== undefined) await this.#upgraded(conn, client.upgraded.promise, abort.signal);
        const c = this.#byConn.get(conn);
        if (c === undefined || !c.open) {
          throw new Error(this.#closed ? "the server is closed" : "it closed as it opened");
        }
        return c as Connection;
      })
      .catch((e) => {
        throw new Error(`send(): cannot open a ${where}: ${_reason(e)}`, { cause: e });
      })
      .finally(() => {
        clearTimeout(timeout);
        this.#connectAborts.delete(abort);
        this.#connecting.delete(key);
      });
    this.#connecting.set(key, result);
    return result;
  }

  /** Waits for the upgrade of a WebSocket we opened (RFC 6455 §4.1), within the connect timeout. */
  #upgraded(conn: StreamConnection, upgraded: Promise<void>, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        reject(signal.reason);
        const c = this.#byConn.get(conn);
        if (c !== undefined) this.#drop(c);
        else conn.close();
      };
      signal.addEventListener("abort", onAbort, { once: true });
      upgraded.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
    });
  }

  /**
   * Closes every connection and gives up on those being opened; resolves once the connections
   * the server opened are reported closed by the shim (2 s at most).
   */
  async closeAll(): Promise<void> {
    this.#closed = true;
    for (const abort of this.#connectAborts) abort.abort(new Error("the server is closed"));
    await Promise.allSettled(this.#connecting.values());
    const ends: Promise<void>[] = [];
    for (const c of [...this.#all]) {
      if (c.ended !== undefined) ends.push(c.ended.promise);
      this.#drop(c);
    }
    if (ends.length > 0) {
      let wait: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([Promise.all(ends), new Promise<void>((resolve) => wait = setTimeout(resolve, 2000))]);
      clearTimeout(wait);
    }
  }

  /** Stops the timers of every connection (before the listeners close them). */
  stopTimers(): void {
    this.#closed = true;
    for (const c of this.#all) {
      if (c.timer !== undefined) clearTimeout(c.timer);
      c.timer = undefined;
    }
  }

  // ---- the shim's handlers

  #open(
    conn: StreamConnection,
    transport: StreamTransport,
    outgoing: boolean,
    client?: _WebSocketClient,
  ): void {
    if (this.#closed) {
      // Accepted while the server closes: it would hold a timer past close().
      conn.close();
      return;
    }
    const limits = this.limits;
    const guard = this.#options.guard;
    const now = this.#now();
    const source = guard?.source(conn.remote.address, now);
    const remote = { ...conn.remote, transport };
    if (source !== undefined && guard!.full(source, "connections", limits.maxConnections)) {
      this.#options.onEvent(
        "limit",
        `share: ${source.key} holds its share of the connections (${guard!.shareOf(limits.maxConnections)}): ` +
          `closing a new ${transport} connection`,
        remote,
      );
      conn.close();
      return;
    }
    if (this.#all.size >= limits.maxConnections && !this.#evict(transport, remote)) {
      this.#options.onEvent(
        "dropped",
        `connection limit (${limits.maxConnections}) reached: closing a new ${transport} connection`,
        remote,
      );
      conn.close();
      return;
    }
    if (conn.handshake !== undefined && this.#handshaking >= limits.maxHandshakes) {
      this.#options.onEvent(
        "limit",
        `${limits.maxHandshakes} TLS handshakes under way (maxHandshakes): closing a new ${transport} connection`,
        remote,
      );
      conn.close();
      return;
    }
    if (source !== undefined) guard!.hold(source, "connections");
    const c: _Connection = {
      conn,
      transport,
      source,
      open: true,
      ended: outgoing ? Promise.withResolvers<void>() : undefined,
      framer: client !== undefined
        ? new WebSocketSession({ maxMessageSize: this.#options.maxMessageSize, client })
        : outgoing && (transport === "ws" || transport === "wss")
        ? undefined
        : transport === "tcp" || transport === "tls"
        ? new StreamFramer({ maxMessageSize: this.#options.maxMessageSize })
        : new WebSocketSession({ maxMessageSize: this.#options.maxMessageSize }),
      openedAt: now,
      lastData: now,
      // A connection we opened is ours: no deadline for a first message from the other side.
      messages: outgoing ? 1 : 0,
      partialSince: -1,
      pausedSince: -1,
      items: [],
      itemIndex: 0,
      backlog: [],
      backlogBytes: 0,
      timer: undefined,
      timerAt: Infinity,
      upgrading: client?.upgraded,
    };
    this.#byConn.set(conn, c);
    this.#all.add(c);
    if (conn.handshake !== undefined) this.#awaitHandshake(c, conn.handshake);
    // RFC 6455 §4.1: a WebSocket we open starts with its upgrade request.
    if (c.framer instanceof WebSocketSession && c.framer.upgradeRequest !== undefined) {
      conn.write(c.framer.upgradeRequest);
    }
    this.#arm(c);
  }

  /**
   * TLS: counts the connection among those in handshake until its handshake settles; one that
   * fails closes the connection (RFC 3261 §26: nothing is read from it), and costs nothing else.
   */
  #awaitHandshake(c: _Connection, handshake: Promise<void>): void {
    c.handshaking = true;
    this.#handshaking++;
    const done = () => {
      if (!c.handshaking) return false;
      c.handshaking = false;
      this.#handshaking--;
      return true;
    };
    handshake.then(
      () => {
        if (done()) this.#arm(c);
      },
      (e) => {
        if (!done() || !c.open) return;
        this.#event(c, "dropped", `closing the ${c.transport} connection: TLS handshake failed: ${_reason(e)}`);
        this.#drop(c);
      },
    );
  }

  #data(conn: StreamConnection, data: Uint8Array): void {
    const c = this.#byConn.get(conn);
    if (c === undefined || !c.open) return;
    c.lastData = this.#now();
    if (c.pausedSince >= 0 || c.itemIndex < c.items.length) {
      // Read before the pause took effect: kept, within a bound, for when writing resumes.
      c.backlog.push(data);
      c.backlogBytes += data.length;
      if (c.backlogBytes > this.#options.maxMessageSize + this.limits.maxOutput) {
        this.#event(c, "dropped", `closing the ${c.transport} connection: it keeps sending while it does not read`);
        this.#drop(c);
      }
      return;
    }
    this.#frame(c, data);
    this.#run(c);
  }

  #drain(conn: StreamConnection): void {
    const c = this.#byConn.get(conn);
    if (c === undefined || !c.open || c.pausedSince < 0) return;
    if ((conn.buffered ?? 0) > this.limits.maxOutput / 2) return;
    c.pausedSince = -1;
    this.#run(c);
    while (c.open && c.pausedSince < 0 && c.backlog.length > 0) {
      const chunk = c.backlog.shift()!;
      c.backlogBytes -= chunk.length;
      this.#frame(c, chunk);
      this.#run(c);
    }
    if (c.open && c.pausedSince < 0) {
      conn.resume?.();
      this.#arm(c);
    }
  }

  #closed_(conn: StreamConnection): void {
    const c = this.#byConn.get(conn);
    if (c === undefined) return;
    this.#forget(c);
    this.#byConn.delete(conn);
    c.ended?.resolve();
  }

  // ---- framing and backpressure

  /** Cuts a chunk into items (messages and pongs), after those not handled yet. */
  #frame(c: _Connection, data: Uint8Array): void {
    if (c.itemIndex >= c.items.length) {
      c.items = [];
      c.itemIndex = 0;
    }
    const framer = c.framer;
    if (framer === undefined) {
      // A WebSocket client delivers one whole message at a time (RFC 7118 §5).
      c.items.push({ kind: "message", bytes: data });
      return;
    }
    if (framer instanceof WebSocketSession) {
      _frameWebSocket(framer, data, c.items);
      if (c.upgrading !== undefined && framer.state !== "handshake") {
        // The server's answer to our upgrade request was read: accepted, or why not.
        const end = c.items.find((item) => item.kind === "end");
        if (framer.state === "open" || end === undefined) c.upgrading.resolve();
        else c.upgrading.reject(new Error(end.reason ?? "the WebSocket closed"));
        c.upgrading = undefined;
      }
    } else {
      try {
        _frameStream(framer, data, c.items);
      } catch (e) {
        // The stream cannot be resynchronised (RFC 3261 §18.3): drop this connection only.
        const reason = e instanceof SipParseError ? e.message : String(e);
        this.#event(c, "parse-error", `closing the ${c.transport} connection: ${reason}`);
        this.#drop(c);
        return;
      }
    }
    const partial = framer instanceof WebSocketSession ? framer.partial : framer.buffered > 0;
    if (!partial) c.partialSince = -1;
    else if (c.partialSince < 0) c.partialSince = this.#now();
  }

  /** Handles the items framed, until the output is over its bound (then reading stops). */
  #run(c: _Connection): void {
    const max = this.limits.maxOutput;
    while (c.open && c.itemIndex < c.items.length) {
      if ((c.conn.buffered ?? 0) > max) {
        if (c.pausedSince < 0) {
          c.pausedSince = this.#now();
          c.conn.pause?.();
          this.#arm(c);
        }
        return;
      }
      const item = c.items[c.itemIndex++];
      if (item.kind === "write") c.conn.write(item.bytes);
      else if (item.kind === "message") {
        const source = c.source;
        if (source !== undefined && source.bannedUntil > this.#now()) {
          // Its source went over the rate limit and was told so (503): reading on would only
          // spend CPU on messages that are dropped unread.
          this.#event(c, "limit", `closing the ${c.transport} connection: ${source.key} is over the rate limit`);
          this.#drop(c, true);
          return;
        }
        c.messages++;
        this.#options.onMessage(item.bytes, c);
      } else {
        // A WebSocket session that ended: refused, closed by the client, or a protocol error.
        const why = item.reason ?? "closed";
        if (!/^(closed by the (client|server)|close handshake done)/.test(why)) {
          this.#event(c, "dropped", `closing the ${c.transport} connection: ${why}`);
        }
        this.#drop(c, true);
        return;
      }
    }
    if (c.open) this.#arm(c);
  }

  // ---- deadlines

  /** Keeps one timer per connection, at its earliest deadline. */
  #arm(c: _Connection): void {
    if (!c.open || this.#closed) return;
    const at = _deadline(c, this.limits);
    if (at === c.timerAt && c.timer !== undefined) return;
    if (c.timer !== undefined) clearTimeout(c.timer);
    c.timer = undefined;
    c.timerAt = at;
    if (at !== Infinity) c.timer = setTimeout(() => this.#check(c), _delay(at - this.#now()));
  }

  #check(c: _Connection): void {
    c.timer = undefined;
    c.timerAt = Infinity;
    if (!c.open || this.#closed) return;
    const why = _overdue(c, this.limits, this.#now());
    if (why === undefined) return this.#arm(c);
    this.#event(c, "dropped", `closing the ${c.transport} connection: ${why}`);
    this.#drop(c);
  }

  // ---- closing

  /**
   * Room for one more connection in a full table: closes the oldest idle connection of the
   * source that holds the most. False when there is none to close.
   */
  #evict(transport: StreamTransport, remote: SocketAddress & { transport: string }): boolean {
    const bySource = new Map<string, _Connection[]>();
    let most: _Connection[] | undefined;
    for (const c of this.#all) {
      const key = c.source?.key ?? c.conn.remote.address;
      let list = bySource.get(key);
      if (list === undefined) bySource.set(key, list = []);
      list.push(c);
      if (most === undefined || list.length > most.length) most = list;
    }
    if (most === undefined) return false;
    let oldest = most[0];
    for (const c of most) if (c.lastData < oldest.lastData) oldest = c;
    this.#event(
      oldest,
      "limit",
      `connection table full (${this.limits.maxConnections}): closing the oldest idle connection of ` +
        `${oldest.source?.key ?? oldest.conn.remote.address} (${most.length} open) for a new ${transport} ` +
        `connection from ${remote.address}`,
    );
    this.#drop(oldest);
    return true;
  }

  /**
   * Closes a connection from this side: it stops counting at once, whatever it still sends is
   * ignored. `flush`: once what was written is sent (a WebSocket close frame, an HTTP refusal).
   */
  #drop(c: _Connection, flush = false): void {
    if (!c.open) return;
    this.#forget(c);
    try {
      if (flush && c.conn.end !== undefined) c.conn.end();
      else c.conn.close();
    } catch { /* already closed */ }
  }

  #forget(c: _Connection): void {
    if (c.open && c.source !== undefined) this.#options.guard?.release(c.source, "connections");
    if (c.handshaking) {
      c.handshaking = false;
      this.#handshaking--;
    }
    c.open = false;
    c.upgrading?.reject(new Error("it closed before the server answered the WebSocket upgrade (RFC 6455 §4.1)"));
    c.upgrading = undefined;
    if (c.timer !== undefined) clearTimeout(c.timer);
    c.timer = undefined;
    c.items = [];
    c.itemIndex = 0;
    c.backlog = [];
    c.backlogBytes = 0;
    this.#all.delete(c);
  }

  #event(c: _Connection, kind: "dropped" | "parse-error" | "limit", message: string): void {
    this.#options.onEvent(kind, message, { ...c.conn.remote, transport: c.transport });
  }
}

/** A WebSocket we open over a stream: its upgrade request's Host and path, and its outcome. */
interface _WebSocketClient {
  host: string;
  path?: string;
  upgraded: PromiseWithResolvers<void>;
}

/** Why a connection failed, in words: the error's message and code (`ECONNREFUSED`). */
function _reason(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const code = (e as { code?: unknown }).code;
  return typeof code === "string" && !e.message.includes(code) ? `${e.message} (${code})` : e.message;
}
