/**
 * `@sipecho/sipecho/peer`: the user agent without sockets or clock. {@linkcode SipPeer} is the
 * whole UAS: bytes and the time in, what to send, where and when, out. Its parts are here for
 * those who build on them: the transactions (RFC 3261 §17), dialogs (§12), the registrar
 * (§10), the edge guard ({@linkcode SourceGuard}), the throttle of failed digest
 * authentications ({@linkcode AuthThrottle}) and the bounded table they all use.
 *
 * @example
 * ```ts
 * import { SipPeer } from "@sipecho/sipecho/peer";
 * import assert from "node:assert/strict";
 *
 * const peer = new SipPeer({ address: "192.0.2.1" });
 * const wire = "OPTIONS sip:echo@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1\r\n" +
 *   "From: <sip:a@192.0.2.9>;tag=1\r\nTo: <sip:echo@192.0.2.1>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n\r\n";
 * const out = peer.receive(new TextEncoder().encode(wire), { address: "192.0.2.9", port: 5060, transport: "udp" }, 0);
 * assert.equal(out[0].message.status, 200);
 * ```
 *
 * @module
 */

export {
  type Output,
  type PeerAuthOptions,
  type PeerEvent,
  type PeerLimits,
  type PeerOptions,
  type PeerRequest,
  type PeerTimers,
  type Remote,
  type RtpReleaseReason,
  SipPeer,
} from "./peer.ts";
export {
  Admission,
  EDGE_LAB,
  EDGE_PUBLIC,
  type EdgeOptions,
  SourceGuard,
  sourceKey,
  type SourceRecord,
  type SourceTable,
} from "./guard.ts";
export {
  DEFAULT_TIMERS,
  ServerTransaction,
  type TimerName,
  type Timers,
  type TransactionEvent,
  type TransactionInfo,
  type TransactionInit,
  transactionKey,
  type TransactionState,
  TransactionTable,
} from "./transaction.ts";
export {
  type ClientEvent,
  ClientTransaction,
  type ClientTransactionInit,
  type ClientTransactionState,
  type ClientVerdict,
} from "./client.ts";
export { DEFAULT_SESSION_TIMER, type SessionInterval, type SessionTimerLimits } from "./extensions.ts";
export { Dialog, dialogId, type DialogInit, type DialogSource, type DialogState, DialogTable } from "./dialog.ts";
export { addressOfRecord, type Binding, type RegisterResult, Registrar, type RegistrarOptions } from "./registrar.ts";
export { BoundedTable } from "./table.ts";
export {
  MAX_REFER_SUBSCRIPTIONS,
  parseReferTo,
  parseReplaces,
  REFER_EXPIRES,
  type ReferRequest,
  type ReferTarget,
  type Replaces,
} from "./refer.ts";
export {
  DROP_REASONS,
  type DropReason,
  PeerCounters,
  type PeerStats,
  RESPONSE_TIME_BUCKETS,
  STAT_METHODS,
  STAT_TRANSPORTS,
} from "./counters.ts";
export { AuthThrottle, type AuthThrottleLimits, DEFAULT_AUTH_THROTTLE } from "./auth_throttle.ts";
