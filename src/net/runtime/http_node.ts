/**
 * HTTP for `serve({ http })` on Node.js: `node:http`, each request made a standard `Request`
 * and each `Response` written back, its body streamed.
 *
 * @module
 */

import http from "node:http";
import type { HttpHandler, HttpListener, ListenOptions } from "../transport.ts";

/**
 * Serves HTTP with `node:http` (see `RuntimeNet.serveHttp`). The request body is not read
 * (what sipecho serves takes none).
 *
 * @param options Where to listen.
 * @param handler What answers.
 * @returns The listener, once bound.
 */
export async function serveHttp(options: ListenOptions, handler: HttpHandler): Promise<HttpListener> {
  const server = http.createServer((req, res) => void _answer(req, res, handler, options.hostname));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address() as { address: string; port: number };
  return {
    local: { address: addr.address, port: addr.port },
    close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      return closed;
    },
  };
}

async function _answer(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  handler: HttpHandler,
  host: string,
): Promise<void> {
  let response: Response;
  try {
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === "string") headers.set(name, value);
      else if (Array.isArray(value)) { for (const v of value) headers.append(name, v); }
    }
    const authority = host.includes(":") ? `[${host}]` : host;
    const request = new Request(`http://${authority}${req.url ?? "/"}`, { method: req.method, headers });
    response = await handler(request, { address: req.socket.remoteAddress ?? "", port: req.socket.remotePort ?? 0 });
  } catch {
    response = new Response("internal error", { status: 500 });
  }
  const head: Record<string, string> = {};
  response.headers.forEach((value, name) => head[name] = value);
  res.writeHead(response.status, head);
  if (response.body === null || req.method === "HEAD") {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  res.on("close", () => void reader.cancel().catch(() => {}));
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      res.write(value);
    }
  } catch {
    // The client went away, or the body failed: the response ends here.
  }
  res.end();
}
