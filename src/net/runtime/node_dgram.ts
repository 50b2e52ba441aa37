/**
 * UDP through `node:dgram`, the part the Node.js shim, Bun's shim (for a shared port) and Deno's
 * shim (when the `net` unstable API is off) share: binding, handing each datagram on, and the
 * endpoint of a socket that sends in the order given (libuv's and Bun's do; Deno's `node:dgram`
 * does not, so Deno sends on its own).
 *
 * @module
 */

import type { Socket } from "node:dgram";
import type { DatagramEndpoint, ListenOptions, SocketAddress } from "../transport.ts";

/**
 * `options.maxDatagram`, or the most a UDP datagram can hold.
 *
 * @example
 * ```ts
 * import { maxDatagram } from "./node_dgram.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(maxDatagram({ hostname: "127.0.0.1", port: 0 }), 65535);
 * assert.equal(maxDatagram({ hostname: "127.0.0.1", port: 0, maxDatagram: 1500 }), 1500);
 * ```
 */
export function maxDatagram(options: ListenOptions): number {
  const max = options.maxDatagram;
  return max !== undefined && max >= 1 && max < 65535 ? Math.floor(max) : 65535;
}

/**
 * A `node:dgram` socket bound as `options` ask, each datagram up to {@linkcode maxDatagram}
 * handed to `onData` as a plain Uint8Array (the core never sees Buffer methods); longer ones are
 * dropped. A bind error (EADDRINUSE, ...) comes from node:dgram as an "error" event: here it
 * rejects, it is not a runtime error of a bound socket.
 *
 * @param dgram The `node:dgram` module (Deno's shim loads it only when it is used).
 * @param options Where to bind.
 * @param onData Each datagram and its source.
 * @returns The bound socket.
 * @example
 * ```ts
 * import dgram from "node:dgram";
 * import { bindDatagram } from "./node_dgram.ts";
 * import assert from "node:assert/strict";
 *
 * const socket = await bindDatagram(dgram, { hostname: "127.0.0.1", port: 0 }, () => {});
 * assert.ok(socket.address().port > 0);
 * socket.close();
 * ```
 */
export async function bindDatagram(
  dgram: typeof import("node:dgram"),
  options: ListenOptions,
  onData: (data: Uint8Array, from: SocketAddress) => void,
): Promise<Socket> {
  const type = options.hostname.includes(":") ? "udp6" : "udp4";
  // reusePort: Node.js 22.12 and later, and Bun; Deno's node:dgram fails the second bind.
  const socket = dgram.createSocket({ type, reusePort: options.reusePort === true });
  await new Promise<void>((resolve, reject) => {
    const failed = (e: Error) => {
      try {
        socket.close();
      } catch { /* not bound */ }
      reject(e);
    };
    socket.once("error", failed);
    socket.bind(options.port, options.hostname, () => {
      socket.off("error", failed);
      resolve();
    });
  });
  const max = maxDatagram(options);
  socket.on("message", (data, info) => {
    if (data.length <= max) {
      onData(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), { address: info.address, port: info.port });
    }
  });
  return socket;
}

/**
 * The endpoint over a socket `bindDatagram` bound, where the socket sends its datagrams in the
 * order given (libuv's on Node.js, and Bun's): a 100, 180 and 200 leave in that order. The
 * Node.js shim's UDP, and Bun's for a shared port.
 *
 * @param socket The bound socket.
 * @param onError Told of a socket error, until the endpoint is closed.
 * @returns The endpoint.
 *
 * @example
 * ```ts
 * import dgram from "node:dgram";
 * import { bindDatagram, orderedDatagramEndpoint } from "./node_dgram.ts";
 * import assert from "node:assert/strict";
 *
 * const socket = await bindDatagram(dgram, { hostname: "127.0.0.1", port: 0 }, () => {});
 * const endpoint = orderedDatagramEndpoint(socket, () => {});
 * assert.ok(endpoint.local.port > 0);
 * endpoint.close();
 * ```
 */
export function orderedDatagramEndpoint(socket: Socket, onError: (error: unknown) => void): DatagramEndpoint {
  let closed = false;
  socket.on("error", (e) => closed || onError(e));
  const addr = socket.address();
  return {
    local: { address: addr.address, port: addr.port },
    send(data, to) {
      if (!closed) socket.send(data, to.port, to.address, (e) => e && !closed && onError(e));
    },
    close() {
      if (closed) return;
      closed = true;
      socket.close();
    },
  };
}
