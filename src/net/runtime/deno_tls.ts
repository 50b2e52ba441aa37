/**
 * The Deno shim's TLS (RFC 3261 §26): `Deno.connectTls` for the connections it opens, read and
 * written as TCP ones (`_serveConnection` of deno.ts); the listener is `node:tls`'s (see
 * {@linkcode listenTlsStream} for why).
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
import { _serveConnection } from "./deno.ts";
import { connectTlsStream as _nodeConnectTlsStream, listenTlsStream as _nodeListenTlsStream } from "./node_tls.ts";

/**
 * Listens for TLS connections through `node:tls` over `node:net` (see node_tls.ts), not
 * `Deno.listenTls`: a `Deno.TlsConn` accepted from a client that never handshakes does not
 * close its socket on `close()` (Deno 2.9: the handshake it runs in the background keeps the
 * socket until the client leaves), so `handshakeTimeout` and `maxHandshakes` could free the
 * place in the table but not the socket. Deno's node:tls closes it.
 */
export const listenTlsStream: (options: TlsListenOptions, handlers: StreamHandlers) => Promise<StreamListener> =
  _nodeListenTlsStream;

/**
 * Opens a TLS connection (`Deno.connectTls`, trusting `options.ca` when given) and waits for
 * its handshake; an abort closes it.
 *
 * @param options Where to, whom to trust, and a signal.
 * @param handlers Where its data and close go.
 * @returns The open connection.
 */
export async function connectTlsStream(
  options: TlsConnectOptions,
  handlers: StreamHandlers,
): Promise<StreamConnection> {
  // A pinned fingerprint needs the peer's certificate, which Deno.connectTls does not give: node:tls checks it.
  if (options.fingerprint !== undefined) return await _nodeConnectTlsStream(options, handlers);
  const signal = options.signal;
  signal?.throwIfAborted();
  const raw = await Deno.connectTls({
    hostname: options.hostname,
    port: options.port,
    ...(options.ca === undefined ? {} : { caCerts: options.ca }),
  });
  const onAbort = () => {
    try {
      raw.close();
    } catch { /* already closed */ }
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    await raw.handshake();
    signal?.throwIfAborted();
  } catch (e) {
    onAbort();
    throw signal?.aborted ? signal.reason : e;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
  let conn: StreamConnection | undefined;
  _serveConnection(raw, { ...handlers, open: (c) => handlers.open(conn = c) }, () => {});
  return conn!;
}
