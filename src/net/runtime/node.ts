/**
 * The Node.js socket shim (Node 22 and later): UDP (`node:dgram`) and TCP (`node:net`); WebSocket
 * runs over TCP (src/websocket.ts), and its client is the standard `WebSocket`, a global since
 * Node 22.
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
import dgram from "node:dgram";
import net from "node:net";
import process from "node:process";
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { serveHttp } from "./http_node.ts";
import { osInterfaces } from "./os_interfaces.ts";
import { readFileBounded, writeWholeFile } from "./node_files.ts";
import { bindDatagram, orderedDatagramEndpoint } from "./node_dgram.ts";
import { connectTlsStream, listenTlsStream } from "./node_tls.ts";

/** A Node Buffer as a plain Uint8Array over the same bytes (the core never sees Buffer methods). */
function bytes(data: Uint8Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

async function listenDatagram(
  options: ListenOptions,
  onData: (data: Uint8Array, from: SocketAddress) => void,
  onError: (error: unknown) => void,
): Promise<DatagramEndpoint> {
  return orderedDatagramEndpoint(await bindDatagram(dgram, options, onData), onError);
}

/** How long `end()` waits for what was written to be sent, ms. */
const END_WAIT = 1000;

/**
 * The connection seen by the core over a `net.Socket`, accepted or opened. `handlers.close` is
 * reported once, when the socket closes for whatever reason. Also the TLS shim's (node_tls.ts),
 * with the `handshake` of an accepted TLS socket.
 */
export function _streamConnection(
  socket: net.Socket,
  handlers: StreamHandlers,
  handshake?: Promise<void>,
): StreamConnection {
  let closed = false;
  let ending: ReturnType<typeof setTimeout> | undefined;
  const conn: StreamConnection = {
    remote: { address: socket.remoteAddress ?? "", port: socket.remotePort ?? 0 },
    handshake,
    write(data) {
      if (!closed && socket.writable) socket.write(data);
    },
    get buffered() {
      return socket.writableLength;
    },
    pause() {
      if (!closed) socket.pause();
    },
    resume() {
      if (!closed) socket.resume();
    },
    close() {
      clearTimeout(ending);
      socket.destroy();
    },
    end() {
      if (closed || ending !== undefined) return;
      // What was written goes first; a peer that does not read gets a second.
      socket.end();
      ending = setTimeout(() => socket.destroy(), END_WAIT);
    },
  };
  socket.on("data", (data: Uint8Array) => {
    if (!closed) handlers.data(conn, bytes(data));
  });
  socket.on("drain", () => {
    if (!closed && socket.writableLength === 0) handlers.drain?.(conn);
  });
  // A reset or a write to a closed peer: "close" follows and reports it.
  socket.on("error", () => {});
  socket.on("close", () => {
    if (closed) return;
    closed = true;
    clearTimeout(ending);
    handlers.close(conn);
  });
  return conn;
}

async function listenStream(options: ListenOptions, handlers: StreamHandlers): Promise<StreamListener> {
  return await _listenSockets(options, (socket, track) => {
    track(socket);
    handlers.open(_streamConnection(socket, handlers));
  });
}

/**
 * A `node:net` server on `options` (TCP, and under TLS in node_tls.ts): each accepted socket
 * goes to `accept`, which calls `track` with the socket to close at the end (itself, or its TLS
 * wrapper); `close()` destroys them all and resolves once each has closed.
 */
export async function _listenSockets(
  options: ListenOptions,
  accept: (raw: net.Socket, track: (socket: net.Socket) => void) => void,
): Promise<StreamListener> {
  /** Each open socket, and the promise that settles once its close has been reported. */
  const open = new Map<net.Socket, Promise<void>>();
  const track = (socket: net.Socket) => {
    const closed = Promise.withResolvers<void>();
    open.set(socket, closed.promise);
    socket.once("close", () => {
      open.delete(socket);
      closed.resolve();
    });
  };
  const server = net.createServer((raw) => accept(raw, track));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    const reuse = options.reusePort ? { reusePort: true } : {};
    server.listen({ host: options.hostname, port: options.port, ...reuse }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address() as net.AddressInfo;
  return {
    local: { address: addr.address, port: addr.port },
    async close() {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      const loops = [...open.values()];
      for (const socket of open.keys()) socket.destroy();
      // Resolve only once every connection has been reported closed.
      await Promise.all([stopped, ...loops]);
    },
  };
}

/** An outgoing TCP connection: `net.connect`, then the handlers of an accepted one. */
function connectStream(options: ConnectOptions, handlers: StreamHandlers): Promise<StreamConnection> {
  const signal = options.signal;
  if (signal?.aborted) return Promise.reject(signal.reason);
  const { promise, resolve, reject } = Promise.withResolvers<StreamConnection>();
  const socket = net.connect({ host: options.hostname, port: options.port });
  const onAbort = () => {
    socket.destroy();
    reject(signal!.reason);
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  const failed = (e: Error) => {
    signal?.removeEventListener("abort", onAbort);
    reject(new Error(`cannot connect to ${options.hostname} port ${options.port}: ${e.message}`, { cause: e }));
  };
  socket.once("error", failed);
  socket.once("connect", () => {
    signal?.removeEventListener("abort", onAbort);
    socket.off("error", failed);
    const conn = _streamConnection(socket, handlers);
    handlers.open(conn);
    resolve(conn);
  });
  return promise;
}

/** Standard input, whole. */
async function stdin(): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Uint8Array);
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) all.set(c, (at += c.length) - c.length);
  return all;
}

/**
 * The Node implementation of {@linkcode RuntimeProcess}: what the command line needs.
 *
 * @example
 * ```ts
 * import { nodeProcess } from "./node.ts";
 * import assert from "node:assert/strict";
 *
 * const denoJson = await nodeProcess.readTextFile(new URL("../../../deno.json", import.meta.url).pathname);
 * assert.equal(JSON.parse(denoJson).name, "@sipecho/sipecho");
 * ```
 */
export const nodeProcess: RuntimeProcess = {
  args: process.argv.slice(2),
  stdin,
  readTextFile: (path) => readFile(path, "utf8"),
  writeTextFile: (path, text) => writeWholeFile(path, new TextEncoder().encode(text)),
  onSignal(handler) {
    for (const s of ["SIGINT", "SIGTERM"]) process.on(s, handler);
  },
  print: (line) => console.log(line),
  printError: (line) => console.error(line),
  exit: (code) => process.exit(code),
  spawnWorker(args) {
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1], ...args], {
      stdio: ["pipe", "inherit", "inherit"],
    });
    const exited = new Promise<number>((resolve) =>
      child.once("exit", (code, signal) => resolve(code ?? 128 + (signal === "SIGKILL" ? 9 : 15)))
    );
    return {
      pid: child.pid ?? 0,
      exited,
      kill: () => void child.kill("SIGTERM"),
    };
  },
};

/**
 * The Node implementation of {@linkcode RuntimeNet}; `detectRuntime()` picks it on Node.js.
 * Deno and Bun have node:dgram and node:net too, so it runs there as well.
 *
 * @example
 * ```ts
 * import { nodeNet } from "./node.ts";
 * import { serve } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * await using server = await serve({ net: nodeNet, listen: [{ transport: "udp", hostname: "127.0.0.1", port: 0 }] });
 * assert.match(server.uri("echo"), /^sip:echo@127\.0\.0\.1:\d+$/);
 * ```
 */
export const nodeNet: RuntimeNet = {
  name: "node",
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
