/**
 * HTTP for `serve({ http })` on Deno: `Deno.serve`.
 *
 * @module
 */

import type { HttpHandler, HttpListener, ListenOptions } from "../transport.ts";

/**
 * Serves HTTP with `Deno.serve` (see `RuntimeNet.serveHttp`).
 *
 * @param options Where to listen.
 * @param handler What answers.
 * @returns The listener, once bound.
 */
export async function serveHttp(options: ListenOptions, handler: HttpHandler): Promise<HttpListener> {
  const abort = new AbortController();
  const { promise: listening, resolve } = Promise.withResolvers<Deno.NetAddr>();
  // Deno.serve throws at once when the port cannot be bound.
  const server = Deno.serve({
    hostname: options.hostname,
    port: options.port,
    signal: abort.signal,
    onListen: (addr) => resolve(addr as Deno.NetAddr),
    onError: () => new Response("internal error", { status: 500 }),
  }, (request, info) => handler(request, { address: info.remoteAddr.hostname, port: info.remoteAddr.port }));
  const addr = await listening;
  return {
    local: { address: addr.hostname, port: addr.port },
    async close() {
      abort.abort();
      await server.finished;
    },
  };
}
