/**
 * The server side of one WebSocket connection (RFC 6455) for SIP over WebSocket (RFC 7118), as
 * a codec: bytes read from a TCP connection go in, bytes to write and whole messages come out.
 * It touches no socket and no runtime API, so the same code serves Deno and Bun over their
 * plain TCP sockets and behaves the same on both.
 *
 * What it does where RFC 6455 leaves a choice:
 *
 * - Handshake (§4.2.1, §4.2.2): see `websocket_handshake.ts`, where it is read, checked and
 *   answered. A refused handshake is answered with a whole HTTP response; the session is then
 *   "closed" and bytes after the request head are not read.
 * - Frames (§5). Every violation fails the connection (§7.1.7): a close frame with the code
 *   (1002 protocol error, 1007 invalid UTF-8, 1009 too big) and a short reason, then `end`.
 *   A message's size is checked against `maxMessageSize` from each frame header, before any of
 *   its payload is kept; a text message is checked for UTF-8 once whole (§8.1). Lengths that are
 *   not in their shortest form (§5.2) are accepted. Valid close codes are 1000-1003, 1007-1014
 *   and 3000-4999 (§7.4 and the IANA registry).
 * - Closing (§5.5.1, §7). A client's close is answered with a close frame carrying its status
 *   code (or none, if it sent none), then `end`. After {@linkcode WebSocketSession.close} the
 *   session is "closing": data frames and pings are read and dropped (nothing is sent after our
 *   close), and the client's close frame ends it. Waiting for that close is bounded by the
 *   integrator's timer, not here.
 * - Memory. At most `maxHandshakeSize` bytes of request head, one frame header (14 bytes), the
 *   payload of one control frame (125 bytes) and `maxMessageSize` bytes of message payload are
 *   held. A frame's payload goes into one buffer of its announced size, so a message fed a byte
 *   at a time is copied once, and its frames are joined once when it is whole.
 *
 * @module
 */

import { _join } from "./bytes.ts";
import { _EMPTY, _frame, _isCloseCode, _isUtf8, _maskedFrame, _OP } from "./websocket_frame.ts";
import { _checkUpgradeResponse, _newKey, _upgradeRequest } from "./websocket_client_handshake.ts";
import {
  _answerUpgrade,
  _HandshakeHead,
  _isToken,
  type _Refusal,
  _refusalResponse,
  type WebSocketRequest,
} from "./websocket_handshake.ts";

export type { WebSocketRequest } from "./websocket_handshake.ts";

/**
 * Where a {@linkcode WebSocketSession} is: reading the HTTP upgrade request, open, closing (our
 * close frame sent, waiting for the client's), or closed (the connection should end).
 *
 * @example
 * ```ts
 * import { type WebSocketState, WebSocketSession } from "./websocket.ts";
 * import assert from "node:assert/strict";
 *
 * const state: WebSocketState = new WebSocketSession({ maxMessageSize: 65535 }).state;
 * assert.equal(state, "handshake");
 * ```
 */
export type WebSocketState = "handshake" | "open" | "closing" | "closed";

/**
 * Limits and the subprotocol of a {@linkcode WebSocketSession}.
 *
 * @example
 * ```ts
 * import { type WebSocketSessionOptions, WebSocketSession } from "./websocket.ts";
 * import assert from "node:assert/strict";
 *
 * const options: WebSocketSessionOptions = { maxMessageSize: 65535, maxHandshakeSize: 4096, subprotocol: "sip" };
 * const session = new WebSocketSession(options);
 * const output = session.push(new TextEncoder().encode("GET / HTTP/1.1\r\n" + "X: y\r\n".repeat(700)));
 * assert.equal(output.end, true);
 * assert.equal(output.reason, "handshake refused: 431 request head over 4096 bytes");
 * ```
 */
export interface WebSocketSessionOptions {
  /**
   * Largest message, in bytes, once its fragments are joined. A frame header announcing more
   * fails the connection with 1009 at once, before any of that payload is kept.
   */
  maxMessageSize: number;
  /** Largest HTTP upgrade request head, in bytes (default 8192); a longer one is refused with 431. */
  maxHandshakeSize?: number;
  /** The subprotocol the client must offer, and that is chosen (default `sip`, RFC 7118 §4). */
  subprotocol?: string;
  /**
   * The client's side instead (a connection we opened): `host` (`HOST:PORT`) and `path`
   * (default `/`) of the upgrade request in {@linkcode WebSocketSession.upgradeRequest}; the
   * server's response is read and checked, its frames must be unmasked and ours are masked
   * (RFC 6455 §5.1).
   */
  client?: { host: string; path?: string };
}

