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
 * @module
 */

import { SipParseError } from "../sip/errors.ts";
import { StreamFramer } from "../sip/framer.ts";
import type { SourceGuard, SourceRecord } from "../ua/guard.ts";
import type { ConnectOptions, RuntimeNet, SocketAddress, StreamConnection, StreamHandlers } from "./transport.ts";
import { WebSocketSession } from "./websocket.ts";

/**
 * Limits on stream connections (TCP and WebSocket).
 *
 * @example
 * ```ts
 * import { type ConnectionLimits, type RuntimeNet, serve, type StreamHandlers } from "@sipecho/sipecho";
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
});

/** The stream transports. */
export type StreamTransport = "tcp" | "ws";

/** What a connection's framing makes of the bytes that arrived. */
interface _Item {
  /**
   * A whole SIP message; bytes to write back (an RFC 5626 pong, a WebSocket handshake answer,
   * pong or close frame); or the end of the connection once what is before it is written.
   */
  kind: "message" | "write" | "end";
  bytes: Uint8Array;
  /** Why it ends (a log line), if not a normal close. */
  reason?: string;
}

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

interface _Connection extends Connection {
  /**
   * How bytes become messages: SIP framing on a TCP stream (RFC 3261 §18.3), a WebSocket
   * session over TCP (RFC 6455, RFC 7118), or none (the shim delivers whole messages: the
   * WebSocket connections the server opens).
   */
  framer: StreamFramer | WebSocketSession | undefined;
  openedAt: number;
  lastData: number;
  /** Messages completed so far. */
  messages: number;
  /** When the unfinished message began arriving (-1: none). */
  partialSince: number;
  /** When reading stopped for backpressure (-1: reading). */
  pausedSince: number;
  /** What was framed but not handled yet, while paused. */
  items: _Item[];
  itemIndex: number;
  /** Chunks the shim delivered after it was asked to pause. */
  backlog: Uint8Array[];
  backlogBytes: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  timerAt: number;
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
}

const CRLF = new Uint8Array([13, 10]);
/** setTimeout takes a signed 32-bit delay; a longer one fires at once. */
const MAX_DELAY = 0x7fffffff;

