/**
 * The Bun shim's TLS (RFC 3261 §26): `Bun.listen` and `Bun.connect` with `tls`. A TLS socket is
 * read and written as a TCP one (`_tcpSocket` of bun.ts); Bun reports `open` when the TCP
 * connection is made and `handshake` once TLS is up, which `StreamConnection.handshake` tells.
 *
 * @module
 */

import type {
  StreamConnection,
  StreamHandlers,
  StreamListener,
  TlsConnectOptions,
  TlsListenOptions,
} from "../transport.ts";
import { _tcpSocket, type BunTcpSocket, type BunTcpSocketHandlers, type TcpState } from "./bun.ts";
import { connectTlsStream as _nodeConnectTlsStream } from "./node_tls.ts";

/** The handlers of a TLS socket: those of TCP, plus Bun's `handshake`. */
interface BunTlsSocketHandlers<T> extends BunTcpSocketHandlers<T> {
  handshake(socket: BunTcpSocket<T>, success: boolean, authorizationError: Error | null): void;
}
declare const Bun: {
  listen<T>(options: {
    hostname: string;
    port: number;
    reusePort?: boolean;
    tls: { cert: string; key: string };
    socket: BunTlsSocketHandlers<T>;
  }): { readonly hostname: string; readonly port: number; stop(closeActiveConnections?: boolean): void };
  connect<T>(options: {
    hostname: string;
    port: number;
    tls: true | { ca: string[] };
    socket: BunTlsSocketHandlers<T>;
  }): Promise<BunTcpSocket<T>>;
};

/** Why a handshake failed, as an Error. */
function _failure(authorizationError: Error | null): Error {
  return authorizationError ?? new Error("the TLS handshake failed");
}

/**
 * Listens for TLS connections: each is reported open when accepted, with a `handshake` that
 * settles when Bun reports it done, or rejects when it fails or the connection closes first.
 *
 * @param options Where, and the certificate and key (PEM).
 * @param handlers Where the connections go.
 * @returns The listener.
 */
// Async so that a failed listen (Bun throws at once) is a rejected promise.
// deno-lint-ignore require-await
export async function listenTlsStream(options: TlsListenOptions, handlers: StreamHandlers): Promise<StreamListener> {
  const pending = new WeakMap<StreamConnection, PromiseWithResolvers<void>>();
  const tcp = _tcpSocket({
    ...handlers,
    open(conn) {
      const done = Promise.withResolvers<void>();
      done.promise.catch(() => {}); // the core reads it; unread, a rejection must not end the process
      pending.set(conn, done);
      // The connection object is the shim's own: its handshake is set before the core sees it.
      (conn as { handshake?: Promise<void> }).handshake = done.promise;
      handlers.open(conn);
    },
  });
  const listener = Bun.listen<TcpState>({
    hostname: options.hostname,
    port: options.port,
    reusePort: options.reusePort === true,
    tls: { cert: options.cert, key: options.key },
    socket: {
      ...tcp,
      // A client certificate is not asked for: `authorizationError` (there is none) is ignored.
      handshake(socket, success, authorizationError) {
        const conn = socket.data?.conn;
        if (conn === undefined) return;
        if (success) pending.get(conn)?.resolve();
        else pending.get(conn)?.reject(_failure(authorizationError));
        pending.delete(conn);
      },
      close(socket) {
        const conn = socket.data?.conn;
        if (conn !== undefined) pending.get(conn)?.reject(new Error("closed during the TLS handshake"));
        tcp.close(socket);
      },
    },
  });
  return {
    local: { address: listener.hostname, port: listener.port },
    close() {
      listener.stop(true);
      return Promise.resolve();
    },
  };
}

/**
 * Opens a TLS connection (`Bun.connect` with `tls`, trusting `options.ca` when given): reported
 * open, and the promise resolved, once the handshake is done and the certificate verified.
 *
 * @param options Where to, whom to trust, and a signal.
 * @param handlers Where its data and close go.
 * @returns The open connection.
 */
export async function connectTlsStream(
  options: TlsConnectOptions,
  handlers: StreamHandlers,
): Promise<StreamConnection> {
  // A pinned fingerprint needs the peer's certificate, which Bun.connect does not give: node:tls checks it.
  if (options.fingerprint !== undefined) return await _nodeConnectTlsStream(options, handlers);
  const signal = options.signal;
  signal?.throwIfAborted();
  const ready = Promise.withResolvers<StreamConnection>();
  let opened: StreamConnection | undefined;
  let reported = false;
  const tcp = _tcpSocket({
    ...handlers,
    // Not reported before the handshake: the connection is not open for SIP until then.
    open: (conn) => void (opened = conn),
    close: (conn) => reported && handlers.close(conn),
  }, () => !signal?.aborted);
  const onAbort = () => {
    opened?.close();
    ready.reject(signal!.reason);
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  Bun.connect<TcpState>({
    hostname: options.hostname,
    port: options.port,
    tls: options.ca === undefined ? true : { ca: options.ca },
    socket: {
      ...tcp,
      handshake(socket, success, authorizationError) {
        const conn = socket.data?.conn;
        if (conn === undefined || signal?.aborted) return;
        if (!success || authorizationError !== null) {
          conn.close();
          ready.reject(
            new Error(
              `TLS handshake with ${options.hostname} port ${options.port}: ${_failure(authorizationError).message}`,
            ),
          );
          return;
        }
        reported = true;
        handlers.open(conn);
        ready.resolve(conn);
      },
      close(socket) {
        if (!reported) ready.reject(new Error("closed during the TLS handshake"));
        tcp.close(socket);
      },
    },
  }).catch((e) => ready.reject(e));
  try {
    return await ready.promise;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}
