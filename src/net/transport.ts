/**
 * The contract between the runtime-neutral core and the per-runtime socket shims
 * (src/net/runtime/deno.ts, bun.ts, node.ts). A shim only moves bytes: it binds sockets,
 * hands received bytes to the handlers, and sends what it is given.
 *
 * @module
 */

import type { SocketAddress } from "../sip/routing.ts";

/**
 * Where to listen.
 *
 * @example
 * ```ts
 * import { type ListenOptions, type RuntimeNet } from "@sipecho/sipecho/net";
 * import { serve } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const asked: ListenOptions[] = [];
 * const net = {
 *   listenDatagram(options: ListenOptions) {
 *     asked.push(options);
 *     return Promise.resolve({ local: { address: options.hostname, port: 5062 }, send() {}, close() {} });
 *   },
 * } as unknown as RuntimeNet; // an in-memory stand-in for the runtime's sockets
 * await using server = await serve({ net, listen: [{ transport: "udp", hostname: "[::1]", port: 0 }] });
 * // The brackets dropped; a SIP listener may be polled (ListenOptions.poll).
 * assert.deepEqual(asked, [{ hostname: "::1", port: 0, poll: true }]);
 * assert.equal(server.uri(), "sip:[::1]:5062");
 * ```
 */
export interface ListenOptions {
  /** Host name or IP to bind, `127.0.0.1` or `::1` (no brackets). */
  hostname: string;
  /** Port; 0 picks a free one. */
  port: number;
  /**
   * UDP only: the longest datagram to take, bytes (default 65,535); longer ones are dropped
   * unreported. The Deno shim gives each of its own sockets (`Deno.listenDatagram`) a receive
   * buffer of this size; its polled sockets share one.
   */
  maxDatagram?: number;
  /**
   * UDP only: the shim may read the socket by polling, in batches with its other polled
   * sockets, for less CPU per datagram and less memory per socket at the price of a timer tick
   * (about 2 ms) of latency on the way in while datagrams come. The Deno shim does so on Linux
   * when FFI is allowed (one epoll reactor for every such socket); Bun's sockets need no such
   * help. `serve()` asks it for its SIP listeners (`udpPoll: false` turns it off), the RTP echo
   * (`MediaEcho`) for its sockets.
   */
  poll?: boolean;
  /**
   * Several sockets, in this process or others, may bind the same address and port, and the
   * system spreads what comes over them (SO_REUSEPORT on Linux: UDP by a hash of the source
   * address and port, so one source always reaches the same socket; TCP connections as they are
   * accepted). Every socket on the port must ask for it. Deno: TCP needs the `net` unstable API,
   * UDP the polled socket (FFI, `poll`); Bun and Node.js: their `node:dgram` (Node.js 22.12 and
   * later). Where the shim cannot, the bind fails with an error saying so.
   */
  reusePort?: boolean;
}

/**
 * A bound UDP socket.
 *
 * @example
 * ```ts
 * import { type DatagramEndpoint, type ListenOptions, type RuntimeNet } from "@sipecho/sipecho/net";
 * import { serve } from "@sipecho/sipecho";
 * import type { SocketAddress } from "@sipecho/sipecho/message";
 * import assert from "node:assert/strict";
 *
 * const sent: SocketAddress[] = [];
 * let open = true;
 * const net = {
 *   listenDatagram(options: ListenOptions): Promise<DatagramEndpoint> {
 *     const local = { address: options.hostname, port: 5060 };
 *     return Promise.resolve({
 *       local,
 *       send: (_data, to) => void sent.push(to),
 *       close() {
 *         open = false;
 *       },
 *     });
 *   },
 * } as unknown as RuntimeNet; // an in-memory stand-in for the runtime's sockets
 * const server = await serve({ net, listen: [{ transport: "udp", hostname: "127.0.0.1", port: 5060 }] });
 * await server.send(new TextEncoder().encode("\r\n\r\n"), { address: "192.0.2.9", port: 5070 });
 * assert.deepEqual(sent, [{ address: "192.0.2.9", port: 5070 }]);
 * await server.close();
 * assert.equal(open, false);
 * ```
 */
export interface DatagramEndpoint {
  /** The address actually bound. */
  readonly local: SocketAddress;
  /** Sends one datagram. Errors (unreachable, ...) are reported to `onError`, never thrown. */
  send(data: Uint8Array, to: SocketAddress): void;
  /**
   * Closes the socket: nothing is delivered or sent after it. A promise, when returned,
   * settles once the socket has let go of everything it held (a waiting thread, say).
   */
  close(): void | Promise<void>;
}

