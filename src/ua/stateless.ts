/**
 * Responses without a transaction (RFC 3261 §8.2.7): to a request that does not parse (from
 * what could be read of it, §8.2.6), or that cannot be taken (a full table, a source over its
 * share or its rate). Internal to src/ua.
 *
 * @module
 */

import { SipParseError } from "../sip/errors.ts";
import type { SipRequest } from "../sip/message.ts";
import { parseMessage, type ParseOptions } from "../sip/parse.ts";
import { ResponseHead } from "../sip/response.ts";
import { isToken } from "../sip/chars.ts";
import { _phrase } from "./checks.ts";
import type { SourceRecord } from "./guard.ts";
import type { Outbox } from "./outbox.ts";
import type { Replies } from "./replies.ts";
import type { _EventDetails, PeerEvent, Remote } from "./types.ts";

/** What {@linkcode StatelessReplies} needs of the peer. */
export interface StatelessOptions {
  outbox: Outbox;
  replies: Replies;
  /** The record of the current message's source (with a guard): the reply counts against its budget. */
  source(): SourceRecord | undefined;
  parseOptions(remote: Remote): ParseOptions;
  event(kind: PeerEvent["kind"], message: string, remote?: Remote, details?: _EventDetails): void;
}

/** The peer's responses without a transaction (see the module documentation). */
export class StatelessReplies {
  readonly #o: StatelessOptions;

  constructor(options: StatelessOptions) {
    this.#o = options;
  }

  /**
   * A message that did not parse: answered with the parser's status from what could be read
   * of it (RFC 3261 §8.2.6), or dropped with a logged reason (an ACK, a response, no Via).
   */
  parseError(e: SipParseError, bytes: Uint8Array, remote: Remote, at: number): void {
    const partial = e.partial ?? _salvage(bytes, this.#o.parseOptions(remote));
    if (partial === undefined || partial.type === "response") {
      this.#o.event("parse-error", `dropped: ${e.message}`, remote);
      return;
    }
    // RFC 3261 §17.1.1.3: an ACK is never answered.
    if (partial.method === "ACK" || !partial.headers.has("Via")) {
      this.#o.event("parse-error", `dropped: ${e.message}`, remote);
      return;
    }
    this.#o.event("parse-error", `answered ${e.status}: ${e.message}`, remote);
    this.reply(partial, e.status, _phrase(e.message), [], remote, at);
  }

  /** A response without a transaction (RFC 3261 §8.2.7): to an error found before one exists. */
  reply(
    request: SipRequest,
    status: number,
    reason: string | undefined,
    headers: [string, string][],
    remote: Remote,
    at: number,
  ) {
    const head = new ResponseHead(request, remote);
    const sent = this.#o.outbox.emit(
      this.#o.replies.stateless(head, status, reason, headers, remote),
      remote,
      head.route,
      at,
      1,
      this.#o.source(),
    );
    // A final response at once: 0 ms from the request's arrival.
    if (sent && status >= 200) this.#o.outbox.counters.answered(0);
  }
}

/**
 * The headers of a request whose start line could not be read (SIP-Version, Request-URI in
 * `<>`, extra spaces: the parser gives no partial message then), read again behind a
 * placeholder start line, so that the error can still be answered (RFC 3261 §8.2.6).
 */
function _salvage(bytes: Uint8Array, options: ParseOptions): SipRequest | undefined {
  let start = 0;
  while (bytes[start] === 13 || bytes[start] === 10) start++;
  const lf = bytes.indexOf(10, start);
  if (lf < 0) return undefined;
  const line = new TextDecoder().decode(bytes.subarray(start, lf)).trim();
  if (/^SIP\//i.test(line)) return undefined; // a response
  const method = line.split(/[ \t]/)[0];
  const head = new TextEncoder().encode(
    `${isToken(method) ? method : "OPTIONS"} sip:invalid SIP/2.0\r\n`,
  );
  const rebuilt = new Uint8Array(head.length + bytes.length - lf - 1);
  rebuilt.set(head, 0);
  rebuilt.set(bytes.subarray(lf + 1), head.length);
  try {
    const m = parseMessage(rebuilt, options);
    return m.type === "request" ? m : undefined;
  } catch (e) {
    return e instanceof SipParseError && e.partial?.type === "request" ? e.partial : undefined;
  }
}
