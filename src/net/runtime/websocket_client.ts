/**
 * The WebSocket client of every socket shim: the standard `WebSocket` global, which Deno, Bun
 * and Node.js (22 and later) all ship, so one implementation serves them all.
 *
 * @module
 */

import type { StreamConnection, StreamHandlers } from "../transport.ts";
import { unbracket, webSocketPayload } from "../transport.ts";

/**
 * Opens a SIP WebSocket connection (RFC 7118): offers the `sip` subprotocol and closes the
 * connection (rejecting) unless the server chose it (§4). Once open, `handlers.open` gets the
 * connection before the promise resolves; each message then goes to `handlers.data` as bytes,
 * and the end to `handlers.close`, once.
 *
 * @param url `ws://HOST:PORT/`, the host an IP address (IPv6 in brackets).
 * @param handlers Where the connection, its messages and its end go.
 * @param signal Gives up on a connection not yet open.
 * @returns The open connection; `remote` is the host and port of `url`.
 * @throws {Error} (rejects) When the connection fails, is aborted, or the server does not speak `sip`.
 *
 * @example
 * ```ts
 * import { connectWebSocket } from "./websocket_client.ts";
 * import assert from "node:assert/strict";
 *
 * // Nothing listens on port 9 (discard) of the loopback address: the connection fails.
 * const handlers = { open() {}, data() {}, close() {} };
 * await assert.rejects(connectWebSocket("ws://127.0.0.1:9/", handlers), /cannot open ws:\/\/127\.0\.0\.1:9\//);
 * ```
 */
export function connectWebSocket(
  url: string,
  handlers: StreamHandlers,
  signal?: AbortSignal,
): Promise<StreamConnection> {
  const { promise, resolve, reject } = Promise.withResolvers<StreamConnection>();
  let socket: WebSocket;
  let remote;
  try {
    signal?.throwIfAborted();
    const parsed = new URL(url);
    remote = { address: unbracket(parsed.hostname), port: Number(parsed.port || 80) };
    socket = new WebSocket(url, ["sip"]);
  } catch (e) {
    return Promise.reject(e);
  }
  socket.binaryType = "arraybuffer";
  const encoder = new TextEncoder();
  let opened = false;
  let closed = false;
  const conn: StreamConnection = {
    remote,
    write(data) {
      if (socket.readyState === WebSocket.OPEN) socket.send(webSocketPayload(data));
    },
    close() {
      socket.close();
    },
  };
  const onAbort = () => {
    if (opened) return;
    socket.close();
    reject(signal!.reason);
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  socket.onopen = () => {
    signal?.removeEventListener("abort", onAbort);
    if (signal?.aborted) return socket.close();
    // RFC 7118 §4: the server must answer with the "sip" subprotocol.
    if (socket.protocol !== "sip") {
      socket.close();
      reject(new Error(`cannot open ${url}: the server did not accept the "sip" subprotocol (RFC 7118 §4)`));
      return;
    }
    opened = true;
    handlers.open(conn);
    resolve(conn);
  };
  socket.onmessage = (event) => {
    if (!opened || closed) return;
    const data = event.data;
    handlers.data(conn, typeof data === "string" ? encoder.encode(data) : new Uint8Array(data as ArrayBuffer));
  };
  socket.onerror = (event) => {
    if (opened) return;
    const why = (event as ErrorEvent).message || "connection failed";
    reject(new Error(`cannot open ${url}: ${why}`));
  };
  socket.onclose = (event) => {
    signal?.removeEventListener("abort", onAbort);
    if (!opened) {
      reject(new Error(`cannot open ${url}: closed (code ${event.code}) before it opened`));
      return;
    }
    if (closed) return;
    closed = true;
    handlers.close(conn);
  };
  return promise;
}