/**
 * What one {@linkcode WebSocketSession.push} produced.
 *
 * @example
 * ```ts
 * import { type WebSocketOutput, WebSocketSession } from "./websocket.ts";
 * import assert from "node:assert/strict";
 *
 * const session = new WebSocketSession({ maxMessageSize: 65535 });
 * const output: WebSocketOutput = session.push(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
 * assert.equal(output.end, true);
 * assert.match(new TextDecoder().decode(output.write[0]), /^HTTP\/1\.1 426 Upgrade Required\r\n/);
 * assert.deepEqual(output.messages, []);
 * ```
 */
export interface WebSocketOutput {
  /** Bytes to write on the connection, in order: the handshake's response, pongs, a close frame. */
  write: Uint8Array[];
  /** The messages that became whole, payload bytes, in order (RFC 7118 §5: one SIP message each). */
  messages: Uint8Array[];
  /**
   * True: end the TCP connection once `write` is written (handshake refused, closing handshake
   * done, protocol error). The messages before it are good and may be handled.
   */
  end: boolean;
  /**
   * Why it ends, for a log line, when this push ended it: `handshake refused: 426 Sec-WebSocket-Version
   * 8 is not 13`, `close 1002: unmasked client frame (RFC 6455 §5.1)`, `closed by the client: 1000 "bye"`.
   */
  reason?: string;
}

const DEFAULT_MAX_HANDSHAKE_SIZE = 8192;
const encoder = new TextEncoder();
const lenientUtf8 = new TextDecoder();

/**
 * The server side of one WebSocket connection carrying SIP (RFC 6455, RFC 7118): feed it the
 * bytes read from the connection with {@linkcode WebSocketSession.push}, write what it returns
 * in `write`, hand each of `messages` to the SIP layer, and end the connection when `end` is
 * true. Frame outgoing messages with {@linkcode WebSocketSession.frame}; start a closing
 * handshake with {@linkcode WebSocketSession.close}. The module doc lists what it checks.
 *
 * @example
 * ```ts
 * import { WebSocketSession } from "./websocket.ts";
 * import assert from "node:assert/strict";
 *
 * const session = new WebSocketSession({ maxMessageSize: 65535 });
 * const request = "GET / HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
 *   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: sip\r\nSec-WebSocket-Version: 13\r\n\r\n";
 * // A masked text frame "hi" arrives in the same chunk as the request (RFC 6455 §5.3).
 * const frame = [0x81, 0x82, 1, 2, 3, 4, 0x68 ^ 1, 0x69 ^ 2];
 * const output = session.push(new Uint8Array([...new TextEncoder().encode(request), ...frame]));
 * assert.match(new TextDecoder().decode(output.write[0]), /Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n/);
 * assert.equal(session.state, "open");
 * assert.deepEqual(output.messages, [new TextEncoder().encode("hi")]);
 * assert.deepEqual(session.frame(new TextEncoder().encode("ok")), new Uint8Array([0x81, 2, 0x6f, 0x6b]));
 * ```
 */
export class WebSocketSession {
  readonly #maxMessageSize: number;
  readonly #maxHandshakeSize: number;
  readonly #subprotocol: string;
  #state: WebSocketState = "handshake";
  #request: WebSocketRequest | undefined;
  /** The client's side: the Sec-WebSocket-Key sent and the upgrade request. */
  readonly #client: { key: string; request: Uint8Array } | undefined;

  /** The request head while it arrives; dropped once read. */
  #head: _HandshakeHead | undefined;

  // The frame header being read (RFC 6455 §5.2): 2 bytes, then up to 8 of length and 4 of mask.
  readonly #header = new Uint8Array(14);
  #headerLength = 0;
  #headerNeeded = 2;

  // The frame whose payload is being read.
  #inPayload = false;
  #fin = false;
  #opcode = 0;
  readonly #mask = new Uint8Array(4);
  #payloadLength = 0;
  #payloadRead = 0;
  /** False: the payload is skipped (data after our close). */
  #keep = false;
  /** The unmasked payload, allocated at its announced size when its first byte comes. */
  #payload: Uint8Array | undefined;

  // The message being reassembled (RFC 6455 §5.4): its opcode (0: none), size and frames.
  #messageOpcode = 0;
  #messageSize = 0;
  #fragments: Uint8Array[] = [];

