/**
 * Answering an offer (RFC 3264 §6) for a peer that echoes the media back: which streams to
 * accept, with which formats, ports and direction.
 *
 * @module
 */

import type { MediaDescription, RtpMap, SdpAttribute, SdpDirection, SessionDescription } from "./sdp_types.ts";
import { _attribute, _formatAttributes, getDirection, getRtpmap, hasRtcpMux } from "./sdp_attributes.ts";
import { _codecMatches, _isMediaCodec, _RTP_PROTOCOLS, type Codec, DEFAULT_CODECS } from "./codecs.ts";
import { _ourOrigin, _ourSession, _portOption, _textOption } from "./options.ts";

/**
 * Options for {@linkcode answerSdp}.
 *
 * @example
 * ```ts
 * import { type AnswerOptions } from "@sipecho/sipecho/sdp";
 * import { answerSdp, parseSdp } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const head = "v=0\no=- 1 1 IN IP4 192.0.2.10\ns=-\nc=IN IP4 192.0.2.10\nt=0 0\n";
 * const offer = parseSdp(head + "m=audio 49170 RTP/AVP 8 0\n");
 * const options: AnswerOptions = {
 *   address: "192.0.2.1",
 *   rtpPort: (index) => 20000 + 2 * index,
 *   sessionId: 1,
 *   sessionVersion: 1,
 *   codecs: [{ name: "PCMU", clockRate: 8000 }],
 * };
 * const result = answerSdp(offer, options);
 * assert.ok(result.ok);
 * assert.equal(result.answer.media[0].port, 20000);
 * assert.deepEqual(result.answer.media[0].formats, ["0"]);
 * ```
 */
export interface AnswerOptions {
  /** The peer's own media address, IPv4 or IPv6 (written as `IN IP4` or `IN IP6`). */
  address: string;
  /**
   * The RTP port for the accepted stream at m-line `index` (0-based), an integer from 1 to
   * 65535. Called only for accepted streams, in m-line order.
   */
  rtpPort: (index: number, media: MediaDescription) => number;
  /** The `o=` session id: a non-negative integer or a string of digits. */
  sessionId: number | string;
  /** The `o=` session version: a non-negative integer or a string of digits. */
  sessionVersion: number | string;
  /** The supported codecs (default {@linkcode DEFAULT_CODECS}). */
  codecs?: readonly Codec[];
  /** The transports accepted (default RTP/AVP, RTP/AVPF, RTP/SAVP, RTP/SAVPF, UDP/TLS/RTP/SAVPF). */
  protocols?: readonly string[];
  /** The `o=` username (default `-`). */
  username?: string;
  /** The `s=` line (default `-`). */
  sessionName?: string;
  /**
   * Most streams accepted (default: no limit). Streams past it are rejected with port 0, as a
   * stream the answerer does not want (RFC 3264 §6), and `rtpPort` is not asked for them.
   */
  maxStreams?: number;
}

/**
 * A stream accepted by {@linkcode answerSdp}.
 *
 * @example
 * ```ts
 * import { type AcceptedStream } from "@sipecho/sipecho/sdp";
 * import { answerSdp, parseSdp } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const head = "v=0\no=- 1 1 IN IP4 192.0.2.10\ns=-\nc=IN IP4 192.0.2.10\nt=0 0\n";
 * const offer = parseSdp(head + "m=audio 49170 RTP/AVP 0\na=rtcp-mux\na=sendonly\n");
 * const result = answerSdp(offer, { address: "192.0.2.1", rtpPort: () => 20000, sessionId: 1, sessionVersion: 1 });
 * assert.ok(result.ok);
 * const stream: AcceptedStream = result.accepted[0];
 * assert.deepEqual(stream, {
 *   index: 0, media: "audio", port: 20000, formats: ["0"], rtcpMux: true, direction: "recvonly",
 *   remoteAddress: "192.0.2.10", remotePort: 49170,
 * });
 * ```
 */
export interface AcceptedStream {
  /** The 0-based m-line index in the offer and the answer. */
  index: number;
  /** The media type. */
  media: string;
  /** Our RTP port for it, as given by `rtpPort`. */
  port: number;
  /** The kept formats (payload types), in the offer's order. */
  formats: string[];
  /** Whether RTP and RTCP share the port (`a=rtcp-mux` in offer and answer). */
  rtcpMux: boolean;
  /** The direction written in the answer. */
  direction: SdpDirection;
  /** Where the offerer receives this stream: its `c=` address... */
  remoteAddress: string;
  /** ...and its `m=` port. */
  remotePort: number;
}

