/**
 * Writing a SIP message to its wire bytes (RFC 3261 §7).
 *
 * @module
 */

import type { SipMessage } from "./message.ts";

const encoder = new TextEncoder();

/**
 * Serializes a request or response: the start line, every header field in order (one line
 * each, CRLF-terminated), the empty line and the body. Content-Length is always written and
 * always right: an existing Content-Length field gets the body's length in place, otherwise one
 * is added at the end of the headers (RFC 3261 §20.14; required on streams, §18.3).
 *
 * `parseMessage(formatMessage(m))` gives back `m`'s start line, header fields and body.
 *
 * @param message The message.
 * @returns The wire bytes.
 * @example
 * ```ts
 * import { formatMessage, SipResponse } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const res = new SipResponse({ status: 200, reason: "OK", headers: [["CSeq", "1 OPTIONS"]], body: "hi" });
 * assert.equal(
 *   new TextDecoder().decode(formatMessage(res)),
 *   "SIP/2.0 200 OK\r\nCSeq: 1 OPTIONS\r\nContent-Length: 2\r\n\r\nhi",
 * );
 * ```
 */
export function formatMessage(message: SipMessage): Uint8Array {
  let text = message.type === "request"
    ? `${message.method} ${message.uri} ${message.version}\r\n`
    : `${message.version} ${message.status} ${message.reason}\r\n`;
  const length = String(message.body.length);
  let wroteLength = false;
  for (const { name, value } of message.headers.fields) {
    if (name === "Content-Length") {
      if (wroteLength) continue;
      wroteLength = true;
      text += "Content-Length: " + length + "\r\n";
    } else {
      text += name + ": " + value + "\r\n";
    }
  }
  if (!wroteLength) text += "Content-Length: " + length + "\r\n";
  text += "\r\n";
  if (message.body.length === 0) return encoder.encode(text);
  const head = encoder.encode(text);
  const out = new Uint8Array(head.length + message.body.length);
  out.set(head, 0);
  out.set(message.body, head.length);
  return out;
}
