/**
 * What `serve({ http })` answers over HTTP: `/metrics` (Prometheus text 0.0.4), `/healthz`
 * (200 while the server listens), and 404 for anything else; only `GET` and `HEAD` (405
 * otherwise), request targets up to {@linkcode MAX_HTTP_TARGET} bytes (414 otherwise). The
 * request body is never read. The runtime's HTTP server comes from the shim
 * (`RuntimeNet.serveHttp`).
 *
 * @module
 */

import { formatMetrics, METRICS_CONTENT_TYPE } from "./metrics_text.ts";
import type { ServerStats } from "./server_stats.ts";
import type { HttpHandler } from "./transport.ts";

/**
 * The longest request target (path and query) answered, bytes: longer ones get 414.
 *
 * @example
 * ```ts
 * import { MAX_HTTP_TARGET } from "@sipecho/sipecho/net";
 * import assert from "node:assert/strict";
 *
 * assert.equal(MAX_HTTP_TARGET, 2048);
 * ```
 */
export const MAX_HTTP_TARGET = 2048;

/** A route beyond `/metrics` and `/healthz` (the live page adds `/` and `/events`). */
export type _Route = (request: Request, url: URL) => Response | undefined;

/** What the HTTP site needs of its server. */
export interface _SiteHost {
  /** `server.stats()`. */
  stats(): ServerStats;
  /** Whether the server still listens (`/healthz` says 503 once it closes). */
  listening(): boolean;
  /** More routes, tried before the 404. */
  routes?: _Route[];
}

/**
 * The request handler of a server's HTTP port.
 *
 * @param host The server's stats and state.
 * @returns The handler for `RuntimeNet.serveHttp`.
 */
export function _httpHandler(host: _SiteHost): HttpHandler {
  return (request) => {
    const method = request.method;
    if (method !== "GET" && method !== "HEAD") {
      return _text(405, "method not allowed: GET or HEAD only\n", { Allow: "GET, HEAD" });
    }
    const url = new URL(request.url);
    if (url.pathname.length + url.search.length > MAX_HTTP_TARGET) {
      return _text(414, `request target longer than ${MAX_HTTP_TARGET} bytes\n`);
    }
    switch (url.pathname) {
      case "/metrics":
        return new Response(formatMetrics(host.stats()), {
          headers: { "Content-Type": METRICS_CONTENT_TYPE, "Cache-Control": "no-store" },
        });
      case "/healthz":
        return host.listening() ? _text(200, "ok\n") : _text(503, "closing\n");
    }
    for (const route of host.routes ?? []) {
      const response = route(request, url);
      if (response !== undefined) return response;
    }
    return _text(404, "not found: try /metrics, /healthz or /\n");
  };
}

/** A short plain-text response. */
export function _text(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store", ...headers },
  });
}
