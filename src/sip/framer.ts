/**
 * Cutting a byte stream (TCP, TLS, WebSocket) into SIP messages (RFC 3261 §18.3, §7.5;
 * RFC 5626 §3.5.1 keep-alives).
 *
 * @module
 */

import { SipParseError } from "./errors.ts";
import { DEFAULT_MAX_MESSAGE_SIZE } from "./parse.ts";

/**
 * What a {@linkcode StreamFramer} yields: a whole message, or a keep-alive ping to answer.
 *
 * @example
 * ```ts
 * import { type FramerEvent, StreamFramer } from "@sipecho/sipecho/message";
 * import assert from "node:assert/strict";
 *
 * const chunk = new TextEncoder().encode("\r\n\r\nOPTIONS sip:a@b SIP/2.0\r\nl: 0\r\n\r\n");
 * const events: FramerEvent[] = new StreamFramer().push(chunk);
 * assert.equal(events[0].type, "keepalive");
 * assert.ok(events[1].type === "message");
 * assert.equal(new TextDecoder().decode(events[1].bytes), "OPTIONS sip:a@b SIP/2.0\r\nl: 0\r\n\r\n");
 * ```
 */
export type FramerEvent =
  | { type: "message"; bytes: Uint8Array }
  /** RFC 5626 §3.5.1: a double-CRLF ping; answer it with a single CRLF (the pong). */
  | { type: "keepalive" };

/**
 * Limits for a {@linkcode StreamFramer}.
 *
 * @example
 * ```ts
 * import { type FramerOptions, StreamFramer } from "@sipecho/sipecho/message";
 * import { SipParseError } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const options: FramerOptions = { maxMessageSize: 1024 };
 * const framer = new StreamFramer(options);
 * const head = new TextEncoder().encode("MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 2000\r\n\r\n");
 * assert.throws(() => framer.push(head), (e) => e instanceof SipParseError && e.status === 513);
 * ```
 */
export interface FramerOptions {
  /**
   * Largest message accepted, header section and body, in bytes (default 65,535). It also
   * bounds what the framer buffers for an unfinished message.
   */
  maxMessageSize?: number;
}

const latin1 = new TextDecoder("latin1");
const CONTENT_LENGTH = /^(?:content-length|l)[ \t]*:[ \t]*([^\r\n]*?)[ \t]*\r?$/gim;

/**
 * Cuts a stream into SIP messages. Feed it chunks as they arrive, in any sizes; it returns the
 * messages (and keep-alive pings) that became whole. Each message is framed by its
 * Content-Length, which a stream requires (RFC 3261 §18.3). CRLFs before a start line are
 * skipped (§7.5); a CRLFCRLF between messages is an RFC 5626 keep-alive ping.
 *
 * A framing error (no or bad Content-Length, a message over the limit) throws
 * {@linkcode SipParseError}: the stream cannot be resynchronised, so the connection should be
 * closed, and the framer refuses further input.
 *
 * @example
 * ```ts
 * import { StreamFramer } from "@sipecho/sipecho/message";
 * import assert from "node:assert/strict";
 *
 * const framer = new StreamFramer();
 * const text = "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 2\r\n\r\nhi";
 * const bytes = new TextEncoder().encode("\r\n\r\n" + text + text);
 * const events = [...framer.push(bytes.subarray(0, 30)), ...framer.push(bytes.subarray(30))];
 * assert.deepEqual(events.map((e) => e.type), ["keepalive", "message", "message"]);
 * ```
 */
export class StreamFramer {
  #buf = new Uint8Array(0);
  #len = 0;
  #maxMessageSize: number;
  #failed: SipParseError | undefined;

