/**
 * The Bun socket shim: UDP (`Bun.udpSocket`) and TCP (`Bun.listen`, `Bun.connect`); WebSocket
 * runs over TCP (src/websocket.ts), and its client is the standard `WebSocket`.
 *
 * @module
 */

import type {
  ConnectOptions,
  DatagramEndpoint,
  ListenOptions,
  RuntimeNet,
  RuntimeProcess,
  SocketAddress,
  StreamConnection,
  StreamHandlers,
  StreamListener,
} from "../transport.ts";
import { _join } from "../bytes.ts";
import { serveHttp } from "./http_bun.ts";
import { osInterfaces } from "./os_interfaces.ts";
import { connectTlsStream, listenTlsStream } from "./bun_tls.ts";
import { readFileBounded, writeWholeFile } from "./node_files.ts";
import { bindDatagram, orderedDatagramEndpoint } from "./node_dgram.ts";

// The few Bun types used here, declared rather than imported (no type package needed).
interface BunUdpSocket {
  readonly address: { address: string; port: number };
  send(data: Uint8Array, port: number, address: string): boolean;
  close(): void;
}
/** A Bun TCP (or TLS) socket. */
export interface BunTcpSocket<T> {
  data: T;
  readonly remoteAddress: string;
  readonly remotePort: number;
  write(data: Uint8Array): number;
  end(): void;
  pause(): void;
  resume(): void;
}
/** The handlers of a Bun TCP (or TLS) socket. */
export interface BunTcpSocketHandlers<T> {
  open(socket: BunTcpSocket<T>): void;
  data(socket: BunTcpSocket<T>, data: Uint8Array): void;
  drain(socket: BunTcpSocket<T>): void;
  close(socket: BunTcpSocket<T>): void;
  error?(socket: BunTcpSocket<T>, e: unknown): void;
  connectError?(socket: BunTcpSocket<T>, e: unknown): void;
}
interface BunTcpListener {
  readonly hostname: string;
  readonly port: number;
  stop(closeActiveConnections?: boolean): void;
}
declare const process: {
  argv: string[];
  execPath: string;
  exit(code: number): never;
  on(signal: string, handler: () => void): void;
};
declare const Bun: {
  argv: string[];
  main: string;
  spawn(
    cmd: string[],
    options: { stdin: "pipe"; stdout: "inherit"; stderr: "inherit" },
  ): { pid: number; exited: Promise<number>; signalCode: string | null; kill(signal?: string): void };
  stdin: { arrayBuffer(): Promise<ArrayBuffer> };
  file(path: string): { text(): Promise<string> };
  udpSocket(options: {
    hostname: string;
    port: number;
    socket: {
      data(socket: BunUdpSocket, data: Uint8Array, port: number, address: string): void;
      error?(e: unknown): void;
    };
  }): Promise<BunUdpSocket>;
  listen<T>(
    options: { hostname: string; port: number; reusePort?: boolean; socket: BunTcpSocketHandlers<T> },
  ): BunTcpListener;
  connect<T>(options: { hostname: string; port: number; socket: BunTcpSocketHandlers<T> }): Promise<BunTcpSocket<T>>;
};

async function listenDatagram(
  options: ListenOptions,
  onData: (data: Uint8Array, from: SocketAddress) => void,
  onError: (error: unknown) => void,
): Promise<DatagramEndpoint> {
  // Bun.udpSocket takes no reusePort (Bun 1.4: a second bind of the port fails); Bun's
  // node:dgram does, and the system then spreads sources over the sockets.
  if (options.reusePort) return await listenSharedDatagram(options, onData, onError);
  // As on Deno, where a longer datagram does not fit the receive buffer.
  const max = options.maxDatagram !== undefined && options.maxDatagram >= 1 ? options.maxDatagram : 65535;
  const socket = await Bun.udpSocket({
    hostname: options.hostname,
    port: options.port,
    socket: {
      data: (_s, data, port, address) => {
        if (data.length <= max) onData(data, { address, port });
      },
      error: onError,
    },
  });
  return {
    local: { address: socket.address.address, port: socket.address.port },
    send(data, to) {
      // Bun arms IP_RECVERR on its UDP sockets, so on Linux the ICMP port unreachable of an
      // earlier datagram fails the next send with ECONNREFUSED, and that datagram is not sent
      // (oven-sh/bun#36249). The error is about the earlier datagram, is consumed by the failed
      // send, and is also reported to `error` as a recv error: send again.
      for (let attempt = 0;; attempt++) {
        try {
          socket.send(data, to.port, to.address);
          return;
        } catch (e) {
          if (attempt < 3 && (e as { code?: unknown }).code === "ECONNREFUSED") continue;
          onError(e);
          return;
        }
      }
    },
    close() {
      socket.close();
    },
  };
}

/** UDP through Bun's `node:dgram`, for a port shared with other sockets (`reusePort`). */
async function listenSharedDatagram(
  options: ListenOptions,
  onData: (data: Uint8Array, from: SocketAddress) => void,
  onError: (error: unknown) => void,
): Promise<DatagramEndpoint> {
  return orderedDatagramEndpoint(await bindDatagram(await import("node:dgram"), options, onData), onError);
}

/** Per-connection state: the connection seen by the core, and bytes the kernel has not taken yet. */
export interface TcpState {
  conn: StreamConnection;
  pending: Uint8Array[];
  /** Bytes in `pending`. */
  buffered: number;
  closed: boolean;
  /** `end()` was called: the socket ends once `pending` is written (or after END_WAIT). */
  ending: ReturnType<typeof setTimeout> | undefined;
}

