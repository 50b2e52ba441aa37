/**
 * The names of the SIP transports a message can travel over.
 *
 * @module
 */

/**
 * A transport a request can arrive over, in lower case: UDP, TCP and TLS (RFC 3261 §18), and
 * WebSocket, plain or secure (RFC 7118). The names are those of the Via transport
 * (RFC 3261 §20.42, RFC 7118 §5.1), lower-cased.
 *
 * @example
 * ```ts
 * import type { Transport } from "@sipecho/sipecho/message";
 * import assert from "node:assert/strict";
 *
 * const t: Transport = "wss";
 * assert.equal(t, "wss");
 * ```
 */
export type Transport = "udp" | "tcp" | "tls" | "ws" | "wss";