  /**
   * Makes a framer with nothing buffered.
   *
   * @param options Limits.
   */
  constructor(options: FramerOptions = {}) {
    this.#maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  }

  /** Bytes held for a message that is not whole yet. */
  get buffered(): number {
    return this.#len;
  }

  /**
   * Adds a chunk and returns the messages and keep-alives it completes, in order.
   *
   * @param chunk The next bytes of the stream.
   * @returns The events completed by this chunk (possibly none).
   * @throws {SipParseError} On a framing error; the connection should then be closed.
   */
  push(chunk: Uint8Array): FramerEvent[] {
    if (this.#failed) throw this.#failed;
    this.#append(chunk);
    const events: FramerEvent[] = [];
    let pos = 0;
    try {
      for (;;) {
        const used = this.#next(pos, events);
        if (used === 0) break;
        pos += used;
      }
    } catch (e) {
      if (e instanceof SipParseError) this.#failed = e;
      throw e;
    }
    this.#consume(pos);
    return events;
  }

  /** Reads one event starting at pos; returns how many bytes it used (0: need more data). */
  #next(pos: number, events: FramerEvent[]): number {
    const buf = this.#buf;
    const end = this.#len;
    // RFC 3261 §7.5 and RFC 5626 §3.5.1: CRLFs between messages.
    let i = pos;
    while (i < end && (buf[i] === 13 || buf[i] === 10)) {
      if (i + 3 < end && buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) {
        events.push({ type: "keepalive" });
        return i + 4 - pos;
      }
      i++;
    }
    if (i === end) {
      // Only CR/LF so far: wait unless there are already more than a ping could use.
      return i - pos >= 4 ? i - pos : 0;
    }
    if (i > pos) return i - pos; // stray CRLFs before a start line are dropped
    const headerEnd = findHeaderEnd(buf, pos, end);
    if (headerEnd < 0) {
      if (end - pos > this.#maxMessageSize) {
        throw new SipParseError(
          `Stream message header section is over the limit of ${this.#maxMessageSize} bytes`,
          pos,
          513,
          "maxMessageSize",
        );
      }
      return 0;
    }
    const length = contentLength(buf.subarray(pos, headerEnd), pos);
    const total = headerEnd - pos + length;
    if (total > this.#maxMessageSize) {
      throw new SipParseError(
        `Stream message of ${total} bytes is over the limit of ${this.#maxMessageSize} bytes`,
        pos,
        513,
        "maxMessageSize",
      );
    }
    if (end - pos < total) return 0;
    events.push({ type: "message", bytes: buf.slice(pos, pos + total) });
    return total;
  }

  #append(chunk: Uint8Array): void {
    const need = this.#len + chunk.length;
    if (need > this.#buf.length) {
      const grown = new Uint8Array(Math.max(need, this.#buf.length * 2, 4096));
      grown.set(this.#buf.subarray(0, this.#len));
      this.#buf = grown;
    }
    this.#buf.set(chunk, this.#len);
    this.#len = need;
  }

  #consume(n: number): void {
    if (n === 0) return;
    this.#buf.copyWithin(0, n, this.#len);
    this.#len -= n;
    // Give back memory held after a large message.
    if (this.#len === 0 && this.#buf.length > 65536) this.#buf = new Uint8Array(0);
  }
}

/** Index just past the empty line ending the header section, or -1. */
function findHeaderEnd(buf: Uint8Array, from: number, end: number): number {
  for (let i = from;;) {
    const lf = buf.indexOf(10, i);
    if (lf < 0 || lf >= end) return -1;
    if (lf + 2 < end && buf[lf + 1] === 13 && buf[lf + 2] === 10) return lf + 3;
    if (lf + 1 < end && buf[lf + 1] === 10) return lf + 2;
    i = lf + 1;
  }
}

/** The Content-Length of a header section; a stream requires one (RFC 3261 §18.3). */
function contentLength(head: Uint8Array, offset: number): number {
  const text = latin1.decode(head);
  let value: string | undefined;
  for (const m of text.matchAll(CONTENT_LENGTH)) {
    if (value !== undefined && value !== m[1]) {
      throw new SipParseError(
        `Cannot frame stream message: conflicting Content-Length values "${value}" and "${m[1]}"`,
        offset,
      );
    }
    value = m[1];
  }
  if (value === undefined) {
    throw new SipParseError("Cannot frame stream message: Content-Length is required on a stream transport", offset);
  }
  if (!/^[0-9]{1,10}$/.test(value)) {
    throw new SipParseError(`Cannot frame stream message: Content-Length "${value}" is not a number`, offset);
  }
  return Number(value);
}