/** Whether a time limit is on: 0 and Infinity turn it off. */
function _on(ms: number): boolean {
  return ms > 0 && Number.isFinite(ms);
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
   * @returns The handlers to give the shim.
   */
  handlers(transport: StreamTransport, outgoing = false): StreamHandlers {
    return {
      open: (conn) => this.#open(conn, transport, outgoing),
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
   * @param transport `tcp` or `ws`.
   * @param address An IP address.
   * @param port The port.
   * @returns The open connection.
   * @throws {RangeError} (rejects) When the table is full.
   * @throws {Error} (rejects) When it cannot be opened: the message says where to and why.
   */
  connect(net: RuntimeNet, transport: StreamTransport, address: string, port: number): Promise<Connection> {
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
    const handlers = this.handlers(transport, true);
    const abort = new AbortController();
    const timeout = setTimeout(
      () => abort.abort(new Error(`not open after ${limits.connectTimeout} ms (connectTimeout)`)),
      _delay(limits.connectTimeout),
    );
    this.#connectAborts.add(abort);
    let opening: Promise<StreamConnection>;
    if (transport === "tcp" && net.connectStream !== undefined) {
      const options: ConnectOptions = { hostname: address, port, signal: abort.signal };
      opening = net.connectStream(options, handlers);
    } else if (transport === "ws" && net.connectWebSocket !== undefined) {
      opening = net.connectWebSocket(`ws://${host}:${port}/`, handlers, abort.signal);
    } else {
      opening = Promise.reject(new Error(`the ${net.name} socket shim cannot open ${transport} connections`));
    }
    const result = opening
      .then((conn) => {
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

  #open(conn: StreamConnection, transport: StreamTransport, outgoing: boolean): void {
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
    if (source !== undefined) guard!.hold(source, "connections");
    const c: _Connection = {
      conn,
      transport,
      source,
      open: true,
      ended: outgoing ? Promise.withResolvers<void>() : undefined,
      framer: outgoing && transport === "ws"
        ? undefined
        : transport === "tcp"
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
    };
    this.#byConn.set(conn, c);
    this.#all.add(c);
    this.#arm(c);
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
      const out = framer.push(data);
      // One write for all this chunk made (pongs, a close frame): a flood of pings must not cost
      // a write (a system call) each.
      if (out.write.length > 0) c.items.push({ kind: "write", bytes: _join(out.write) });
      // Messages before a protocol error are whole and valid: they are answered (RFC 7118 §5).
      for (const bytes of out.messages) c.items.push({ kind: "message", bytes });
      if (out.end) c.items.push({ kind: "end", bytes: CRLF, reason: out.reason });
    } else {
      let events;
      try {
        events = framer.push(data);
      } catch (e) {
        // The stream cannot be resynchronised (RFC 3261 §18.3): drop this connection only.
        const reason = e instanceof SipParseError ? e.message : String(e);
        this.#event(c, "parse-error", `closing the tcp connection: ${reason}`);
        this.#drop(c);
        return;
      }
      // RFC 5626 §4.4.1: a double-CRLF ping gets a single-CRLF pong. The pongs of pings in a row
      // go out in one write: a flood of pings must not cost a write (a system call) each.
      let pongs = 0;
      for (const ev of events) {
        if (ev.type === "keepalive") {
          pongs++;
          continue;
        }
        if (pongs > 0) c.items.push({ kind: "write", bytes: _pongs(pongs) });
        pongs = 0;
        c.items.push({ kind: "message", bytes: ev.bytes });
      }
      if (pongs > 0) c.items.push({ kind: "write", bytes: _pongs(pongs) });
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
        if (!/^(closed by the client|close handshake done)/.test(why)) {
          this.#event(c, "dropped", `closing the ws connection: ${why}`);
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
    const at = this.#deadline(c);
    if (at === c.timerAt && c.timer !== undefined) return;
    if (c.timer !== undefined) clearTimeout(c.timer);
    c.timer = undefined;
    c.timerAt = at;
    if (at !== Infinity) c.timer = setTimeout(() => this.#check(c), _delay(at - this.#now()));
  }

  #deadline(c: _Connection): number {
    const l = this.limits;
    let at = Infinity;
    if (_on(l.idleTimeout)) at = c.lastData + l.idleTimeout;
    if (_on(l.messageTimeout)) {
      if (c.messages === 0) at = Math.min(at, c.openedAt + l.messageTimeout);
      if (c.partialSince >= 0) at = Math.min(at, c.partialSince + l.messageTimeout);
    }
    if (c.pausedSince >= 0 && _on(l.writeTimeout)) at = Math.min(at, c.pausedSince + l.writeTimeout);
    return at;
  }

  #check(c: _Connection): void {
    c.timer = undefined;
    c.timerAt = Infinity;
    if (!c.open || this.#closed) return;
    const now = this.#now();
    const l = this.limits;
    // A millisecond of slack: timers may fire a little early.
    const due = (since: number, limit: number) => _on(limit) && since >= 0 && now - since >= limit - 1;
    let why: string | undefined;
    if (c.pausedSince >= 0 && due(c.pausedSince, l.writeTimeout)) {
      why = `its peer has not read for ${l.writeTimeout} ms (writeTimeout)`;
    } else if (c.messages === 0 && due(c.openedAt, l.messageTimeout)) {
      why = `no whole message within ${l.messageTimeout} ms of opening (messageTimeout)`;
    } else if (c.partialSince >= 0 && due(c.partialSince, l.messageTimeout)) {
      why = `a message not completed within ${l.messageTimeout} ms (messageTimeout)`;
    } else if (due(c.lastData, l.idleTimeout)) {
      why = `idle for ${l.idleTimeout} ms (idleTimeout)`;
    }
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
    c.open = false;
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

/** A setTimeout delay for `ms` from now: whole, 0 or more, and not over {@linkcode MAX_DELAY}. */
function _delay(ms: number): number {
  return Math.min(Math.max(0, Math.ceil(ms)), MAX_DELAY);
}

/** Chunks in one buffer (the one chunk itself when there is one). */
function _join(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  let length = 0;
  for (const c of chunks) length += c.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** `count` single-CRLF pongs in one buffer. */
function _pongs(count: number): Uint8Array {
  if (count === 1) return CRLF;
  const out = new Uint8Array(2 * count);
  for (let i = 0; i < out.length; i += 2) {
    out[i] = 13;
    out[i + 1] = 10;
  }
  return out;
}

/** Why a connection failed, in words: the error's message and code (`ECONNREFUSED`). */
function _reason(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const code = (e as { code?: unknown }).code;
  return typeof code === "string" && !e.message.includes(code) ? `${e.message} (${code})` : e.message;
}