/** How long `end()` waits for what was written to be sent, ms. */
const END_WAIT = 1000;

/**
 * Writes what waits, joined into one write (a flood of 2-byte pongs must not be a write each).
 * False when the kernel took only part of it: the rest waits for `drain`.
 */
function flush(socket: BunTcpSocket<TcpState>): boolean {
  const state = socket.data;
  if (state.pending.length === 0) return true;
  const chunk = _join(state.pending);
  const n = Math.max(socket.write(chunk), 0);
  if (n < chunk.length) {
    state.pending = [chunk.subarray(n)];
    state.buffered = chunk.length - n;
    return false;
  }
  state.pending = [];
  state.buffered = 0;
  return true;
}

/**
 * The socket handlers of a TCP connection, accepted or opened. `wanted` (connect only) says
 * whether the connection is still wanted when it opens: if not, it is ended unreported.
 */
export function _tcpSocket(handlers: StreamHandlers, wanted = () => true): BunTcpSocketHandlers<TcpState> {
  return {
    open(socket) {
      const state: TcpState = {
        pending: [],
        buffered: 0,
        closed: false,
        ending: undefined,
        conn: {
          remote: { address: socket.remoteAddress, port: socket.remotePort },
          write(data) {
            if (state.closed) return;
            state.pending.push(data);
            state.buffered += data.length;
            if (state.pending.length === 1) flush(socket);
          },
          get buffered() {
            return state.buffered;
          },
          pause() {
            if (!state.closed) socket.pause();
          },
          resume() {
            if (!state.closed) socket.resume();
          },
          close() {
            clearTimeout(state.ending);
            if (!state.closed) socket.end();
          },
          end() {
            if (state.closed || state.ending !== undefined) return;
            if (state.pending.length === 0) return socket.end();
            // What was written goes first; a peer that does not read gets a second.
            state.ending = setTimeout(() => state.conn.close(), END_WAIT);
          },
        },
      };
      socket.data = state;
      if (!wanted()) {
        state.closed = true;
        socket.end();
        return;
      }
      handlers.open(state.conn);
    },
    data(socket, data) {
      if (!socket.data.closed) handlers.data(socket.data.conn, data);
    },
    drain(socket) {
      const state = socket.data;
      if (state === undefined || state.closed) return;
      if (!flush(socket)) return;
      if (state.ending !== undefined) state.conn.close();
      else handlers.drain?.(state.conn);
    },
    close(socket) {
      if (socket.data === undefined || socket.data.closed) return;
      clearTimeout(socket.data.ending);
      socket.data.closed = true;
      handlers.close(socket.data.conn);
    },
    error() {},
    // The promise of Bun.connect rejects; nothing was reported.
    connectError() {},
  };
}

// Async so that a failed listen (Bun throws at once) is a rejected promise, as the contract says.
// deno-lint-ignore require-await
async function listenStream(options: ListenOptions, handlers: StreamHandlers): Promise<StreamListener> {
  const listener = Bun.listen<TcpState>({
    hostname: options.hostname,
    port: options.port,
    reusePort: options.reusePort === true,
    socket: _tcpSocket(handlers),
  });
  return {
    local: { address: listener.hostname, port: listener.port },
    close() {
      listener.stop(true);
      return Promise.resolve();
    },
  };
}

/** An outgoing TCP connection (`Bun.connect`, which takes no signal: an abort stops waiting for it). */
async function connectStream(options: ConnectOptions, handlers: StreamHandlers): Promise<StreamConnection> {
  const signal = options.signal;
  signal?.throwIfAborted();
  const connecting = Bun.connect<TcpState>({
    hostname: options.hostname,
    port: options.port,
    socket: _tcpSocket(handlers, () => !signal?.aborted),
  });
  let socket: BunTcpSocket<TcpState>;
  if (signal === undefined) socket = await connecting;
  else {
    const aborted = Promise.withResolvers<never>();
    const onAbort = () => aborted.reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      socket = await Promise.race([connecting, aborted.promise]);
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }
  // Bun reports `open` before the promise resolves; a connection aborted meanwhile was ended there.
  if (socket.data?.closed !== false) throw signal?.reason ?? new Error("the connection closed as it opened");
  return socket.data.conn;
}

/** The Bun implementation of {@linkcode RuntimeProcess}: what the command line needs. */
export const bunProcess: RuntimeProcess = {
  args: Bun.argv.slice(2),
  stdin: async () => new Uint8Array(await Bun.stdin.arrayBuffer()),
  readTextFile: (path) => Bun.file(path).text(),
  writeTextFile: (path, text) => writeWholeFile(path, new TextEncoder().encode(text)),
  onSignal(handler) {
    for (const s of ["SIGINT", "SIGTERM"]) process.on(s, handler);
  },
  print: (line) => console.log(line),
  printError: (line) => console.error(line),
  exit: (code) => process.exit(code),
  spawnWorker(args) {
    const child = Bun.spawn([process.execPath, Bun.main, ...args], {
      stdin: "pipe",
      stdout: "inherit",
      stderr: "inherit",
    });
    return {
      pid: child.pid,
      exited: child.exited,
      kill() {
        try {
          child.kill("SIGTERM");
        } catch { /* already ended */ }
      },
    };
  },
};

/** The Bun implementation of {@linkcode RuntimeNet}. */
export const bunNet: RuntimeNet = {
  name: "bun",
  listenDatagram,
  listenStream,
  connectStream,
  networkInterfaces: osInterfaces,
  listenTlsStream,
  connectTlsStream,
  serveHttp,
  readFile: readFileBounded,
  writeFile: writeWholeFile,
};
