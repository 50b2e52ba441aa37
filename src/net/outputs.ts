/**
 * Where the peer's outputs go: its responses and its own requests (the BYE), each on the UDP
 * socket or the connection its request came on (RFC 3261 §18.2.2), reported to `onTraffic`.
 *
 * @module
 */

import type { Connection, ConnectionTable } from "./connections.ts";
import type { _EventLog } from "./events.ts";
import type { TrafficEntry } from "./serve_options.ts";
import type { DatagramEndpoint, SocketAddress } from "./transport.ts";
import type { SipMessage } from "../sip/message.ts";
import type { Remote } from "../ua/peer.ts";

/** The `Remote` the peer sees, with the socket it came on: it comes back unchanged in its outputs. */
export interface _Remote extends Remote {
  /** The UDP socket a datagram came on. */
  endpoint?: DatagramEndpoint;
  /** The connection a message came on. */
  connection?: Connection;
}

/** A message to send: a response of the peer (`Output`) or its BYE (`PeerRequest`). */
export interface _Outgoing {
  /** The wire bytes. */
  data: Uint8Array;
  /** The `Remote` of the request it answers (or of the dialog's last request). */
  remote: Remote;
  /** Where it goes on UDP, as the peer decided (RFC 3261 §18.2.2). */
  readonly to: SocketAddress;
  /** When it was due. */
  at?: number;
  /** The message, for logs. */
  readonly message: SipMessage;
}

/** "a 200 response", "a BYE request": for log lines. */
function _what(message: SipMessage): string {
  return message.type === "response" ? `a ${message.status} response` : `a ${message.method} request`;
}

/** Sends the peer's outputs: each on the socket or connection of its `Remote`. */
export class _Outputs {
  #connections: ConnectionTable;
  #onTraffic: ((entry: TrafficEntry) => void) | undefined;
  #event: _EventLog;

  /**
   * Makes the sender of a server.
   *
   * @param connections The server's connections (for outputs on a stream).
   * @param onTraffic `ServeOptions.onTraffic`, told of every message sent.
   * @param event Where what cannot be sent is reported.
   */
  constructor(connections: ConnectionTable, onTraffic: ((entry: TrafficEntry) => void) | undefined, event: _EventLog) {
    this.#connections = connections;
    this.#onTraffic = onTraffic;
    this.#event = event;
  }

  /** Sends each output in turn; one that fails is reported, and the others still go. */
  send(outputs: readonly _Outgoing[]): void {
    for (const out of outputs) {
      try {
        this.#deliver(out);
      } catch (e) {
        // A bug (or a throwing onTraffic) must not lose the outputs after this one.
        this.#event("dropped", `internal error sending ${_what(out.message)}: ${e}`, out.remote);
      }
    }
  }

  #deliver(out: _Outgoing): void {
    const remote = out.remote as _Remote;
    if (remote.endpoint !== undefined) {
      // RFC 3261 §18.2.2 and RFC 3581 §4: where a response goes on UDP, from the top Via as
      // the peer stamped it. A top Via that cannot be read (the request is answered 400 for
      // it) has no sent-by: back to the source.
      const to = out.to;
      remote.endpoint.send(out.data, to);
      // The message is read back from the bytes only if someone looks (a getter).
      this.#onTraffic?.({
        time: Date.now(),
        direction: "out",
        transport: "udp",
        remote: to,
        get message() {
          return out.message;
        },
      });
    } else if (remote.connection !== undefined) {
      // RFC 3261 §18.2.2: on a stream, the response goes back on the request's connection (one
      // the remote opened, or one send() opened). If it has closed, the response is dropped: no
      // connection is opened for a response (§18.2.2 would open one to the sent-by).
      if (!remote.connection.open) {
        this.#event("dropped", `${_what(out.message)}: the ${remote.transport} connection has closed`, remote);
        return;
      }
      this.#connections.write(remote.connection, out.data);
      this.#onTraffic?.({
        time: Date.now(),
        direction: "out",
        transport: remote.transport,
        remote: remote.connection.conn.remote,
        get message() {
          return out.message;
        },
      });
    }
  }
}
