/**
 * DTMF in a SIP INFO request: the bodies phones send, `application/dtmf-relay` (`Signal=5` and
 * `Duration=160`, lines of `key=value`; no RFC, the form Cisco made common) and `application/dtmf`
 * (the key alone). RFC 6086 §5 leaves INFO bodies to such packages.
 *
 * @module
 */

import { type DtmfDigit, dtmfKey } from "./telephone_event.ts";

// The longest body read, bytes: a dtmf-relay body is two short lines.
const MAX_BODY = 256;
// The longest Duration taken, ms; more is taken as this.
const MAX_DURATION = 60_000;

/**
 * Reads the digit in the body of a SIP INFO: `application/dtmf-relay` (`Signal=` one of
 * `0-9 * # A-D`, or the event codes 10 and 11 some phones send for `*` and `#`; `Duration=` in
 * ms, optional) or `application/dtmf` (the key, or its event code 0-16).
 *
 * @param contentType The media type of the body (`type/subtype`, parameters ignored), any case.
 * @param body The body as text (at most 256 characters are read).
 * @returns The digit, or `undefined` when the type is neither or no key can be read.
 * @example
 * ```ts
 * import { parseDtmfInfo } from "@sipecho/sipecho/media";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseDtmfInfo("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n"), {
 *   digit: "5", duration: 160, volume: undefined, ended: true, source: "info",
 * });
 * assert.equal(parseDtmfInfo("application/dtmf", "11")?.digit, "#");
 * assert.equal(parseDtmfInfo("text/plain", "5"), undefined);
 * ```
 */
export function parseDtmfInfo(contentType: string, body: string): DtmfDigit | undefined {
  const type = contentType.split(";")[0].trim().toLowerCase();
  const text = body.slice(0, MAX_BODY);
  let signal: string | undefined;
  let duration = 0;
  if (type === "application/dtmf-relay") {
    for (const line of text.split(/\r?\n/)) {
      const eq = line.indexOf("=");
      if (eq < 0) continue;
      const key = line.slice(0, eq).trim().toLowerCase();
      const value = line.slice(eq + 1).trim();
      if (key === "signal") signal = value;
      else if (key === "duration" && /^\d{1,9}$/.test(value)) duration = Math.min(Number(value), MAX_DURATION);
    }
  } else if (type === "application/dtmf") {
    signal = text.trim();
  } else {
    return undefined;
  }
  if (signal === undefined) return undefined;
  const digit = /^[0-9*#A-Da-d]$/.test(signal)
    ? signal.toUpperCase()
    : /^1[0-6]$/.test(signal)
    ? dtmfKey(Number(signal))
    : undefined;
  return digit === undefined ? undefined : { digit, duration, volume: undefined, ended: true, source: "info" };
}
