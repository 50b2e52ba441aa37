/**
 * sipecho: a SIP echo peer and auto-responder for Deno, Bun and Node.js.
 *
 * This module holds what most users need: {@linkcode serve} runs the responder on sockets,
 * {@linkcode SipPeer} is the same peer without sockets or clock, {@linkcode mockPeer} is for test
 * suites, and the message core reads and writes SIP messages (RFC 3261 §7, §25). The rest is in
 * sub-paths, each the public face of one layer:
 *
 * - `@sipecho/sipecho/message`: messages, headers, header values, URIs, responses, the stream framer;
 * - `@sipecho/sipecho/sdp`: SDP (RFC 4566) and the offer/answer model (RFC 3264);
 * - `@sipecho/sipecho/rules`: loading, matching and resolving rules;
 * - `@sipecho/sipecho/peer`: the peer's parts: transactions, dialogs, the registrar, the edge guard;
 * - `@sipecho/sipecho/media`: the RTP echo;
 * - `@sipecho/sipecho/net`: `serve()`, connection limits, and the socket contract of the runtime shims;
 * - `@sipecho/sipecho/mock`: the mock peer and its types.
 *
 * @example
 * ```ts
 * import { formatMessage, parseMessage } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const wire = "OPTIONS sip:echo@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1\r\n" +
 *   "From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:echo@127.0.0.1>\r\nCall-ID: 1@a\r\nCSeq: 1 OPTIONS\r\n\r\n";
 * const msg = parseMessage(wire);
 * assert.equal(msg.type === "request" && msg.method, "OPTIONS");
 * assert.equal(parseMessage(formatMessage(msg)).headers.get("Call-ID"), "1@a");
 * ```
 *
 * @module
 */

export { VERSION } from "./src/version.ts";
export {
  createResponse,
  formatMessage,
  formatUri,
  parseMessage,
  parseUri,
  reasonPhrase,
  SipHeaders,
  type SipMessage,
  SipParseError,
  SipRequest,
  SipResponse,
  type SipUri,
  type Uri,
} from "./src/sip/mod.ts";
export {
  type BoundAddress,
  type ConnectionLimits,
  DEFAULT_CONNECTION_LIMITS,
  DEFAULT_RTP_PORTS,
  type EdgeProfile,
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
} from "./src/net/mod.ts";
export type { ServeTlsOptions } from "./src/net/mod.ts";
export type { SelfSignedTlsOptions, SendOptions, ServerTls, ServeTls, TlsTrust } from "./src/net/mod.ts";
export {
  EDGE_LAB,
  EDGE_PUBLIC,
  type EdgeOptions,
  type Output,
  type PeerEvent,
  type PeerLimits,
  type PeerOptions,
  type PeerRequest,
  type PeerStats,
  type PeerTimers,
  type Remote,
  SipPeer,
} from "./src/ua/mod.ts";
export { DEFAULT_RULES, loadRules, parseRules, type Rule, RulesError, RulesSyntaxError } from "./src/rules/rules.ts";
export { answerSdp, createOffer, formatSdp, parseSdp, type SessionDescription } from "./src/media/sdp.ts";
export {
  MockAssertionError,
  type MockCall,
  MockPeer,
  mockPeer,
  type MockPeerOptions,
  MockTimeoutError,
  type RequestOptions,
  type UacResult,
} from "./src/testing/mod.ts";

// `deno run -A mod.ts`, `bun mod.ts` and `node mod.ts` run the command line (so does the package's bin,
// bin/sipecho); importing mod.ts does nothing.
if (import.meta.main) {
  const { main } = await import("./src/cli/cli.ts");
  await main();
}
