/**
 * The Node.js shim's TLS (RFC 3261 §26): `node:tls`. An accepted TCP socket is wrapped in a
 * server `TLSSocket` and reported open at once, its `handshake` settling on `secure` (or
 * rejecting on the first error); the connection is then read and written as a TCP one
 * (`_streamConnection` of node.ts).
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
import net from "node:net";
import tls from "node:tls";
import { _listenSockets, _streamConnection } from "./node.ts";
import { normalizeFingerprint } from "../../tls/certificate.ts";

/**
 * Listens for TLS connections (a `node:net` server whose sockets are wrapped in TLS), each
 * reported open when accepted with a `handshake` that settles when TLS is up.
 *
 * @param options Where, and the certificate and key (PEM).
 * @param handlers Where the connections go.
 * @returns The listener.
 * @throws {Error} (rejects) When the certificate or key cannot be read, or the address bound.
 */
export async function listenTlsStream(options: TlsListenOptions, handlers: StreamHandlers): Promise<StreamListener> {
  const secureContext = tls.createSecureContext({ cert: options.cert, key: options.key });
  return await _listenSockets(options, (raw, track) => {
    const socket = new tls.TLSSocket(raw, { isServer: true, secureContext });
    track(socket);
    const handshake = new Promise<void>((resolve, reject) => {
      socket.once("secure", resolve);
      socket.once("error", reject);
      socket.once("close", () => reject(new Error("closed during the TLS handshake")));
    });
    handshake.catch(() => {}); // the core reads it; unread, a rejection must not end the process
    raw.on("error", () => {}); // a reset: the TLS socket's close reports it
    const conn = _streamConnection(socket, handlers, handshake);
    // Bun's TLSSocket over an accepted socket has no remote address of its own: the raw socket's.
    if (conn.remote.address === "") {
      Object.assign(conn.remote, { address: raw.remoteAddress ?? "", port: raw.remotePort ?? 0 });
    }
    handlers.open(conn);
  });
}

/**
 * Opens a TLS connection (`tls.connect`, trusting `options.ca` when given; the certificate
 * must name `hostname`; or, with `options.fingerprint` alone, the certificate must be the one
 * pinned), reported open once the handshake is done and the certificate checked.
 *
 * @param options Where to, whom to trust, and a signal.
 * @param handlers Where its data and close go.
 * @returns The open connection.
 */
export function connectTlsStream(options: TlsConnectOptions, handlers: StreamHandlers): Promise<StreamConnection> {
  const signal = options.signal;
  if (signal?.aborted) return Promise.reject(signal.reason);
  let pin: string | undefined;
  try {
    pin = options.fingerprint === undefined ? undefined : normalizeFingerprint(options.fingerprint);
  } catch (e) {
    return Promise.reject(e);
  }
  const { promise, resolve, reject } = Promise.withResolvers<StreamConnection>();
  const socket = tls.connect({
    host: options.hostname,
    port: options.port,
    ...(options.ca === undefined ? {} : { ca: options.ca }),
    // A pinned fingerprint alone is the whole check: the chain is not verified (it is, with ca).
    ...(pin !== undefined && options.ca === undefined ? { rejectUnauthorized: false } : {}),
    // SNI carries a host name, never an IP address (RFC 6066 §3).
    ...(net.isIP(options.hostname) === 0 ? { servername: options.hostname } : {}),
  });
  const onAbort = () => {
    socket.destroy();
    reject(signal!.reason);
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  const failed = (e: Error) => {
    signal?.removeEventListener("abort", onAbort);
    reject(
      new Error(`cannot connect with TLS to ${options.hostname} port ${options.port}: ${e.message}`, { cause: e }),
    );
  };
  socket.once("error", failed);
  socket.once("secureConnect", () => {
    const got = pin === undefined ? undefined : socket.getPeerCertificate().fingerprint256;
    if (got !== pin) {
      socket.destroy();
      failed(new Error(`the server's certificate has the SHA-256 fingerprint ${got}, not the one pinned (${pin})`));
      return;
    }
    signal?.removeEventListener("abort", onAbort);
    socket.off("error", failed);
    const conn = _streamConnection(socket, handlers);
    handlers.open(conn);
    resolve(conn);
  });
  return promise;
}
