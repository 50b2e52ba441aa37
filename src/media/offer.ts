/**
 * Making an offer (RFC 3264 §5) for a 200 OK to an INVITE that came without one.
 *
 * @module
 */

import type { SdpAttribute, SessionDescription } from "./sdp_types.ts";
import { _staticPayloadType, type Codec, DEFAULT_CODECS } from "./codecs.ts";
import { _ourOrigin, _ourSession, _portOption, _textOption } from "./options.ts";

/**
 * Options for {@linkcode createOffer}.
 *
 * @example
 * ```ts
 * import { createOffer } from "@sipecho/sipecho";
 * import { type OfferOptions } from "@sipecho/sipecho/sdp";
 * import assert from "node:assert/strict";
 *
 * const options: OfferOptions = { address: "192.0.2.1", port: 30000, sessionId: 5, sessionVersion: 2 };
 * const offer = createOffer(options);
 * assert.equal(offer.origin.sessionId, "5");
 * assert.equal(offer.origin.sessionVersion, "2");
 * assert.equal(offer.media[0].port, 30000);
 * assert.deepEqual(offer.media[0].formats, ["0", "8", "9", "96", "97"]); // DEFAULT_CODECS
 * ```
 */
export interface OfferOptions {
  /** The peer's own media address, IPv4 or IPv6. */
  address: string;
  /** The RTP port of the audio stream, an integer from 1 to 65535. */
  port: number;
  /** The `o=` session id: a non-negative integer or a string of digits. */
  sessionId: number | string;
  /** The `o=` session version: a non-negative integer or a string of digits. */
  sessionVersion: number | string;
  /** The codecs to offer (default {@linkcode DEFAULT_CODECS}); only audio ones are used. */
  codecs?: readonly Codec[];
  /** The `o=` username (default `-`). */
  username?: string;
  /** The `s=` line (default `-`). */
  sessionName?: string;
}

/**
 * Makes an offer for a 200 OK to an INVITE that came without one (RFC 3261 §13.2.1,
 * RFC 3264 §5): one `sendrecv` RTP/AVP audio stream with every audio codec of
 * `options.codecs`. Codecs with a static payload type (RFC 3551) use its number, the others
 * are numbered from 96; every format gets an `a=rtpmap` line, telephone-event an `a=fmtp`
 * line (`0-16` unless the codec says otherwise).
 *
 * @param options Our address, port, codecs and `o=` values.
 * @returns The offer.
 * @throws {TypeError} If an option is not of the form described.
 * @throws {RangeError} If the port is out of range, there is no audio codec, or more than 32
 *   codecs need a dynamic payload type.
 * @example
 * ```ts
 * import { createOffer, formatSdp } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const offer = createOffer({
 *   address: "2001:db8::1",
 *   port: 30000,
 *   sessionId: 1,
 *   sessionVersion: 1,
 *   codecs: [{ name: "PCMU", clockRate: 8000 }, { name: "telephone-event", clockRate: 8000 }],
 * });
 * assert.equal(
 *   formatSdp(offer),
 *   "v=0\r\no=- 1 1 IN IP6 2001:db8::1\r\ns=-\r\nc=IN IP6 2001:db8::1\r\nt=0 0\r\n" +
 *     "m=audio 30000 RTP/AVP 0 96\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:96 telephone-event/8000\r\n" +
 *     "a=fmtp:96 0-16\r\na=sendrecv\r\n",
 * );
 * ```
 */
export function createOffer(options: OfferOptions): SessionDescription {
  const origin = _ourOrigin(options);
  const sessionName = _textOption("sessionName", options.sessionName ?? "-");
  const port = _portOption("port", options.port);
  const audio = (options.codecs ?? DEFAULT_CODECS).filter((c) => (c.media ?? "audio") === "audio");
  if (audio.length === 0) throw new RangeError("createOffer() needs at least one audio codec");
  const formats: string[] = [];
  const attributes: SdpAttribute[] = [];
  let nextDynamic = 96; // RFC 3551 §3: 96-127 are the dynamic payload types.
  for (const codec of audio) {
    let payloadType = _staticPayloadType(codec);
    if (payloadType === undefined) {
      if (nextDynamic > 127) throw new RangeError("createOffer(): more codecs than dynamic payload types (96-127)");
      payloadType = nextDynamic++;
    }
    const channels = codec.channels === undefined ? "" : `/${codec.channels}`;
    formats.push(String(payloadType));
    attributes.push({ name: "rtpmap", value: `${payloadType} ${codec.name}/${codec.clockRate}${channels}` });
    const fmtp = codec.fmtp ?? (codec.name.toLowerCase() === "telephone-event" ? "0-16" : undefined);
    if (fmtp !== undefined) attributes.push({ name: "fmtp", value: `${payloadType} ${_textOption("fmtp", fmtp)}` });
  }
  attributes.push({ name: "sendrecv" });
  return _ourSession(origin, sessionName, [{ start: 0, stop: 0, repeats: [] }], [
    { media: "audio", port, proto: "RTP/AVP", formats, bandwidths: [], attributes, otherLines: [] },
  ]);
}
