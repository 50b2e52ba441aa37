/**
 * The HTTP port of `serve({ http })`, bound through the shim's `serveHttp`: what it answers is
 * in http_site.ts.
 *
 * @module
 */

import { ListenError } from "./listeners.ts";
import { _httpHandler, type _SiteHost } from "./http_site.ts";
import type { HttpListener, RuntimeNet } from "./transport.ts";

/**
 * Binds the HTTP port.
 *
 * @param net The socket shim.
 * @param at Where.
 * @param host What the site serves.
 * @returns The listener.
 * @throws {TypeError} When the shim has no `serveHttp`.
 * @throws {ListenError} When the port cannot be bound (`cannot listen on http HOST:PORT: ...`).
 */
export async function _startHttp(
  net: RuntimeNet,
  at: { hostname: string; port: number },
  host: _SiteHost,
): Promise<HttpListener> {
  if (net.serveHttp === undefined) {
    throw new TypeError(`serve(): http: the ${net.name} socket shim cannot serve HTTP (no serveHttp)`);
  }
  try {
    return await net.serveHttp({ hostname: at.hostname, port: at.port }, _httpHandler(host));
  } catch (e) {
    const error = new ListenError({ transport: "tcp", hostname: at.hostname, port: at.port }, e);
    error.message = error.message.replace("cannot listen on tcp", "cannot listen on http");
    throw error;
  }
}
