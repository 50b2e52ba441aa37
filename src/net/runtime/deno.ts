/**
 * The Deno socket shim: UDP (`Deno.listenDatagram`, or `node:dgram` when the `net` unstable
 * API is not enabled; the sockets that ask for `poll`, SIP listeners and RTP echo sockets, are
 * read by one epoll reactor through FFI where they can be, see deno_udp_poll.ts) and TCP (`Deno.listen`, `Deno.connect`); WebSocket runs over TCP
 * (src/websocket.ts), and its client is the standard `WebSocket`.
 *
 * @module
 */

import type {
  ConnectOptions,
  DatagramEndpoint,
  InterfaceAddress,
  ListenOptions,
  RuntimeNet,
  RuntimeProcess,
  SocketAddress,
  StreamConnection,
  StreamHandlers,
  StreamListener,
} from "../transport.ts";
import { _join } from "../bytes.ts";
import { serveHttp } from "./http_deno.ts";
import { listenPolledDatagram } from "./deno_udp_poll.ts";
import { bindDatagram, maxDatagram } from "./node_dgram.ts";
import { connectTlsStream, listenTlsStream } from "./deno_tls.ts";

/**
 * Makes sends go out one after the other. Deno runs UDP sends started together in no set order
 * (with `Deno.listenDatagram` and with `node:dgram` alike, often the reverse one), so a 100, 180
 * and 200 sent at once could arrive 200 first; each send here waits for the previous one.
 */
function _sequential(
  send: (data: Uint8Array, to: SocketAddress) => Promise<unknown>,
  onError: (error: unknown) => void,
): (data: Uint8Array, to: SocketAddress) => void {
  let chain: Promise<unknown> = Promise.resolve();
  return (data, to) => {
    chain = chain.then(() => send(data, to)).catch(onError);
  };
}

/**
 * Receive buffers of closed sockets, by size, for the next sockets to take. A new buffer is zeroed
 * memory outside the JavaScript heap that only a garbage collection gives back: with a socket
 * opened and closed per call (the RTP echo where the polled path cannot be taken), memory grew by
 * 64 KiB a socket between collections, and allocating took a third of the cost of opening a
 * socket. A buffer is free again once the receive pending on it has settled: when its socket's
 * receive loop has ended.
 */
const _spareBuffers = new Map<number, Uint8Array[]>();
const MAX_SPARE_BUFFERS = 64;

async function listenDatagram(
  options: ListenOptions,
  onData: (data: Uint8Array, from: SocketAddress) => void,
  onError: (error: unknown) => void,
): Promise<DatagramEndpoint> {
  if (options.poll) {
    const polled = listenPolledDatagram(options, onData, onError);
    if (polled !== undefined) return polled;
  }
  // Deno.listenDatagram's reuseAddress is SO_REUSEADDR alone on Linux (the last socket bound
  // gets every datagram) and Deno's node:dgram has no reusePort: only the polled socket shares.
  if (options.reusePort) {
    throw new Error(
      "a shared UDP port (SO_REUSEPORT) on Deno needs the polled socket: Linux, FFI allowed (-A), UDP polling on",
    );
  }
  if (typeof Deno.listenDatagram !== "function") return await listenDgram(options, onData, onError);
  const socket = Deno.listenDatagram({ transport: "udp", hostname: options.hostname, port: options.port });
  const addr = socket.addr as Deno.NetAddr;
  let closed = false;
  const max = maxDatagram(options);
  (async () => {
    // One receive buffer for every datagram, each copied out at its own size: left to itself,
    // receive() allocates a new 64 KiB buffer per datagram (the datagram is a view of it), which
    // stays in memory until the garbage collector frees it. One byte more than the longest
    // datagram taken: a datagram that fills it may have been cut short, and is dropped.
    const size = max + 1;
    const buffer = _spareBuffers.get(size)?.pop() ?? new Uint8Array(size);
    try {
      for (;;) {
        let received;
        try {
          received = await socket.receive(buffer);
        } catch (e) {
          // As the socket's async iterator does: closed is the end.
          if (e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted) return;
          throw e;
        }
        if (received[0].length > max) continue;
        const f = received[1] as Deno.NetAddr;
        onData(received[0].slice(), { address: f.hostname, port: f.port });
      }
    } catch (e) {
      if (!closed) onError(e);
    } finally {
      // No receive is pending on it any more.
      let spares = _spareBuffers.get(size);
      if (spares === undefined) _spareBuffers.set(size, spares = []);
      if (spares.length < MAX_SPARE_BUFFERS) spares.push(buffer);
    }
  })();
  return {
    local: { address: addr.hostname, port: addr.port },
    send: _sequential(
      (data, to) => socket.send(data, { transport: "udp", hostname: to.address, port: to.port }),
      (e) => closed || onError(e),
    ),
    close() {
      closed = true;
      socket.close();
    },
  };
}

