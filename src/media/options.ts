/**
 * Checking the values callers give the media layer: ports, the `o=` line's values (RFC 4566
 * §5.2) and text for an SDP line; and our `o=` line and session description made from them.
 *
 * @module
 */

import type { MediaDescription, SdpOrigin, SdpTiming, SessionDescription } from "./sdp_types.ts";
import { _DIGITS } from "./sdp_grammar.ts";

/** Whether a value is a port number: an integer from 1 to 65535. */
export function _isPort(n: unknown): n is number {
  return Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 65535;
}

/** What {@linkcode _ourOrigin} reads: the fields `AnswerOptions` and `OfferOptions` share. */
export interface _OriginOptions {
  address: string;
  sessionId: number | string;
  sessionVersion: number | string;
  username?: string;
}

/** Our `o=` line (RFC 4566 §5.2) from the options; throws `TypeError` for a bad value. */
export function _ourOrigin(options: _OriginOptions): SdpOrigin {
  const address = _tokenOption("address", options.address).replace(/^\[(.*)\]$/, "$1");
  return {
    username: _tokenOption("username", options.username ?? "-"),
    sessionId: _decimalOption("sessionId", options.sessionId),
    sessionVersion: _decimalOption("sessionVersion", options.sessionVersion),
    netType: "IN",
    // RFC 4566 §5.7: IP4 or IP6 by the form of the address.
    addrType: address.includes(":") ? "IP6" : "IP4",
    address,
  };
}

/**
 * Our session description around the media descriptions: our `o=` line, the `s=` line, a
 * session-level `c=` line with our address (RFC 4566 §5.7), and the `t=` lines.
 */
export function _ourSession(
  origin: SdpOrigin,
  sessionName: string,
  timing: SdpTiming[],
  media: MediaDescription[],
): SessionDescription {
  return {
    version: 0,
    origin,
    sessionName,
    connection: { netType: "IN", addrType: origin.addrType, address: origin.address },
    bandwidths: [],
    timing,
    attributes: [],
    otherLines: [],
    media,
  };
}

/** A non-negative integer or a string of digits, as a string; else `TypeError`. */
export function _decimalOption(name: string, value: number | string): string {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return String(value);
  if (typeof value === "string" && _DIGITS.test(value)) return value;
  throw new TypeError(`${name} must be a non-negative integer or a string of digits, not ${JSON.stringify(value)}`);
}

/** A non-empty string of visible ASCII (no spaces); else `TypeError`. */
export function _tokenOption(name: string, value: string): string {
  if (typeof value !== "string" || !/^[!-~]+$/.test(value)) {
    throw new TypeError(`${name} must be a non-empty string without spaces, not ${JSON.stringify(value)}`);
  }
  return value;
}

/** A string that can go on one SDP line (no CR, LF or NUL); else `TypeError`. */
export function _textOption(name: string, value: string): string {
  if (typeof value !== "string" || /[\r\n\0]/.test(value)) {
    throw new TypeError(`${name} must be a string without CR, LF or NUL, not ${JSON.stringify(value)}`);
  }
  return value;
}

/** A port from 1 to 65535; else `RangeError`. */
export function _portOption(name: string, value: number): number {
  if (!_isPort(value)) {
    throw new RangeError(`${name} must be an integer from 1 to 65535, not ${value}`);
  }
  return value;
}
