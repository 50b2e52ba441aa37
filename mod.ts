/**
 * sipecho: a SIP echo peer and auto-responder for Deno and Bun.
 *
 * This module is the public API. The message core reads and writes SIP messages
 * (RFC 3261 §7, §25) without touching any runtime API.
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

export { type SipLimit, SipParseError } from "./src/sip/errors.ts";
export { canonicalHeaderName, type HeaderField, isListHeader, SipHeaders, splitHeaderList } from "./src/sip/headers.ts";
export {
  type Contact,
  type CSeq,
  HeaderError,
  type MediaType,
  type NameAddress,
  parseBoundedInteger,
  parseCallId,
  parseContact,
  parseCSeq,
  parseDate,
  parseDeltaSeconds,
  parseMediaType,
  parseNameAddress,
  parseOptionTags,
  parseVia,
  type Via,
} from "./src/sip/header_values.ts";
export {
  type SipMessage,
  type SipMessageBase,
  type SipMessageInit,
  SipRequest,
  type SipRequestInit,
  SipResponse,
  type SipResponseInit,
} from "./src/sip/message.ts";
export { DEFAULT_MAX_HEADERS, DEFAULT_MAX_MESSAGE_SIZE, parseMessage, type ParseOptions } from "./src/sip/parse.ts";
export { formatMessage } from "./src/sip/format.ts";
export { type FramerEvent, type FramerOptions, StreamFramer } from "./src/sip/framer.ts";
export {
  type AbsoluteUri,
  formatUri,
  type Params,
  parseUri,
  type SipUri,
  type TelUri,
  unescapeUri,
  type Uri,
  UriError,
} from "./src/sip/uri.ts";
export {
  type AcceptedStream,
  type AnswerOptions,
  answerSdp,
  checkAnswer,
  type Codec,
  createOffer,
  DEFAULT_CODECS,
  formatSdp,
  getDirection,
  getFmtp,
  getPtime,
  getRtpmap,
  hasRtcpMux,
  type MediaDescription,
  type OfferOptions,
  parseSdp,
  type RtpMap,
  type SdpAnswerResult,
  type SdpAttribute,
  type SdpBandwidth,
  type SdpConnection,
  type SdpDirection,
  SdpError,
  type SdpLine,
  type SdpOrigin,
  type SdpTiming,
  type SessionDescription,
} from "./src/media/sdp.ts";
export {
  type Action,
  type BodySpec,
  type Cidr,
  cidrContains,
  createRandom,
  DEFAULT_RULE_DESCRIPTIONS,
  DEFAULT_RULES,
  findRule,
  globToRegExp,
  loadRules,
  type Match,
  matchRule,
  type Modifiers,
  parseCidr,
  parseRules,
  type ProvisionalSpec,
  renderTemplate,
  resolveAction,
  type ResolvedAction,
  type ResponseSpec,
  type Rule,
  type RuleInput,
  RulesError,
  RulesSyntaxError,
  type Template,
  TEMPLATE_VARIABLES,
  type TemplateVariable,
  type Transport,
} from "./src/rules/rules.ts";

export {
  createResponse,
  DEFAULT_SERVER,
  type FormatResponseOptions,
  REASON_PHRASES,
  reasonPhrase,
  ResponseHead,
  type ResponseOptions,
} from "./src/sip/response.ts";
export {
  addressOfRecord,
  type Binding,
  type RegisterResult,
  Registrar,
  type RegistrarOptions,
} from "./src/ua/registrar.ts";
export {
  DEFAULT_TIMERS,
  isReliable,
  ServerTransaction,
  type TimerName,
  type Timers,
  type TransactionEvent,
  type TransactionInfo,
  type TransactionInit,
  transactionKey,
  type TransactionState,
  TransactionTable,
} from "./src/ua/transaction.ts";
export { Dialog, dialogId, type DialogInit, type DialogSource, type DialogState, DialogTable } from "./src/ua/dialog.ts";
export { BoundedTable } from "./src/ua/table.ts";
export {
  type Output,
  type PeerEvent,
  type PeerLimits,
  type PeerOptions,
  type PeerRequest,
  type PeerTimers,
  type Remote,
  type RtpReleaseReason,
  SipPeer,
} from "./src/ua/peer.ts";
export {
  type MediaCallStats,
  type MediaCounters,
  MediaEcho,
  type MediaEchoOptions,
  type MediaEndReason,
  type MediaOpenResult,
  type MediaPorts,
  type MediaStreamRequest,
  type MediaStreamStats,
} from "./src/media/echo.ts";

export { type ConnectionLimits, DEFAULT_CONNECTION_LIMITS } from "./src/net/connections.ts";
export {
  Admission,
  EDGE_LAB,
  EDGE_PUBLIC,
  type EdgeOptions,
  SourceGuard,
  sourceKey,
  type SourceRecord,
  type SourceTable,
} from "./src/ua/guard.ts";
export {
  type BoundAddress,
  type EdgeProfile,
  DEFAULT_RTP_PORTS,

  describeMedia,
  type ListenSpec,
  type ListenTransport,
  parseListenAddress,
  serve,
  type ServeMediaOptions,
  type ServeOptions,
  type SipServer,
  type TrafficEntry,
} from "./src/net/serve.ts";
export {
  type ConnectOptions,
  type DatagramEndpoint,
  type ListenOptions,
  responseDestination,
  type RuntimeNet,
  type SocketAddress,
  type StreamConnection,
  type StreamHandlers,
  type StreamListener,
  type ViaRouting,
} from "./src/net/transport.ts";

export {
  type AnswerAction,
  type AnswerAlternative,
  type AnswerResponse,
  type AnswerSpec,
  type MockAnswer,
  type MockAnswerOptions,
  type MockCall,
  MockPeer,
  mockPeer,
  type MockPeerOptions,
  type RequestMatch,
  type RequestPattern,
  type RequestPredicate,
  type RequestSource,
  type WaitOptions,
} from "./src/testing/mock.ts";
export {
  type AckOptions,
  type DialogRequestOptions,
  type HeaderFields,
  type RequestOptions,
  type UacResult,
} from "./src/testing/uac.ts";
export { formatLadder, type LadderOptions, MockTimeoutError } from "./src/testing/ladder.ts";

// `deno run -A mod.ts` and `bun mod.ts` run the command line; importing mod.ts does nothing.
if (import.meta.main) {
  const { main } = await import("./src/cli/cli.ts");
  await main();
}
