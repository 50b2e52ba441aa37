/**
 * `server.send()`: a caller's own bytes from the server's sockets, a datagram from a bound UDP
 * socket or a write on the open connection with the remote, opening one when there is none
 * (RFC 3261 §18.1.1).
 *
 * @module
 */

import type { ConnectionTable } from "./connections.ts";
import type { _Listeners, ListenTransport } from "./listeners.ts";
import { type RuntimeNet, type SocketAddress, unbracket } from "./transport.ts";
import type { SendOptions } from "./serve_tls.ts";

/** What `server.send()` sends from. */
export interface _SendSockets {
  /** The socket shim, to open a connection. */
  net: RuntimeNet;
  /** The bound sockets. */
  listeners: _Listeners;
  /** The server's connections. */
  connections: ConnectionTable;
  /** Whether the server is closed (or closing). */
  closed: () => boolean;
}

/**
 * Sends raw bytes as `SipServer.send()` says: synchronous but for opening a connection.
 *
 * @param sockets What to send from.
 * @param data The bytes of one message.
 * @param remote Where to: an IP address, not a host name.
 * @param transport The transport (default `udp`).
 * @param options For a TLS connection it opens: whom to trust.
 * @returns Resolves once the bytes are handed to the socket.
 * @throws {RangeError} (rejects) For a transport the server does not listen on (UDP) or does not know.
 * @throws {Error} (rejects) If the server is closed, or the connection cannot be opened.
 */
export function _sendRaw(
  sockets: _SendSockets,
  data: Uint8Array,
  remote: SocketAddress,
  transport: ListenTransport = "udp",
  options?: SendOptions,
): Promise<void> {
  try {
    if (sockets.closed()) throw new Error("send(): the server is closed");
    const address = unbracket(remote.address);
    if (transport === "udp") {
      const endpoint = sockets.listeners.endpointFor(address);
      if (endpoint === undefined) throw new RangeError("send(): the server does not listen on udp");
      endpoint.send(data, { address, port: remote.port });
      return Promise.resolve();
    }
    if (transport !== "tcp" && transport !== "ws" && transport !== "tls" && transport !== "wss") {
      throw new RangeError(`send(): unknown transport "${transport}"`);
    }
    const connections = sockets.connections;
    // RFC 3261 §18.1.1: a request goes on a connection already open to its destination (opened
    // by either side); only when there is none is a new one opened.
    const open = connections.find(transport, address, remote.port);
    if (open !== undefined) {
      connections.write(open, data);
      return Promise.resolve();
    }
    return connections.connect(sockets.net, transport, address, remote.port, options?.tls).then((c) => {
      if (!connections.write(c, data)) {
        throw new Error(`send(): the ${transport} connection to ${address}:${remote.port} has closed`);
      }
    });
  } catch (e) {
    return Promise.reject(e);
  }
}