/** UDP through node:dgram, which needs no unstable flag. */
async function listenDgram(
  options: ListenOptions,
  onData: (data: Uint8Array, from: SocketAddress) => void,
  onError: (error: unknown) => void,
): Promise<DatagramEndpoint> {
  const socket = await bindDatagram(await import("node:dgram"), options, onData);
  socket.on("error", onError);
  const addr = socket.address();
  let closed = false;
  return {
    local: { address: addr.address, port: addr.port },
    send: _sequential(
      (data, to) =>
        new Promise<void>((resolve, reject) =>
          socket.send(data, to.port, to.address, (e) => e ? reject(e) : resolve())
        ),
      (e) => closed || onError(e),
    ),
    close() {
      closed = true;
      socket.close();
    },
  };
}

/**
 * The writing side of a Deno connection: bytes queue in order and one loop writes them, joining
 * what waited into one write (a flood of 2-byte pongs must not become a chain of a million
 * writes). `buffered` counts what the system has not taken yet; `onDrain` is called when it
 * drops back to 0.
 */
class _Writer {
  buffered = 0;
  /** Called once everything written has been sent (then forgotten). */
  onIdle: (() => void) | undefined;
  #chunks: Uint8Array[] = [];
  #running = false;
  #conn: Deno.Conn;
  #onFail: () => void;
  #onDrain: () => void;

  constructor(conn: Deno.Conn, onFail: () => void, onDrain: () => void) {
    this.#conn = conn;
    this.#onFail = onFail;
    this.#onDrain = onDrain;
  }

  write(data: Uint8Array): void {
    this.#chunks.push(data);
    this.buffered += data.length;
    if (!this.#running) void this.#run();
  }

  async #run(): Promise<void> {
    this.#running = true;
    try {
      while (this.#chunks.length > 0) {
        const chunks = this.#chunks;
        this.#chunks = [];
        const data = _join(chunks);
        for (let sent = 0; sent < data.length;) sent += await this.#conn.write(data.subarray(sent));
        this.buffered -= data.length;
      }
    } catch {
      this.#chunks = [];
      this.buffered = 0;
      this.#running = false;
      this.#onFail();
      return;
    }
    this.#running = false;
    const idle = this.onIdle;
    this.onIdle = undefined;
    idle?.();
    this.#onDrain();
  }

  /** Whether everything written has been sent. */
  get idle(): boolean {
    return !this.#running && this.#chunks.length === 0;
  }
}

// deno-lint-ignore require-await
async function listenStream(options: ListenOptions, handlers: StreamHandlers): Promise<StreamListener> {
  // reusePort needs the `net` unstable API (Deno 2.9); without it Deno.listen throws saying so.
  const reuse = options.reusePort ? { reusePort: true } : {};
  const listener = Deno.listen({ hostname: options.hostname, port: options.port, transport: "tcp", ...reuse });
  const addr = listener.addr as Deno.NetAddr;
  /** Each open connection and its read loop, which ends after reporting `close`. */
  const open = new Map<Deno.Conn, Promise<void>>();
  const serving = (async () => {
    for await (const conn of listener) {
      open.set(conn, _serveConnection(conn, handlers, () => open.delete(conn)));
    }
  })().catch(() => {});
  return {
    local: { address: addr.hostname, port: addr.port },
    async close() {
      listener.close();
      const loops = [...open.values()];
      for (const conn of open.keys()) {
        try {
          conn.close();
        } catch { /* already closed */ }
      }
      await serving;
      // Resolve only once every connection has been reported closed.
      await Promise.all(loops);
    },
  };
}

/** How long `end()` waits for what was written to be sent, ms. */
const END_WAIT = 1000;
/** A connection's read loop lets timers run after this long, ms. */
const YIELD_AFTER = 10;

/**
 * Serves one connection: reports `open` (with `handshake`, for TLS), then reads until it closes
 * and reports `close`. Also the TLS shim's (deno_tls.ts).
 */