/**
 * One stream connection (TCP) or WebSocket connection.
 *
 * @example
 * ```ts
 * import { type RuntimeNet, type StreamConnection, type StreamHandlers } from "@sipecho/sipecho/net";
 * import { serve } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const accepted: StreamHandlers[] = [];
 * const net = {
 *   listenStream(options: { hostname: string; port: number }, h: StreamHandlers) {
 *     accepted.push(h);
 *     return Promise.resolve({ local: { address: options.hostname, port: 5060 }, close: () => Promise.resolve() });
 *   },
 * } as unknown as RuntimeNet; // an in-memory stand-in for the runtime's sockets
 * await using _server = await serve({ net, listen: [{ transport: "tcp", hostname: "127.0.0.1", port: 5060 }] });
 * const [handlers] = accepted;
 * const written: string[] = [];
 * const conn: StreamConnection = {
 *   remote: { address: "192.0.2.9", port: 40000 },
 *   write: (data) => void written.push(new TextDecoder().decode(data).split("\r\n")[0]),
 *   close: () => handlers.close(conn),
 * };
 * handlers.open(conn);
 * const options = "OPTIONS sip:echo@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.9:40000;branch=z9hG4bK1\r\n" +
 *   "From: <sip:a@192.0.2.9>;tag=1\r\nTo: <sip:echo@127.0.0.1>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n" +
 *   "Content-Length: 0\r\n\r\n";
 * handlers.data(conn, new TextEncoder().encode(options));
 * assert.deepEqual(written, ["SIP/2.0 200 OK"]);
 * ```
 */
export interface StreamConnection {
  /** The peer's address. */
  readonly remote: SocketAddress;
  /** Queues bytes to send, in order. For WebSocket, one call is one message (RFC 7118 §5). */
  write(data: Uint8Array): void;
  /** Closes the connection; `close` is then reported to the handlers once. */
  close(): void;
  /**
   * Closes the connection once what was written has been sent (a moment at most: a peer that
   * does not read does not keep it open). Optional: `close()` stands in for it.
   */
  end?(): void;
  /**

   * Bytes written and not yet taken by the system (the peer is not reading them). Absent: 0.
   * When it drops back to 0, the shim calls `handlers.drain`.
   */
  readonly buffered?: number;
  /** Stops reading from the connection, so that its peer feels TCP backpressure. Optional. */
  pause?(): void;
  /** Reads again after `pause()`. */
  resume?(): void;
  /**
   * TLS only: settles once the TLS handshake is done (resolves) or has failed (rejects with why).
   * A TLS shim reports `open` when the TCP connection is accepted, before the handshake, so that
   * a handshake that stalls or fails counts and is closed like any connection (see
   * `ConnectionLimits.handshakeTimeout`, `maxHandshakes`). Absent: nothing to wait for.
   */
  readonly handshake?: Promise<void>;
}

/**
 * What a stream or WebSocket listener reports.
 *
 * @example
 * ```ts
 * import { type RuntimeNet, type StreamConnection, type StreamHandlers } from "@sipecho/sipecho/net";
 * import { serve } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const accepted: StreamHandlers[] = [];
 * const net = {
 *   listenStream(options: { hostname: string; port: number }, h: StreamHandlers) {
 *     accepted.push(h);
 *     return Promise.resolve({ local: { address: options.hostname, port: 5060 }, close: () => Promise.resolve() });
 *   },
 * } as unknown as RuntimeNet; // an in-memory stand-in for the runtime's sockets
 * await using _server = await serve({ net, listen: [{ transport: "tcp", hostname: "127.0.0.1", port: 5060 }] });
 * const [handlers] = accepted;
 * const written: Uint8Array[] = [];
 * const remote = { address: "192.0.2.9", port: 40000 };
 * const conn: StreamConnection = { remote, write: (data) => void written.push(data), close() {} };
 * handlers.open(conn);
 * handlers.data(conn, new TextEncoder().encode("\r\n\r\n")); // an RFC 5626 keep-alive ping...
 * assert.deepEqual(written, [new TextEncoder().encode("\r\n")]); // ...gets its pong
 * handlers.close(conn);
 * ```
 */