  /**
   * Makes a session waiting for the HTTP upgrade request.
   *
   * @param options Limits and the subprotocol.
   * @throws {RangeError} When a limit is not a non-negative integer (maxHandshakeSize: positive).
   * @throws {TypeError} When the subprotocol is not an HTTP token.
   */
  constructor(options: WebSocketSessionOptions) {
    const { maxMessageSize, maxHandshakeSize = DEFAULT_MAX_HANDSHAKE_SIZE, subprotocol = "sip" } = options;
    if (!Number.isSafeInteger(maxMessageSize) || maxMessageSize < 0) {
      throw new RangeError(`Cannot make a WebSocket session: maxMessageSize ${maxMessageSize} is not a size`);
    }
    if (!Number.isSafeInteger(maxHandshakeSize) || maxHandshakeSize < 1) {
      throw new RangeError(`Cannot make a WebSocket session: maxHandshakeSize ${maxHandshakeSize} is not a size`);
    }
    if (typeof subprotocol !== "string" || !_isToken(subprotocol)) {
      throw new TypeError(`Cannot make a WebSocket session: subprotocol "${subprotocol}" is not a token`);
    }
    this.#maxMessageSize = maxMessageSize;
    this.#maxHandshakeSize = maxHandshakeSize;
    this.#subprotocol = subprotocol.toLowerCase();
    this.#head = new _HandshakeHead(maxHandshakeSize);
    if (options.client !== undefined) {
      const key = _newKey();
      const request = _upgradeRequest(options.client.host, options.client.path ?? "/", key, this.#subprotocol);
      this.#client = { key, request };
    }
  }

  /**
   * The client's side: the upgrade request to write first (RFC 6455 §4.1); undefined on the server's side.
   *
   * @example
   * ```ts
   * import { WebSocketSession } from "./websocket.ts";
   * import assert from "node:assert/strict";
   *
   * const client = new WebSocketSession({ maxMessageSize: 65535, client: { host: "127.0.0.1:5062" } });
   * const request = new TextDecoder().decode(client.upgradeRequest);
   * assert.match(request, /^GET \/ HTTP\/1\.1\r\nHost: 127\.0\.0\.1:5062\r\n/);
   * assert.match(request, /\r\nSec-WebSocket-Protocol: sip\r\n/);
   * ```
   */
  get upgradeRequest(): Uint8Array | undefined {
    return this.#client?.request;
  }

  /** Where the session is: "handshake", "open", "closing" (our close sent) or "closed". */
  get state(): WebSocketState {
    return this.#state;
  }

  /**
   * Whether part of a frame or of a fragmented message has arrived and the rest has not (a
   * connection that stays so is a slow sender: its caller's deadline).
   */
  get partial(): boolean {
    return this.#state !== "closed" && (this.#headerLength > 0 || this.#inPayload || this.#messageOpcode !== 0);
  }

  /**
   * The upgrade request's path and header fields, once its head has been read and parsed,
   * whether it was then accepted or refused; undefined before, or if it could not be parsed.
   */
  get request(): WebSocketRequest | undefined {
    return this.#request;
  }

  /**
   * Reads bytes from the connection, in chunks of any size (a byte at a time works).
   *
   * @param chunk The next bytes read; not kept, so the caller may reuse its buffer.
   * @returns What to write, the messages made whole, and whether to end the connection. Once
   *   the session is closed, bytes are ignored and the answer is empty with `end` true.
   */
  push(chunk: Uint8Array): WebSocketOutput {
    const out: WebSocketOutput = { write: [], messages: [], end: false };
    if (this.#state === "closed") {
      out.end = true;
      return out;
    }
    let pos = 0;
    if (this.#state === "handshake") {
      pos = this.#readHead(chunk, out);
      if (pos < 0) return out; // the head is not whole yet, or was refused
    }
    this.#readFrames(chunk, pos, out);
    return out;
  }

  /**
   * Frames one outgoing message: a text frame when the bytes are valid UTF-8, else a binary
   * frame (RFC 7118 §5), unfragmented and unmasked (a server never masks, RFC 6455 §5.1), with
   * a 7-, 16- or 64-bit length as the size needs (§5.2).
   *
   * @param data The message, e.g. one SIP message.
   * @returns The frame to write; empty unless the session is open (nothing may follow our
   *   close frame, §5.5.1).
   *
   * @example
   * ```ts
   * import { WebSocketSession } from "./websocket.ts";
   * import assert from "node:assert/strict";
   *
   * const session = new WebSocketSession({ maxMessageSize: 65535 });
   * assert.equal(session.frame(new Uint8Array([1])).length, 0); // not open yet
   * ```
   */
  frame(data: Uint8Array): Uint8Array {
    if (this.#state !== "open") return _EMPTY;
    return this.#frame(_isUtf8(data) ? _OP.TEXT : _OP.BINARY, data);
  }

  /** A frame as this side writes it: masked by a client, not by a server (RFC 6455 §5.1). */
  #frame(opcode: number, payload: Uint8Array): Uint8Array {
    return this.#client === undefined ? _frame(opcode, payload) : _maskedFrame(opcode, payload);
  }

  /**
   * Starts the closing handshake (RFC 6455 §7.1.2): returns a close frame with the code and
   * reason, and the session goes to "closing". Data frames that follow are dropped, and the
   * client's close frame ends the session. Before the handshake is done there is no WebSocket to
   * close: the session goes to "closed" and the answer is empty; once closing or closed, also
   * empty.
   *
   * @param code The status code (default 1000, normal closure; §7.4.1).
   * @param reason A short reason, at most 123 bytes in UTF-8 (default none).
   * @returns The close frame to write, or nothing.
   * @throws {RangeError} When the code is not one an endpoint may send, or the reason is too long.
   *
   * @example
   * ```ts
   * import { WebSocketSession } from "./websocket.ts";
   * import assert from "node:assert/strict";
   *
   * const session = new WebSocketSession({ maxMessageSize: 65535 });
   * assert.throws(() => session.close(1005), RangeError); // 1005 is never sent (§7.4.1)
   * ```
   */
  close(code = 1000, reason = ""): Uint8Array {
    if (!_isCloseCode(code)) {
      throw new RangeError(`Cannot close the WebSocket with code ${code}: an endpoint may not send it (RFC 6455 §7.4)`);
    }
    const text = encoder.encode(reason);
    if (text.length > 123) {
      throw new RangeError(`Cannot close the WebSocket with a reason of ${text.length} bytes: at most 123 fit`);
    }
    if (this.#state === "handshake") this.#finish();
    if (this.#state !== "open") return _EMPTY;
    this.#state = "closing";
    // Data frames after our close are dropped: the message in progress too.
    this.#fragments = [];
    if (this.#opcode < _OP.CLOSE) {
      this.#keep = false;
      this.#payload = undefined;
    }
    const payload = new Uint8Array(2 + text.length);
    payload[0] = code >>> 8;
    payload[1] = code & 0xff;
    payload.set(text, 2);
    return this.#frame(_OP.CLOSE, payload);
  }

  /**
   * Adds a chunk to the request head and answers it when whole. Returns where the frames start
   * in chunk once the handshake is accepted, else -1.
   */
  #readHead(chunk: Uint8Array, out: WebSocketOutput): number {
    const got = this.#head!.push(chunk);
    if (got === "more") return -1;
    if (got === "over") {
      if (this.#client !== undefined) {
        this.#clientRefuses(out, `the response head is over ${this.#maxHandshakeSize} bytes`);
      } else this.#refuse(out, { status: 431, why: `request head over ${this.#maxHandshakeSize} bytes` });
      return -1;
    }
    this.#head = undefined;
    if (this.#client !== undefined) {
      // RFC 6455 §4.1: the client fails the connection on a response that does not accept.
      const refused = _checkUpgradeResponse(got.head, this.#client.key, this.#subprotocol);
      if (refused !== undefined) {
        this.#clientRefuses(out, refused);
        return -1;
      }
      this.#state = "open";
      return got.rest;
    }
    const answer = _answerUpgrade(got.head, this.#subprotocol);
    this.#request = answer.request;
    if (answer.refusal !== undefined) {
      this.#refuse(out, answer.refusal);
      return -1;
    }
    out.write.push(answer.accept);
    this.#state = "open";
    return got.rest;
  }

  /** The client's side: the server's response does not accept the upgrade; ends, writing nothing. */
  #clientRefuses(out: WebSocketOutput, why: string): void {
    out.end = true;
    out.reason = `handshake refused: ${why}`;
    this.#finish();
  }

  /** Answers the upgrade request with an error response and ends. */
  #refuse(out: WebSocketOutput, refusal: _Refusal): void {
    out.write.push(_refusalResponse(refusal));
    out.end = true;
    out.reason = `handshake refused: ${refusal.status} ${refusal.why}`;
    this.#finish();
  }

  /** Reads frames from chunk[pos...] until it is used up or the session closes. */
  #readFrames(chunk: Uint8Array, pos: number, out: WebSocketOutput): void {
    while (pos < chunk.length && this.#state !== "closed") {
      if (!this.#inPayload) {
        this.#header[this.#headerLength++] = chunk[pos++];
        if (this.#headerLength === 2 && !this.#checkFrameStart(out)) return;
        if (this.#headerLength < this.#headerNeeded) continue;
        if (!this.#startPayload(out)) return;
        if (this.#payloadLength > 0) continue;
      } else {
        const n = Math.min(this.#payloadLength - this.#payloadRead, chunk.length - pos);
        this.#readPayload(chunk.subarray(pos, pos + n));
        pos += n;
        if (this.#payloadRead < this.#payloadLength) continue;
      }
      this.#endFrame(out);
    }
  }

  /** RFC 6455 §5.2-§5.5: what the first two header bytes allow us to check. */
  #checkFrameStart(out: WebSocketOutput): boolean {
    const b0 = this.#header[0];
    const b1 = this.#header[1];
    const opcode = b0 & 0x0f;
    if (b0 & 0x70) return this.#fail(out, 1002, "RSV bit set with no extension negotiated (RFC 6455 §5.2)");
    if ((opcode > _OP.BINARY && opcode < _OP.CLOSE) || opcode > _OP.PONG) {
      return this.#fail(out, 1002, `reserved opcode 0x${opcode.toString(16)} (RFC 6455 §5.2)`);
    }
    const masked = (b1 & 0x80) !== 0;
    if (this.#client === undefined && !masked) return this.#fail(out, 1002, "unmasked client frame (RFC 6455 §5.1)");
    if (this.#client !== undefined && masked) return this.#fail(out, 1002, "masked server frame (RFC 6455 §5.1)");
    const length7 = b1 & 0x7f;
    if (opcode >= _OP.CLOSE) {
      if (!(b0 & 0x80)) return this.#fail(out, 1002, "fragmented control frame (RFC 6455 §5.5)");
      if (length7 > 125) return this.#fail(out, 1002, "control frame payload over 125 bytes (RFC 6455 §5.5)");
    } else if (opcode === _OP.CONTINUATION) {
      if (this.#messageOpcode === 0) {
        return this.#fail(out, 1002, "continuation frame with no message in progress (RFC 6455 §5.4)");
      }
    } else if (this.#messageOpcode !== 0) {
      return this.#fail(out, 1002, "new data frame inside a fragmented message (RFC 6455 §5.4)");
    }
    this.#headerNeeded = 2 + (length7 === 126 ? 2 : length7 === 127 ? 8 : 0) + (masked ? 4 : 0);
    return true;
  }

  /** The header is whole: its length (checked against the limits) and mask key. */
  #startPayload(out: WebSocketOutput): boolean {
    const h = this.#header;
    const opcode = h[0] & 0x0f;
    let length = h[1] & 0x7f;
    let at = 2;
    if (length === 126) {
      length = (h[2] << 8) | h[3];
      at = 4;
    } else if (length === 127) {
      const high = ((h[2] << 24) | (h[3] << 16) | (h[4] << 8) | h[5]) >>> 0;
      if (high >= 0x80000000) {
        return this.#fail(out, 1002, "64-bit payload length with the top bit set (RFC 6455 §5.2)");
      }
      length = high * 0x100000000 + (((h[6] << 24) | (h[7] << 16) | (h[8] << 8) | h[9]) >>> 0);
      at = 10;
    }
    // An unmasked frame (the server's, to a client) is read with a key of zeros.
    if (h[1] & 0x80) this.#mask.set(h.subarray(at, at + 4));
    else this.#mask.fill(0);
    this.#headerLength = 0;
    this.#headerNeeded = 2;
    this.#fin = (h[0] & 0x80) !== 0;
    this.#opcode = opcode;
    this.#payloadLength = length;
    this.#payloadRead = 0;
    this.#payload = undefined;
    this.#keep = opcode >= _OP.CLOSE || this.#state === "open";
    if (opcode < _OP.CLOSE) {
      // Decided from the header, so an oversized payload is never kept.
      if (this.#keep && this.#messageSize + length > this.#maxMessageSize) {
        return this.#fail(
          out,
          1009,
          `message of ${this.#messageSize + length} bytes or more, over the limit of ${this.#maxMessageSize}`,
        );
      }
      if (opcode !== _OP.CONTINUATION) this.#messageOpcode = opcode;
      this.#messageSize += length;
    }
    this.#inPayload = true;
    return true;
  }

  /** RFC 6455 §5.3: unmasks payload bytes into the frame's buffer (or skips them). */
  #readPayload(bytes: Uint8Array): void {
    if (this.#keep) {
      const payload = this.#payload ??= new Uint8Array(this.#payloadLength);
      const mask = this.#mask;
      let at = this.#payloadRead;
      for (let i = 0; i < bytes.length; i++, at++) payload[at] = bytes[i] ^ mask[at & 3];
    }
    this.#payloadRead += bytes.length;
  }

  /** A frame is whole: answers a control frame, or adds to the message and delivers it. */
  #endFrame(out: WebSocketOutput): void {
    this.#inPayload = false;
    const payload = this.#payload ?? _EMPTY;
    this.#payload = undefined;
    switch (this.#opcode) {
      case _OP.PING:
        // RFC 6455 §5.5.2, §5.5.3: a pong with the same payload; nothing after our close.
        if (this.#state === "open") out.write.push(this.#frame(_OP.PONG, payload));
        return;
      case _OP.PONG:
        return; // unsolicited or not, a pong needs no answer (§5.5.3)
      case _OP.CLOSE:
        return this.#receiveClose(payload, out);
    }
    if (payload.length > 0) this.#fragments.push(payload); // none after our close: not kept
    if (!this.#fin) return;
    const opcode = this.#messageOpcode;
    const fragments = this.#fragments;
    this.#messageOpcode = 0;
    this.#messageSize = 0;
    this.#fragments = [];
    if (this.#state !== "open") return;
    const message = _join(fragments);
    // RFC 6455 §8.1: invalid UTF-8 in a text message fails the connection.
    if (opcode === _OP.TEXT && !_isUtf8(message)) {
      this.#fail(out, 1007, "text message is not valid UTF-8 (RFC 6455 §8.1)");
      return;
    }
    out.messages.push(message);
  }

  /** RFC 6455 §5.5.1: the client's close frame. */
  #receiveClose(payload: Uint8Array, out: WebSocketOutput): void {
    const code = payload.length >= 2 ? (payload[0] << 8) | payload[1] : undefined;
    const said = code === undefined
      ? "no status code"
      : payload.length > 2
      ? `${code} ${JSON.stringify(lenientUtf8.decode(payload.subarray(2)))}`
      : `${code}`;
    if (this.#state === "closing") {
      out.end = true;
      out.reason = `close handshake done: the ${this.#client === undefined ? "client" : "server"} answered ${said}`;
      this.#finish();
      return;
    }
    if (payload.length === 1) {
      this.#fail(out, 1002, "close frame with a 1-byte payload (RFC 6455 §5.5.1)");
      return;
    }
    if (code !== undefined) {
      if (!_isCloseCode(code)) {
        this.#fail(out, 1002, `invalid close code ${code} (RFC 6455 §7.4)`);
        return;
      }
      if (!_isUtf8(payload.subarray(2))) {
        this.#fail(out, 1007, "close reason is not valid UTF-8 (RFC 6455 §5.5.1)");
        return;
      }
    }
    // The answer echoes the status code (and no reason), or is empty if the client sent none.
    out.write.push(this.#frame(_OP.CLOSE, payload.subarray(0, code === undefined ? 0 : 2)));
    out.end = true;
    out.reason = `closed by the ${this.#client === undefined ? "client" : "server"}: ${said}`;
    this.#finish();
  }

  /** RFC 6455 §7.1.7: fails the connection, with a close frame unless ours was sent already. */
  #fail(out: WebSocketOutput, code: number, why: string): false {
    if (this.#state === "open") {
      out.write.push(this.#frame(_OP.CLOSE, new Uint8Array([code >>> 8, code & 0xff, ...encoder.encode(why)])));
      out.reason = `close ${code}: ${why}`;
    } else {
      out.reason = `close ${code}: ${why}, after our close frame (no second one sent)`;
    }
    out.end = true;
    this.#finish();
    return false;
  }

  /** Closed: drops all that is held. */
  #finish(): void {
    this.#state = "closed";
    this.#head = undefined;
    this.#payload = undefined;
    this.#fragments = [];
  }
}