export function _serveConnection(
  raw: Deno.Conn,
  handlers: StreamHandlers,
  forget: () => void,
  handshake?: Promise<void>,
): Promise<void> {
  const remote = raw.remoteAddr as Deno.NetAddr;
  let closed = false;
  /** While paused, the read loop waits on this. */
  let resumed: PromiseWithResolvers<void> | undefined;
  const writer = new _Writer(raw, () => conn.close(), () => handlers.drain?.(conn));
  const conn: StreamConnection = {
    remote: { address: remote.hostname, port: remote.port },
    handshake,
    write: (data) => {
      if (!closed) writer.write(data);
    },
    get buffered() {
      return writer.buffered;
    },
    pause() {
      resumed ??= Promise.withResolvers<void>();
    },
    resume() {
      resumed?.resolve();
      resumed = undefined;
    },
    close() {
      if (closed) return;
      closed = true;
      clearTimeout(ending);
      resumed?.resolve();
      try {
        raw.close();
      } catch { /* already closed */ }
    },
    end() {
      if (closed) return;
      if (writer.idle) return conn.close();
      // What was written goes first; a peer that does not read gets a second.
      writer.onIdle = () => conn.close();
      ending ??= setTimeout(() => conn.close(), END_WAIT);
    },
  };
  let ending: ReturnType<typeof setTimeout> | undefined;
  handlers.open(conn);
  return (async () => {
    // 16 KiB a read: a connection costs little while it waits (a SIP message is a few reads at most).
    const buffer = new Uint8Array(16384);
    let since = performance.now();
    try {
      for (;;) {
        // Backpressure: no read while paused (the peer's TCP window fills up).
        while (resumed !== undefined && !closed) await resumed.promise;
        const n = await raw.read(buffer);
        if (n === null || closed) break;
        handlers.data(conn, buffer.slice(0, n));
        // A read of bytes already there resolves at once: a peer that keeps the connection full
        // would keep this loop from ever giving timers (and the other sockets) their turn.
        if (performance.now() - since >= YIELD_AFTER) {
          await new Promise((resolve) => setTimeout(resolve, 0));
          since = performance.now();
        }
      }
    } catch { /* reset or closed */ }
    conn.close();
    forget();
    handlers.close(conn);
  })();
}

/** An outgoing TCP connection: `Deno.connect`, then the read loop of an accepted one. */
async function connectStream(options: ConnectOptions, handlers: StreamHandlers): Promise<StreamConnection> {
  const raw = await Deno.connect({
    hostname: options.hostname,
    port: options.port,
    transport: "tcp",
    signal: options.signal,
  });
  let conn: StreamConnection | undefined;
  // _serveConnection() reports `open` before its first read.
  _serveConnection(raw, { ...handlers, open: (c) => handlers.open(conn = c) }, () => {});
  return conn!;
}

/** `Deno.networkInterfaces()`, zones dropped; none when --allow-sys is not given. */
function networkInterfaces(): InterfaceAddress[] {
  try {
    return Deno.networkInterfaces().map((i) => ({ name: i.name, address: i.address.replace(/%.*$/, "") }));
  } catch {
    return [];
  }
}

/** The Deno implementation of {@linkcode RuntimeProcess}: what the command line needs. */
export const denoProcess: RuntimeProcess = {
  args: Deno.args,
  stdin: async () => new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer()),
  readTextFile: (path) => Deno.readTextFile(path),
  writeTextFile: (path, text) => Deno.writeTextFile(path, text),
  onSignal(handler) {
    for (const s of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(s, handler);
  },
  print: (line) => console.log(line),
  printError: (line) => console.error(line),
  exit: (code) => Deno.exit(code),
  spawnWorker(args) {
    // -A: a worker needs FFI for its shared UDP sockets (see listenDatagram), so the parent had
    // it too; the `net` unstable API for Deno.listen's reusePort.
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--unstable-net", Deno.mainModule, ...args],
      stdin: "piped",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    return {
      pid: child.pid,
      exited: child.status.then((s) => s.code),
      kill() {
        try {
          child.kill("SIGTERM");
        } catch { /* already ended */ }
      },
    };
  },
};

/** The Deno implementation of {@linkcode RuntimeNet}. */
export const denoNet: RuntimeNet = {
  name: "deno",
  listenDatagram,
  listenStream,
  connectStream,
  networkInterfaces,
  listenTlsStream,
  connectTlsStream,
  serveHttp,
  readFile: async (path, maxBytes) => {
    const { size } = await Deno.stat(path);
    if (size > maxBytes) throw new RangeError(`${path}: ${size} bytes, more than ${maxBytes}`);
    return await Deno.readFile(path);
  },
  writeFile: (path, data) => Deno.writeFile(path, data),
};