export interface StreamHandlers {
  /** A connection was accepted. */
  open(conn: StreamConnection): void;
  /** Bytes arrived (TCP: any chunk of the stream; WebSocket: one whole message). */
  data(conn: StreamConnection, data: Uint8Array): void;
  /** The connection is closed (by either side). */
  close(conn: StreamConnection): void;
  /** Everything written on the connection has been taken by the system (`buffered` is 0 again). */
  drain?(conn: StreamConnection): void;
}

/**
 * A listening TCP or WebSocket server.
 *
 * @example
 * ```ts
 * import { type RuntimeNet, type StreamListener } from "@sipecho/sipecho/net";
 * import { serve } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * let listening = true;
 * const listener: StreamListener = {
 *   local: { address: "127.0.0.1", port: 5060 },
 *   close() {
 *     listening = false;
 *     return Promise.resolve();
 *   },
 * };
 * const net = { listenStream: () => Promise.resolve(listener) } as unknown as RuntimeNet; // in-memory stand-in
 * const server = await serve({ net, listen: [{ transport: "tcp", hostname: "127.0.0.1", port: 0 }] });
 * assert.deepEqual(server.addresses, [{ transport: "tcp", address: "127.0.0.1", port: 5060 }]);
 * await server.close();
 * assert.equal(listening, false);
 * ```
 */