/**
 * The result of {@linkcode answerSdp}: an answer, or the SIP status to reject the offer with.
 *
 * @example
 * ```ts
 * import { answerSdp, parseSdp } from "@sipecho/sipecho";
 * import { type SdpAnswerResult } from "@sipecho/sipecho/sdp";
 * import assert from "node:assert/strict";
 *
 * const head = "v=0\no=- 1 1 IN IP4 192.0.2.10\ns=-\nc=IN IP4 192.0.2.10\nt=0 0\n";
 * const offer = parseSdp(head + "m=audio 49170 RTP/AVP 18\n"); // G.729 only
 * const options = { address: "192.0.2.1", rtpPort: () => 20000, sessionId: 1, sessionVersion: 1 };
 * const result: SdpAnswerResult = answerSdp(offer, options);
 * assert.ok(!result.ok);
 * assert.equal(result.status, 488); // no codec in common
 * ```
 */
export type SdpAnswerResult =
  | { ok: true; answer: SessionDescription; accepted: AcceptedStream[] }
  | { ok: false; status: 488; reason: string };

// RFC 3264 §6.1: the direction of the answer given the direction of the offer, for a peer
// that sends back what it receives.
const MIRRORED: Record<SdpDirection, SdpDirection> = {
  sendrecv: "sendrecv",
  sendonly: "recvonly",
  recvonly: "sendonly",
  inactive: "inactive",
};

/**
 * Answers an offer (RFC 3264 §6): one m-line per offered m-line, in the same order, with the
 * same media type and transport.
 *
 * A stream is accepted when its port is not 0, its transport is an RTP profile, and it shares a
 * codec with `options.codecs`: static payload types (RFC 3551) match by number, others by their
 * `a=rtpmap` encoding name (case-insensitive), clock rate and channels. The answer keeps the
 * matching formats in the offer's order with the offer's payload type numbers, copies their
 * `a=rtpmap` and `a=fmtp` lines, echoes `a=ptime`, mirrors `a=rtcp-mux` and the direction
 * (always written; `inactive` for a stream at `c=0.0.0.0`, the old hold of RFC 3264 §8.4).
 * telephone-event is also kept at the clock rate of an audio codec the answer keeps (RFC 4733
 * §2.1). A stream whose only common formats are telephone-event or comfort noise is rejected.
 * A rejected stream gets port 0 and the offer's formats (RFC 3264 §6). The answer has `c=` at
 * session level with `options.address` and the offer's `t=` lines.
 *
 * @param offer The offer, e.g. from an INVITE.
 * @param options Our address, ports, codecs and `o=` values.
 * @returns The answer and the accepted streams; or, when the offer has m-lines and none can be
 *   accepted, `{ ok: false, status: 488 }` (RFC 3261 §21.4.26). An offer with no m-lines gets
 *   an answer with none.
 * @throws {TypeError} If an option is not of the form described (address, session id, ...).
 * @throws {RangeError} If `rtpPort` returns something other than an integer from 1 to 65535.
 * @example Answering PCMU and DTMF
 * ```ts
 * import { answerSdp, formatSdp, parseSdp } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const offer = parseSdp(
 *   "v=0\r\no=alice 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n" +
 *     "m=audio 49170 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n",
 * );
 * const result = answerSdp(offer, { address: "192.0.2.1", rtpPort: () => 20000, sessionId: 7, sessionVersion: 7 });
 * assert.ok(result.ok);
 * assert.equal(
 *   formatSdp(result.answer),
 *   "v=0\r\no=- 7 7 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n" +
 *     "m=audio 20000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n",
 * );
 * ```
 */
