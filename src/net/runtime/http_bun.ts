/**
 * HTTP for `serve({ http })` on Bun: `Bun.serve`.
 *
 * @module
 */

import type { HttpHandler, HttpListener, ListenOptions } from "../transport.ts";

// The few Bun types used here, declared rather than imported (no type package needed).
interface BunHttpServer {
  readonly hostname: string;
  readonly port: number;
  requestIP(request: Request): { address: string; port: number } | null;
  stop(closeActiveConnections?: boolean): Promise<void> | void;
}
interface BunServe {
  serve(options: {
    hostname: string;
    port: number;
    idleTimeout: number;
    fetch(request: Request, server: BunHttpServer): Response | Promise<Response>;
    error(e: unknown): Response;
  }): BunHttpServer;
}

/**
 * How long a connection may stay silent, s: more than the keep-alive period of the live
 * page's event stream (`/events` sends a comment every 15 s), which would else be cut at Bun's
 * default of 10 s.
 */
const IDLE_TIMEOUT = 60;

/**
 * Serves HTTP with `Bun.serve` (see `RuntimeNet.serveHttp`).
 *
 * @param options Where to listen.
 * @param handler What answers.
 * @returns The listener, once bound.
 */
export function serveHttp(options: ListenOptions, handler: HttpHandler): Promise<HttpListener> {
  const bun = (globalThis as unknown as { Bun: BunServe }).Bun;
  const server = bun.serve({
    hostname: options.hostname,
    port: options.port,
    idleTimeout: IDLE_TIMEOUT,
    fetch(request, server) {
      const ip = server.requestIP(request);
      return handler(request, { address: ip?.address ?? "", port: ip?.port ?? 0 });
    },
    error: () => new Response("internal error", { status: 500 }),
  });
  return Promise.resolve({
    local: { address: options.hostname, port: server.port },
    async close() {
      await server.stop(true);
    },
  });
}
