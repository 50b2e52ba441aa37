/**
 * `@sipecho/sipecho/message`: the SIP message core, pure and without runtime APIs. It reads
 * messages from bytes ({@linkcode parseMessage}, RFC 3261 §7) and from a stream
 * ({@linkcode StreamFramer}, §18.3), writes them ({@linkcode formatMessage}), reads header
 * values and URIs (§20, §19.1, §25), makes responses ({@linkcode createResponse}, §8.2.6) and
 * says where a response goes ({@linkcode responseDestination}, §18.2.2).
 *
 * @example
 * ```ts
 * import { createResponse, formatMessage, parseMessage, type SipRequest } from "@sipecho/sipecho/message";
 * import assert from "node:assert/strict";
 *
 * const request = parseMessage(
 *   "OPTIONS sip:echo@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1\r\n" +
 *     "From: <sip:a@192.0.2.9>;tag=1\r\nTo: <sip:echo@192.0.2.1>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n\r\n",
 * ) as SipRequest;
 * const response = createResponse(request, 200, "OK", { toTag: "t1" });
 * assert.match(new TextDecoder().decode(formatMessage(response)), /^SIP\/2\.0 200 OK\r\n/);
 * ```
 *
 * @module
 */

export { type SipLimit, SipParseError } from "./errors.ts";
export { canonicalHeaderName, type HeaderField, isListHeader, SipHeaders, splitHeaderList } from "./headers.ts";
export {
  type Contact,
  HeaderError,
  type NameAddress,
  parseContact,
  parseDeltaSeconds,
  parseNameAddress,
  parseVia,
  type Via,
} from "./header_values.ts";
export {
  type CSeq,
  type MediaType,
  parseCallId,
  parseCSeq,
  parseDate,
  parseMediaType,
  parseOptionTags,
} from "./header_scalars.ts";
export {
  type SipMessage,
  type SipMessageBase,
  type SipMessageInit,
  SipRequest,
  type SipRequestInit,
  SipResponse,
  type SipResponseInit,
} from "./message.ts";
export { DEFAULT_MAX_HEADERS, DEFAULT_MAX_MESSAGE_SIZE, parseMessage, type ParseOptions } from "./parse.ts";
export { formatMessage } from "./format.ts";
export { type FramerEvent, type FramerOptions, StreamFramer } from "./framer.ts";
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
} from "./uri.ts";
export { createResponse, DEFAULT_SERVER, type FormatResponseOptions, type ResponseOptions } from "./response.ts";
export { REASON_PHRASES, reasonPhrase } from "./reason_phrases.ts";
export { responseDestination, type SocketAddress, type ViaRouting } from "./routing.ts";
export type { Transport } from "./transport.ts";
