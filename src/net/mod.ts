/**
 * `@sipecho/sipecho/net`: sipecho on sockets. {@linkcode serve} runs the peer on UDP, TCP and
 * WebSocket; the connection limits bound what each connection may hold; and the transport contract
 * ({@linkcode RuntimeNet} and the endpoints it opens) is what a runtime shim implements, so that
 * another transport, or a test double, can be put under the peer.
 *
 * @example
 * ```ts
 * import { detectRuntime, serve } from "@sipecho/sipecho/net";
 * import assert from "node:assert/strict";
 *
 * const net = await detectRuntime(); // the Deno, Bun or Node.js shim
 * await using server = await serve({ net, listen: [{ transport: "udp", hostname: "127.0.0.1", port: 0 }] });
 * assert.equal(server.addresses[0].transport, "udp");
 * ```
 *
 * @module
 */

export {
  type AdvertisedAddress,
  type BoundAddress,
  chooseAdvertised,
  DEFAULT_RTP_PORTS,
  type EdgeProfile,
  ListenError,
  type ListenSpec,
  type ListenTransport,
  parseListenAddress,
  serve,
  type ServeHttpOptions,
  type ServeMediaOptions,
  type ServeOptions,
  type ServerStats,
  type SipServer,
  type TrafficEntry,
} from "./serve.ts";
export type { ServeTlsOptions } from "./serve.ts";
export type { SelfSignedTlsOptions, SendOptions, ServerTls, ServeTls, TlsTrust } from "./serve.ts";
export {
  type CertificateOptions,
  DEFAULT_CERTIFICATE_DAYS,
  DEFAULT_CERTIFICATE_NAMES,
  fingerprint,
  type MadeCertificate,
  makeCertificate,
  normalizeFingerprint,
} from "../tls/certificate.ts";
export { type ConnectionLimits, DEFAULT_CONNECTION_LIMITS } from "./connections.ts";
export { formatMetrics, METRICS_CONTENT_TYPE } from "./metrics_text.ts";
export { MAX_HTTP_TARGET } from "./http_site.ts";
export {
  MESSAGE_TEXT,
  MESSAGES_PER_CALL,
  RECENT_CALLS,
  type RecentCall,
  RecentCalls,
  type RecentMessage,
  UNWATCHED_MESSAGES,
} from "./recent_calls.ts";
export { EVENT_KEEPALIVE, MAX_EVENT_CLIENTS, MAX_EVENT_QUEUE } from "./event_stream.ts";
export { LIVE_PAGE } from "./live_page.ts";
export type {
  ConnectOptions,
  DatagramEndpoint,
  HttpHandler,
  HttpListener,
  InterfaceAddress,
  ListenOptions,
  RuntimeNet,
  RuntimeProcess,
  StreamConnection,
  StreamHandlers,
  StreamListener,
  WorkerProcess,
} from "./transport.ts";
export type { TlsConnectOptions, TlsListenOptions } from "./transport.ts";
export { detectProcess, detectRuntime } from "./runtime/detect.ts";
