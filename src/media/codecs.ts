/**
 * Codecs and RTP profiles: the codecs the peer supports ({@linkcode Codec},
 * {@linkcode DEFAULT_CODECS}), the static payload types of the RTP/AVP profile (RFC 3551 §6),
 * the transports that are RTP profiles, and matching an `a=rtpmap` against a codec.
 *
 * @module
 */

import type { RtpMap } from "./sdp_types.ts";

/**
 * A codec the peer supports, named as in `a=rtpmap` (RFC 4566 §6).
 *
 * @example
 * ```ts
 * import { type Codec, getFmtp, getRtpmap } from "@sipecho/sipecho/sdp";
 * import { createOffer } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const opus: Codec = { name: "opus", clockRate: 48000, channels: 2, fmtp: "useinbandfec=1" };
 * const offer = createOffer({ address: "192.0.2.1", port: 30000, sessionId: 1, sessionVersion: 1, codecs: [opus] });
 * assert.deepEqual(offer.media[0].formats, ["96"]);
 * assert.equal(getRtpmap(offer.media[0], "96")?.channels, 2);
 * assert.equal(getFmtp(offer.media[0], "96"), "useinbandfec=1");
 * ```
 */
export interface Codec {
  /** Encoding name, matched case-insensitively: `PCMU`, `opus`, `telephone-event`. */
  name: string;
  /** RTP clock rate in Hz. */
  clockRate: number;
  /** Audio channels; absent means 1. */
  channels?: number;
  /** The media type the codec is for (default `audio`). */
  media?: string;
  /** Format parameters to offer in `a=fmtp` ({@linkcode createOffer} only). */
  fmtp?: string;
}

/**
 * The codecs an echo peer supports by default: PCMU/8000, PCMA/8000, G722/8000,
 * opus/48000/2 and telephone-event/8000 (DTMF, offered with events 0-16).
 *
 * @example
 * ```ts
 * import { DEFAULT_CODECS } from "@sipecho/sipecho/sdp";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(DEFAULT_CODECS.map((c) => c.name), ["PCMU", "PCMA", "G722", "opus", "telephone-event"]);
 * ```
 */
export const DEFAULT_CODECS: readonly Codec[] = Object.freeze([
  Object.freeze({ name: "PCMU", clockRate: 8000 }),
  Object.freeze({ name: "PCMA", clockRate: 8000 }),
  Object.freeze({ name: "G722", clockRate: 8000 }),
  Object.freeze({ name: "opus", clockRate: 48000, channels: 2 }),
  Object.freeze({ name: "telephone-event", clockRate: 8000, fmtp: "0-16" }),
]);

// RFC 3264 §6 leaves the choice of transports to the answerer; these are the RTP profiles.
/** The transports that are RTP profiles, upper case: what `answerSdp()` accepts by default. */
export const _RTP_PROTOCOLS: readonly string[] = ["RTP/AVP", "RTP/AVPF", "RTP/SAVP", "RTP/SAVPF", "UDP/TLS/RTP/SAVPF"];

/** Whether an `m=` line's transport is an RTP profile (one of {@linkcode _RTP_PROTOCOLS}, any case). */
export function _isRtpProtocol(proto: string): boolean {
  return _RTP_PROTOCOLS.includes(proto.toUpperCase());
}

// RFC 3551 §6, Tables 4 and 5: the static RTP/AVP payload types.
const STATIC_PAYLOAD_TYPES: ReadonlyMap<number, { media: string; name: string; clockRate: number; channels?: number }> =
  new Map([
    [0, { media: "audio", name: "PCMU", clockRate: 8000 }],
    [3, { media: "audio", name: "GSM", clockRate: 8000 }],
    [4, { media: "audio", name: "G723", clockRate: 8000 }],
    [5, { media: "audio", name: "DVI4", clockRate: 8000 }],
    [6, { media: "audio", name: "DVI4", clockRate: 16000 }],
    [7, { media: "audio", name: "LPC", clockRate: 8000 }],
    [8, { media: "audio", name: "PCMA", clockRate: 8000 }],
    [9, { media: "audio", name: "G722", clockRate: 8000 }],
    [10, { media: "audio", name: "L16", clockRate: 44100, channels: 2 }],
    [11, { media: "audio", name: "L16", clockRate: 44100 }],
    [12, { media: "audio", name: "QCELP", clockRate: 8000 }],
    [13, { media: "audio", name: "CN", clockRate: 8000 }],
    [14, { media: "audio", name: "MPA", clockRate: 90000 }],
    [15, { media: "audio", name: "G728", clockRate: 8000 }],
    [16, { media: "audio", name: "DVI4", clockRate: 11025 }],
    [17, { media: "audio", name: "DVI4", clockRate: 22050 }],
    [18, { media: "audio", name: "G729", clockRate: 8000 }],
    [25, { media: "video", name: "CelB", clockRate: 90000 }],
    [26, { media: "video", name: "JPEG", clockRate: 90000 }],
    [28, { media: "video", name: "nv", clockRate: 90000 }],
    [31, { media: "video", name: "H261", clockRate: 90000 }],
    [32, { media: "video", name: "MPV", clockRate: 90000 }],
    [33, { media: "video", name: "MP2T", clockRate: 90000 }],
    [34, { media: "video", name: "H263", clockRate: 90000 }],
  ]);

/** What RFC 3551 §6 assigns a static payload type, as an rtpmap; `undefined` if nothing. */
export function _staticRtpmap(payloadType: number): RtpMap | undefined {
  const known = STATIC_PAYLOAD_TYPES.get(payloadType);
  if (known === undefined) return undefined;
  const rtpmap: RtpMap = { payloadType, encodingName: known.name, clockRate: known.clockRate };
  if (known.channels !== undefined) rtpmap.channels = known.channels;
  return rtpmap;
}

/** The static payload type RFC 3551 §6 assigns a codec, if it assigns one. */
export function _staticPayloadType(codec: Codec): number | undefined {
  for (const [payloadType, known] of STATIC_PAYLOAD_TYPES) {
    const rtpmap = _staticRtpmap(payloadType);
    if (rtpmap !== undefined && _codecMatches(codec, known.media, rtpmap)) return payloadType;
  }
  return undefined;
}

/**
 * Whether an rtpmap names an encoding: the name case-insensitively, the clock rate, and the
 * channels, absent meaning 1 (RFC 4566 §6).
 */
export function _isEncoding(rtpmap: RtpMap, name: string, clockRate: number, channels = 1): boolean {
  // Clock rate and channels first, then the name; the lower-casing only when the case differs.
  return rtpmap.clockRate === clockRate && (rtpmap.channels ?? 1) === channels &&
    (rtpmap.encodingName === name || rtpmap.encodingName.toLowerCase() === name.toLowerCase());
}

/** Whether a codec is the encoding of an rtpmap on an m-line of type `media`. */
export function _codecMatches(codec: Codec, media: string, rtpmap: RtpMap): boolean {
  return (codec.media ?? "audio") === media && _isEncoding(rtpmap, codec.name, codec.clockRate, codec.channels);
}

/** Whether a format carries media itself, not only DTMF events (RFC 4733) or comfort noise (RFC 3389). */
export function _isMediaCodec(rtpmap: RtpMap): boolean {
  const name = rtpmap.encodingName.toLowerCase();
  return name !== "telephone-event" && name !== "cn";
}