export interface StreamListener {
  /** The address actually bound. */
  readonly local: SocketAddress;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

/**
 * What a program (the command line) needs of its runtime besides sockets: its arguments,
 * standard input and output, files, signals, exit. Each runtime shim has one
 * (`src/net/runtime/`); tests pass their own.
 *
 * @example
 * ```ts
 * import type { RuntimeProcess } from "./transport.ts";
 * import assert from "node:assert/strict";
 *
 * const lines: string[] = [];
 * const fake: RuntimeProcess = {
 *   args: ["--version"],
 *   stdin: () => Promise.resolve(new Uint8Array()),
 *   readTextFile: () => Promise.reject(new Error("no files here")),
 *   onSignal() {},
 *   print: (line) => void lines.push(line),
 *   printError: (line) => void lines.push(line),
 *   exit: (code) => {
 *     throw new Error(`exit ${code}`);
 *   },
 * };
 * fake.print("hello");
 * assert.deepEqual(lines, ["hello"]);
 * ```
 */
export interface RuntimeProcess {
  /** The arguments after the script. */
  args: string[];
  /** Standard input, whole. */
  stdin(): Promise<Uint8Array>;
  /** Reads a text file. */
  readTextFile(path: string): Promise<string>;
  /** Writes a text file whole (`--tls-ca-out`); optional, for the runtimes' own implementations. */
  writeTextFile?(path: string, text: string): Promise<void>;
  /** Calls `handler` once on SIGINT or SIGTERM. */
  onSignal(handler: () => void): void;
  /** Writes a line to standard output. */
  print(line: string): void;
  /** Writes a line to standard error. */
  printError(line: string): void;
  /** Ends the process. */
  exit(code: number): never;
  /**
   * Starts this same program again as a worker (`--workers`) with `args`: its standard output
   * and error are this process's, its standard input a pipe that closes when this process ends
   * (the worker stops then). Absent where the shim cannot.
   */
  spawnWorker?(args: string[]): WorkerProcess;
}

/**
 * A worker process started by {@linkcode RuntimeProcess.spawnWorker}.
 *
 * @example
 * ```ts
 * import type { WorkerProcess } from "@sipecho/sipecho/net";
 * import assert from "node:assert/strict";
 *
 * const done: WorkerProcess = { pid: 1, exited: Promise.resolve(0), kill() {} };
 * assert.equal(await done.exited, 0);
 * ```
 */
export interface WorkerProcess {
  /** Its process id. */
  readonly pid: number;
  /** Resolves with its exit code once it has ended (128 + the signal number after a signal). */
  readonly exited: Promise<number>;
  /** Sends it SIGTERM. */
  kill(): void;
}

/**
 * Where to open a TCP connection (see {@linkcode RuntimeNet.connectStream}).
 *
 * @example
 * ```ts
 * import type { ConnectOptions } from "@sipecho/sipecho/net";
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

/**
 * One address of a network interface of this machine, as a shim lists them
 * ({@linkcode RuntimeNet.networkInterfaces}).
 *
 * @example
 * ```ts
 * import type { InterfaceAddress } from "@sipecho/sipecho/net";
 * import assert from "node:assert/strict";
 *
 * const list: InterfaceAddress[] = [{ name: "lo", address: "127.0.0.1" }, { name: "eth0", address: "192.0.2.2" }];
 * assert.equal(list.find((i) => i.name !== "lo")?.address, "192.0.2.2");
 * ```
 */
export interface InterfaceAddress {
  /** The interface's name (`eth0`, `en0`, `lo`). */
  name: string;
  /** The address, IPv4 or IPv6, without brackets or zone (`%eth0`). */
  address: string;
}

/**
 * The socket abilities of one runtime.
 *
 * @example
 * ```ts
 * import { parseMessage, serve, type SipResponse } from "@sipecho/sipecho";
 * import { type RuntimeNet } from "@sipecho/sipecho/net";
 * import { type SocketAddress } from "@sipecho/sipecho/message";
 * import assert from "node:assert/strict";
 *
 * let deliver: (data: Uint8Array, from: SocketAddress) => void = () => {};
 * const sent: Uint8Array[] = [];
 * const net: RuntimeNet = { // an in-memory shim: UDP only
 *   name: "memory",
 *   listenDatagram(options, onData) {
 *     deliver = onData;
 *     const local = { address: options.hostname, port: 5060 };
 *     return Promise.resolve({ local, send: (data) => void sent.push(data), close() {} });
 *   },
 *   listenStream: () => Promise.reject(new Error("no TCP here")),
 * };
 * await using _server = await serve({ net, listen: [{ transport: "udp", hostname: "192.0.2.1", port: 5060 }] });
 * const options = "OPTIONS sip:echo@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1\r\n" +
 *   "From: <sip:a@192.0.2.9>;tag=1\r\nTo: <sip:echo@192.0.2.1>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n\r\n";
 * deliver(new TextEncoder().encode(options), { address: "192.0.2.9", port: 5060 });
 * assert.equal((parseMessage(sent[0]) as SipResponse).status, 200);
 * ```
 */
export interface RuntimeNet {
  /** `deno`, `bun` or `node`. */
  readonly name: string;
  /** Binds a UDP socket; `onData` gets every datagram. */
  listenDatagram(
    options: ListenOptions,
    onData: (data: Uint8Array, from: SocketAddress) => void,
    onError: (error: unknown) => void,
  ): Promise<DatagramEndpoint>;
  /**
   * Listens for TCP connections (SIP over TCP, and over WebSocket: `serve()` speaks RFC 6455
   * itself on the TCP stream).
   */
  listenStream(options: ListenOptions, handlers: StreamHandlers): Promise<StreamListener>;
  /**
   * Opens a TCP connection. Once it is open, `handlers.open` gets it (before the promise
   * resolves), then its data and close go to `handlers` as for an accepted connection.
   * Rejects when it cannot be opened (refused, unreachable, aborted). Optional: a shim without
   * it serves, but `serve()` cannot open connections through it.
   */
  connectStream?(options: ConnectOptions, handlers: StreamHandlers): Promise<StreamConnection>;
  /**
   * Listens for TLS connections (SIP over TLS, RFC 3261 §26; and secure WebSocket, RFC 7118,
   * which `serve()` speaks over the TLS stream). As {@linkcode listenStream}, but each
   * connection is reported open before its handshake, with `StreamConnection.handshake`.
   * Optional: a shim without it cannot serve TLS.
   */
  listenTlsStream?(options: TlsListenOptions, handlers: StreamHandlers): Promise<StreamListener>;
  /**
   * Opens a TLS connection, verifying the server's certificate against `options.ca` (or the
   * system's CAs); resolves once the handshake is done. Then as {@linkcode connectStream}.
   */
  connectTlsStream?(options: TlsConnectOptions, handlers: StreamHandlers): Promise<StreamConnection>;
  /**
   * The addresses of this machine's network interfaces, loopback included, in the system's
   * order: behind a wildcard bind `serve()` advertises the first one other machines can reach.
   * Optional: without it, `serve()` advertises 127.0.0.1 there. An empty list when the runtime
   * may not read them (Deno without `--allow-sys`).
   */
  networkInterfaces?(): InterfaceAddress[];
  /**
   * Serves HTTP/1.1 on a TCP port (`serve({ http })`: `/metrics`, `/healthz`, the live page):
   * each request goes to `handler` as a standard `Request`, and the `Response` it returns is
   * written back, its body streamed as it comes (Server-Sent Events) until it ends or the
   * client goes away (then the body stream is cancelled). Optional: without it, `serve()`
   * refuses the `http` option.
   */
  serveHttp?(options: ListenOptions, handler: HttpHandler): Promise<HttpListener>;
  /**
   * Reads a whole file (the media flows' announcements). Rejects with a `RangeError` when it is
   * larger than `maxBytes`, without reading it. Optional: without it, announcements are not
   * played (the call is echoed).
   */
  readFile?(path: string, maxBytes: number): Promise<Uint8Array>;
  /**
   * Writes a whole file, replacing it (the media flows' recordings). Optional: without it,
   * nothing is recorded.
   */
  writeFile?(path: string, data: Uint8Array): Promise<void>;
}

/**
 * What answers HTTP requests (see {@linkcode RuntimeNet.serveHttp}): a standard `Request` in,
 * with the client's address, a standard `Response` out.
 *
 * @example
 * ```ts
 * import type { HttpHandler } from "@sipecho/sipecho/net";
 * import assert from "node:assert/strict";
 *
 * const handler: HttpHandler = (request) =>
 *   new URL(request.url).pathname === "/healthz" ? new Response("ok") : new Response("", { status: 404 });
 * const response = await handler(new Request("http://127.0.0.1/healthz"), { address: "127.0.0.1", port: 40000 });
 * assert.equal(await response.text(), "ok");
 * ```
 */
export type HttpHandler = (request: Request, remote: SocketAddress) => Response | Promise<Response>;

/**
 * A listening HTTP server (see {@linkcode RuntimeNet.serveHttp}).
 *
 * @example
 * ```ts
 * import type { HttpListener } from "@sipecho/sipecho/net";
 * import assert from "node:assert/strict";
 *
 * const listener: HttpListener = { local: { address: "127.0.0.1", port: 9100 }, close: () => Promise.resolve() };
 * assert.equal(listener.local.port, 9100);
 * await listener.close();
 * ```
 */
export interface HttpListener {
  /** The address actually bound. */
  readonly local: SocketAddress;
  /** Stops listening and closes every connection, streamed responses too. */
  close(): Promise<void>;
}

// ---- TLS (RFC 3261 §26, RFC 5630): the optional TLS abilities of a shim

/**
 * Where to listen for TLS connections, and with what certificate
 * ({@linkcode RuntimeNet.listenTlsStream}).
 *
 * @example
 * ```ts
 * import type { TlsListenOptions } from "@sipecho/sipecho/net";
 * import assert from "node:assert/strict";
 *
 * const options: TlsListenOptions = { hostname: "127.0.0.1", port: 5061, cert: "-----BEGIN CERTIFICATE-----...", key: "..." };
 * assert.equal(options.port, 5061);
 * ```
 */
export interface TlsListenOptions extends ListenOptions {
  /** The certificate chain, PEM: the server's own certificate first, then any intermediates. */
  cert: string;
  /** Its private key, PEM (PKCS #8, or the SEC 1 / PKCS #1 forms the runtime reads). */
  key: string;
}

/**
 * Where to open a TLS connection, and whom to trust ({@linkcode RuntimeNet.connectTlsStream}).
 *
 * @example
 * ```ts
 * import type { TlsConnectOptions } from "@sipecho/sipecho/net";
 * import assert from "node:assert/strict";
 *
 * const to: TlsConnectOptions = { hostname: "127.0.0.1", port: 5061, ca: ["-----BEGIN CERTIFICATE-----..."] };
 * assert.equal(to.ca?.length, 1);
 * ```
 */
export interface TlsConnectOptions extends ConnectOptions {
  /**
   * CA certificates to trust (PEM), instead of the system's. The server's certificate must name
   * `hostname` in its subjectAltName (an IP address entry for an IP, RFC 5922 §7.2).
   */
  ca?: string[];
  /**
   * The SHA-256 fingerprint the server's own certificate must have (colon hex, `AB:CD:...`, as
   * `makeCertificate()` gives it). Alone, it is the whole check: no CA, no name (a pinned
   * certificate, as RFC 8122 §5 pins a DTLS one); with `ca`, both must hold.
   */
  fingerprint?: string;
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

export { isMulticast, responseDestination, type SocketAddress, unbracket, type ViaRouting } from "../sip/routing.ts";
