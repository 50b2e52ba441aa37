/**
 * The error thrown when a SIP message cannot be read.
 *
 * @module
 */

import type { SipMessage } from "./message.ts";

/**
 * Which explicit limit a message broke, when a {@linkcode SipParseError} is about a limit.
 *
 * @example
 * ```ts
 * import { parseMessage, SipParseError } from "@sipecho/sipecho";
 * import { type SipLimit } from "@sipecho/sipecho/message";
 * import assert from "node:assert/strict";
 *
 * const wire = "OPTIONS sip:a@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:b@h>;tag=1\r\n" +
 *   "To: <sip:a@h>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n"; // five header fields
 * let limit: SipLimit | undefined;
 * try {
 *   parseMessage(wire, { maxHeaders: 4 });
 * } catch (e) {
 *   if (e instanceof SipParseError) limit = e.limit;
 * }
 * assert.equal(limit, "maxHeaders");
 * ```
 */
export type SipLimit = "maxMessageSize" | "maxHeaders" | "maxBuffered";

/**
 * A SIP message that cannot be parsed, with where it went wrong and the status a UAS
 * should answer with (RFC 3261 §8.2, §21).
 *
 * `offset` is the byte offset into the input where the problem was found. `status` is 400
 * unless the RFC names another answer: 505 for an unsupported SIP-Version (§8.2.2), 416 for an
 * unsupported Request-URI scheme (§8.2.2.1), 513 for a message over the size limit (§21.5.14).
 * `partial` holds the message as far as it could be read, so that a responder can still copy
 * its Via, From, To, Call-ID and CSeq into an error response (§8.2.6); its structured views may
 * throw, its raw headers never do.
 *
 * @example Catching a parse error
 * ```ts
 * import { parseMessage, SipParseError } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * try {
 *   parseMessage("OPTIONS sip:a@b SIP/7.0\r\n\r\n");
 *   assert.fail("should throw");
 * } catch (e) {
 *   assert.ok(e instanceof SipParseError);
 *   assert.equal(e.status, 505);
 * }
 * ```
 */
export class SipParseError extends SyntaxError {
  /** Byte offset in the input where the problem was found. */
  readonly offset: number;
  /** The status code a UAS should answer with (400 unless the RFC names another). */
  readonly status: number;
  /** The limit that was exceeded, if this error is about a limit. */
  readonly limit?: SipLimit;
  /** The message as far as it was read, when the start line and headers could be split. */
  partial?: SipMessage;

  /**
   * Makes the error for a problem at `offset`.
   *
   * @param message What was wrong and where, e.g. `Cannot parse CSeq: sequence number is not a number`.
   * @param offset Byte offset in the input.
   * @param status Status code a UAS should answer with.
   * @param limit The limit that was exceeded, if any.
   */
  constructor(message: string, offset: number, status = 400, limit?: SipLimit) {
    super(message);
    this.name = "SipParseError";
    this.offset = offset;
    this.status = status;
    if (limit !== undefined) this.limit = limit;
  }
}