export function answerSdp(offer: SessionDescription, options: AnswerOptions): SdpAnswerResult {
  const codecs = options.codecs ?? DEFAULT_CODECS;
  const protocols = options.protocols === undefined ? _RTP_PROTOCOLS : options.protocols.map((p) => p.toUpperCase());
  const origin = _ourOrigin(options);
  const sessionName = _textOption("sessionName", options.sessionName ?? "-");
  const media: MediaDescription[] = [];
  const accepted: AcceptedStream[] = [];
  // RFC 3264 §6: one m-line in the answer for each m-line in the offer, in the same order.
  offer.media.forEach((offered, index) => {
    const remote = offered.connection ?? offer.connection;
    const usable = offered.port !== 0 && protocols.includes(offered.proto.toUpperCase());
    const formats = usable ? _commonFormats(offered, codecs) : [];
    if (
      remote === undefined || !formats.some((f) => _isMediaCodec(f.rtpmap)) ||
      accepted.length >= (options.maxStreams ?? Infinity)
    ) {
      media.push(_rejectedStream(offered));
      return;
    }

    const port = _portOption(`rtpPort(${index})`, options.rtpPort(index, offered));
    // RFC 3264 §8.4, RFC 6337 §5.3: c=0.0.0.0 is the old (RFC 2543) hold: nothing is to be
    // sent to the offerer, and it sends nothing: inactive.
    const direction = remote.address === "0.0.0.0" ? "inactive" : MIRRORED[getDirection(offer, offered)];
    const kept = formats.map((f) => f.format);
    media.push(_acceptedStream(offered, kept, port, direction));
    accepted.push({
      index,
      media: offered.media,
      port,
      formats: kept,
      rtcpMux: hasRtcpMux(offered),
      direction,
      remoteAddress: remote.address,
      remotePort: offered.port,
    });
  });
  if (offer.media.length > 0 && accepted.length === 0) {
    return { ok: false, status: 488, reason: "Not Acceptable Here: no common codec in any m-line" };
  }
  // RFC 3264 §6: the t= line in the answer MUST equal that of the offer.
  const timing = offer.timing.map((t) => ({ start: t.start, stop: t.stop, repeats: [...t.repeats] }));
  return { ok: true, answer: _ourSession(origin, sessionName, timing, media), accepted };
}

/**
 * The offered formats we support, in the offer's order (RFC 3264 §6.1). When telephone-event
 * is among our codecs, it is also taken at the clock rate of a media codec kept from the
 * offer (opus/48000 with telephone-event/48000): RFC 4733 §2.1 and §7.1.1 ask that events
 * sent in an audio stream use the audio's clock.
 */
function _commonFormats(offered: MediaDescription, codecs: readonly Codec[]): { format: string; rtpmap: RtpMap }[] {
  const kept: { format: string; rtpmap: RtpMap }[] = [];
  const events = codecs.some((c) =>
    c.name.toLowerCase() === "telephone-event" && (c.media ?? "audio") === offered.media
  );
  const eventRates = new Set<number>();
  for (const format of offered.formats) {
    const rtpmap = getRtpmap(offered, format);
    if (rtpmap !== undefined && codecs.some((c) => _codecMatches(c, offered.media, rtpmap))) {
      kept.push({ format, rtpmap });
      if (_isMediaCodec(rtpmap)) eventRates.add(rtpmap.clockRate);
    }
  }
  if (!events) return kept;
  return offered.formats.flatMap((format) => {
    const rtpmap = getRtpmap(offered, format);
    if (rtpmap === undefined) return [];
    const ours = kept.find((k) => k.format === format);
    if (ours !== undefined) return [ours];
    const event = rtpmap.encodingName.toLowerCase() === "telephone-event" && eventRates.has(rtpmap.clockRate);
    return event ? [{ format, rtpmap }] : [];
  });
}

// RFC 3264 §6: a rejected stream has port 0; its formats are not significant, so the offer's
// are copied.
function _rejectedStream(offered: MediaDescription): MediaDescription {
  return {
    media: offered.media,
    port: 0,
    proto: offered.proto,
    formats: [...offered.formats],
    bandwidths: [],
    attributes: [],
    otherLines: [],
  };
}

function _acceptedStream(
  offered: MediaDescription,
  formats: string[],
  port: number,
  direction: SdpDirection,
): MediaDescription {
  const attributes: SdpAttribute[] = [];
  for (const format of formats) {
    // Copies (_formatAttributes() returns only attributes with a value).
    for (const a of _formatAttributes(offered, "rtpmap", format)) attributes.push({ name: a.name, value: a.value });
    for (const a of _formatAttributes(offered, "fmtp", format)) attributes.push({ name: a.name, value: a.value });
  }
  const ptime = _attribute(offered, "ptime");
  if (ptime) attributes.push({ ...ptime });
  // RFC 5761 §5.1.1: the answerer includes a=rtcp-mux if it multiplexes RTP and RTCP.
  if (hasRtcpMux(offered)) attributes.push({ name: "rtcp-mux" });
  attributes.push({ name: direction });
  return { media: offered.media, port, proto: offered.proto, formats, bandwidths: [], attributes, otherLines: [] };
}
