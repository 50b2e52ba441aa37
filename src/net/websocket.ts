/**
 * The server side of one WebSocket connection (RFC 6455) for SIP over WebSocket (RFC 7118), as
 * a codec: bytes read from a TCP connection go in, bytes to write and whole messages come out.
 * It touches no socket and no runtime API, so the same code serves Deno and Bun over their
 * plain TCP sockets and behaves the same on both.
 *
 * What it does where RFC 6455 leaves a choice:
 *
 * - Handshake (§4.2.1, §4.2.2). The request head is read up to its empty line (CRLF CRLF, bare
 *   LFs are not line ends); bytes after it in the same chunk are frames and are read at once.
 *   Empty lines before the request line are skipped (RFC 9112 §2.2) but count against
 *   `maxHandshakeSize`. A head that cannot fit is refused with 431 as soon as that is certain.
 *   The request must be HTTP/1.1 or a later 1.x (HTTP/1.0: 400, another major version: 505),
 *   `GET` (else 405), have one Host field and no body (else 400), `Upgrade: websocket` (else
 *   426, "SIP over WebSocket only"), `Sec-WebSocket-Version: 13` (else 426 naming 13),
 *   `Connection` listing `upgrade`, a `Sec-WebSocket-Key` that is 16 bytes in base64, and offer
 *   the subprotocol (else 400; RFC 7118 §4). The checks run in that order and the first failure
 *   answers. Origin is not checked, and no extension is negotiated. Fields of the same name are
 *   joined with ", " (RFC 9110 §5.3), so a repeated Sec-WebSocket-Protocol adds to the list and
 *   a repeated Sec-WebSocket-Key or -Version is refused. The subprotocol matches without regard
 *   to case and is answered as the client spelled it. A refusal is a whole HTTP/1.1 response
 *   with `Connection: close`, a Date and a one-line text/plain body saying why; the session is
 *   then "closed" and bytes after the request head are not read.
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

import { sha1 } from "./sha1.ts";

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
 * The HTTP upgrade request of a {@linkcode WebSocketSession}, for logs.
 *
 * @example
 * ```ts
 * import { type WebSocketRequest, WebSocketSession } from "./websocket.ts";
 * import assert from "node:assert/strict";
 *
 * const session = new WebSocketSession({ maxMessageSize: 65535 });
 * session.push(new TextEncoder().encode("GET /sip?x=1 HTTP/1.1\r\nHost: example.com\r\nX-A: 1\r\nX-A: 2\r\n\r\n"));
 * const request: WebSocketRequest = session.request!;
 * assert.equal(request.path, "/sip?x=1");
 * assert.equal(request.headers.get("x-a"), "1, 2");
 * ```
 */
export interface WebSocketRequest {
  /** The request target's path and query (`/` and the rest; from an absolute URI, its path). */
  path: string;
  /** The header fields by lower-case name; fields of the same name joined with ", ". */
  headers: Map<string, string>;
}

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

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"; // RFC 6455 §1.3
const DEFAULT_MAX_HANDSHAKE_SIZE = 8192;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) ([\x21-\x7e]+) HTTP\/(\d)\.(\d)$/;
const FIELD_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):([\t\x20-\x7e\x80-\xff]*)$/;
const KEY = /^[A-Za-z0-9+/]{22}==$/; // 16 bytes in base64
const ABSOLUTE_URI = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;
const REASONS: Record<number, string> = {
  400: "Bad Request",
  405: "Method Not Allowed",
  426: "Upgrade Required",
  431: "Request Header Fields Too Large",
  505: "HTTP Version Not Supported",
};
const OP_CONTINUATION = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;
const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();
const utf8 = new TextDecoder("utf-8", { fatal: true });
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

  // The request head while it arrives; dropped once read.
  #head: Uint8Array | undefined;
  #headLength = 0;
  /** Bytes of the head so far, with the empty lines skipped before it. */
  #headSeen = 0;

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
    if (typeof subprotocol !== "string" || !TOKEN.test(subprotocol)) {
      throw new TypeError(`Cannot make a WebSocket session: subprotocol "${subprotocol}" is not a token`);
    }
    this.#maxMessageSize = maxMessageSize;
    this.#maxHandshakeSize = maxHandshakeSize;
    this.#subprotocol = subprotocol.toLowerCase();
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
    if (this.#state !== "open") return EMPTY;
    return _frame(_isUtf8(data) ? OP_TEXT : OP_BINARY, data);
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
    if (this.#state !== "open") return EMPTY;
    this.#state = "closing";
    // Data frames after our close are dropped: the message in progress too.
    this.#fragments = [];
    if (this.#opcode < OP_CLOSE) {
      this.#keep = false;
      this.#payload = undefined;
    }
    const payload = new Uint8Array(2 + text.length);
    payload[0] = code >>> 8;
    payload[1] = code & 0xff;
    payload.set(text, 2);
    return _frame(OP_CLOSE, payload);
  }

  /**
   * Adds a chunk to the request head and answers it when whole. Returns where the frames start
   * in chunk once the handshake is accepted, else -1.
   */
  #readHead(chunk: Uint8Array, out: WebSocketOutput): number {
    let i = 0;
    if (this.#headLength === 0) {
      // RFC 9112 §2.2: empty lines before the request line are ignored.
      while (i < chunk.length && (chunk[i] === 13 || chunk[i] === 10)) i++;
      this.#headSeen += i;
    }
    // Never more than the limit is kept: a chunk may hold a long run of frames after the head.
    const take = Math.max(0, Math.min(chunk.length - i, this.#maxHandshakeSize - this.#headSeen));
    const before = this.#headLength;
    this.#appendHead(chunk.subarray(i, i + take));
    const end = _headEnd(this.#head, Math.max(0, before - 3), this.#headLength);
    if (end < 0) {
      this.#headSeen += take;
      // The head has no room left for its empty line: it cannot fit.
      if (this.#headSeen >= this.#maxHandshakeSize) {
        this.#refuse(out, 431, `request head over ${this.#maxHandshakeSize} bytes`);
      }
      return -1;
    }
    const head = this.#head!.subarray(0, end - 4);
    this.#head = undefined;
    return this.#answer(head, out) ? i + end - before : -1;
  }

  #appendHead(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    const need = this.#headLength + bytes.length;
    if (!this.#head || this.#head.length < need) {
      // Doubling, so a head that comes a byte at a time is copied O(n) times in all.
      const grown = new Uint8Array(Math.min(this.#maxHandshakeSize, Math.max(256, need * 2)));
      if (this.#head) grown.set(this.#head.subarray(0, this.#headLength));
      this.#head = grown;
    }
    this.#head.set(bytes, this.#headLength);
    this.#headLength = need;
  }

  /** RFC 6455 §4.2.1, §4.2.2: checks the request head and answers 101 (true) or a refusal (false). */
  #answer(head: Uint8Array, out: WebSocketOutput): boolean {
    const lines = _latin1(head).split("\r\n");
    const requestLine = REQUEST_LINE.exec(lines[0]);
    if (!requestLine) return this.#refuse(out, 400, "malformed request line");
    const [, method, target, major, minor] = requestLine;
    const headers = new Map<string, string>();
    let hosts = 0;
    for (let n = 1; n < lines.length; n++) {
      // RFC 9112 §5: no space before the colon, no line folding (§5.2), no control characters.
      const field = FIELD_LINE.exec(lines[n]);
      if (!field) return this.#refuse(out, 400, `malformed header field line ${n + 1}`);
      const name = field[1].toLowerCase();
      const value = _trimOws(field[2]);
      const previous = headers.get(name);
      headers.set(name, previous === undefined ? value : `${previous}, ${value}`);
      if (name === "host") hosts++;
    }
    let path = target;
    if (ABSOLUTE_URI.test(target)) {
      // RFC 6455 §4.1: the resource name may come in an absolute URI.
      try {
        const url = new URL(target);
        path = url.pathname + url.search;
      } catch {
        return this.#refuse(out, 400, "malformed request target");
      }
    } else if (target[0] !== "/") {
      return this.#refuse(out, 400, "the request target is not a path");
    }
    this.#request = { path, headers };

    if (major !== "1") return this.#refuse(out, 505, `HTTP/${major}.${minor} is not supported: use HTTP/1.1`);
    if (minor === "0") return this.#refuse(out, 400, "a WebSocket needs HTTP/1.1, not HTTP/1.0 (RFC 6455 §4.1)");
    if (method !== "GET") {
      return this.#refuse(out, 405, `method ${method} is not GET (RFC 6455 §4.1)`, ["Allow: GET"]);
    }
    // RFC 9112 §3.2: exactly one Host.
    if (hosts !== 1) return this.#refuse(out, 400, hosts === 0 ? "Host is missing" : "Host is repeated");
    // A body would be taken for frames.
    const contentLength = headers.get("content-length");
    if (headers.has("transfer-encoding") || (contentLength !== undefined && contentLength !== "0")) {
      return this.#refuse(out, 400, "an upgrade request has no body");
    }
    if (!_list(headers.get("upgrade")).some((t) => t.toLowerCase() === "websocket")) {
      return this.#refuse(out, 426, "SIP over WebSocket only (RFC 7118): the request has no Upgrade: websocket", [
        "Upgrade: websocket",
      ]);
    }
    // RFC 6455 §4.2.2: an unknown version is refused with the versions this server speaks.
    const version = headers.get("sec-websocket-version");
    if (version !== "13") {
      const why = version === undefined
        ? "Sec-WebSocket-Version is missing (13 is required)"
        : `Sec-WebSocket-Version ${_shorten(version)} is not 13`;
      return this.#refuse(out, 426, why, ["Upgrade: websocket", "Sec-WebSocket-Version: 13"]);
    }
    if (!_list(headers.get("connection")).some((t) => t.toLowerCase() === "upgrade")) {
      return this.#refuse(out, 400, "Connection does not list upgrade (RFC 6455 §4.2.1)");
    }
    const key = headers.get("sec-websocket-key");
    if (key === undefined) return this.#refuse(out, 400, "Sec-WebSocket-Key is missing (RFC 6455 §4.2.1)");
    if (!KEY.test(key)) return this.#refuse(out, 400, "Sec-WebSocket-Key is not 16 bytes in base64 (RFC 6455 §4.2.1)");
    // RFC 7118 §4: the client must offer the subprotocol. Answered as it was spelled, so that a
    // client comparing its offer byte for byte finds it.
    const chosen = _list(headers.get("sec-websocket-protocol")).find((t) => t.toLowerCase() === this.#subprotocol);
    if (chosen === undefined) {
      return this.#refuse(out, 400, `the ${this.#subprotocol} subprotocol is not offered (RFC 7118 §4)`);
    }
    // RFC 6455 §4.2.2 item 5: the accept value proves the key was read.
    const accept = _base64(sha1(encoder.encode(key + GUID)));
    out.write.push(encoder.encode(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: ${chosen}\r\n\r\n`,
    ));
    this.#state = "open";
    return true;
  }

  /** Answers the upgrade request with an error response and ends. */
  #refuse(out: WebSocketOutput, status: number, why: string, fields: string[] = []): false {
    const body = encoder.encode(why + "\n");
    // RFC 9110 §7.8: a sender of Upgrade also lists "upgrade" in Connection.
    const connection = fields.some((f) => f.startsWith("Upgrade:")) ? "Upgrade, close" : "close";
    const head = encoder.encode(
      `HTTP/1.1 ${status} ${REASONS[status]}\r\n` + fields.map((f) => f + "\r\n").join("") +
        `Connection: ${connection}\r\nDate: ${new Date().toUTCString()}\r\n` +
        `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    const response = new Uint8Array(head.length + body.length);
    response.set(head);
    response.set(body, head.length);
    out.write.push(response);
    out.end = true;
    out.reason = `handshake refused: ${status} ${why}`;
    this.#finish();
    return false;
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
    if ((opcode > OP_BINARY && opcode < OP_CLOSE) || opcode > OP_PONG) {
      return this.#fail(out, 1002, `reserved opcode 0x${opcode.toString(16)} (RFC 6455 §5.2)`);
    }
    if (!(b1 & 0x80)) return this.#fail(out, 1002, "unmasked client frame (RFC 6455 §5.1)");
    const length7 = b1 & 0x7f;
    if (opcode >= OP_CLOSE) {
      if (!(b0 & 0x80)) return this.#fail(out, 1002, "fragmented control frame (RFC 6455 §5.5)");
      if (length7 > 125) return this.#fail(out, 1002, "control frame payload over 125 bytes (RFC 6455 §5.5)");
    } else if (opcode === OP_CONTINUATION) {
      if (this.#messageOpcode === 0) {
        return this.#fail(out, 1002, "continuation frame with no message in progress (RFC 6455 §5.4)");
      }
    } else if (this.#messageOpcode !== 0) {
      return this.#fail(out, 1002, "new data frame inside a fragmented message (RFC 6455 §5.4)");
    }
    this.#headerNeeded = 2 + (length7 === 126 ? 2 : length7 === 127 ? 8 : 0) + 4;
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
    this.#mask.set(h.subarray(at, at + 4));
    this.#headerLength = 0;
    this.#headerNeeded = 2;
    this.#fin = (h[0] & 0x80) !== 0;
    this.#opcode = opcode;
    this.#payloadLength = length;
    this.#payloadRead = 0;
    this.#payload = undefined;
    this.#keep = opcode >= OP_CLOSE || this.#state === "open";
    if (opcode < OP_CLOSE) {
      // Decided from the header, so an oversized payload is never kept.
      if (this.#keep && this.#messageSize + length > this.#maxMessageSize) {
        return this.#fail(
          out,
          1009,
          `message of ${this.#messageSize + length} bytes or more, over the limit of ${this.#maxMessageSize}`,
        );
      }
      if (opcode !== OP_CONTINUATION) this.#messageOpcode = opcode;
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
    const payload = this.#payload ?? EMPTY;
    this.#payload = undefined;
    switch (this.#opcode) {
      case OP_PING:
        // RFC 6455 §5.5.2, §5.5.3: a pong with the same payload; nothing after our close.
        if (this.#state === "open") out.write.push(_frame(OP_PONG, payload));
        return;
      case OP_PONG:
        return; // unsolicited or not, a pong needs no answer (§5.5.3)
      case OP_CLOSE:
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
    if (opcode === OP_TEXT && !_isUtf8(message)) {
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
      out.reason = `close handshake done: the client answered ${said}`;
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
    out.write.push(_frame(OP_CLOSE, payload.subarray(0, code === undefined ? 0 : 2)));
    out.end = true;
    out.reason = `closed by the client: ${said}`;
    this.#finish();
  }

  /** RFC 6455 §7.1.7: fails the connection, with a close frame unless ours was sent already. */
  #fail(out: WebSocketOutput, code: number, why: string): false {
    if (this.#state === "open") {
      out.write.push(_frame(OP_CLOSE, new Uint8Array([code >>> 8, code & 0xff, ...encoder.encode(why)])));
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

/** A final, unmasked frame (RFC 6455 §5.2) with the shortest length encoding. */
function _frame(opcode: number, payload: Uint8Array): Uint8Array {
  const n = payload.length;
  const headerLength = n < 126 ? 2 : n < 0x10000 ? 4 : 10;
  const frame = new Uint8Array(headerLength + n);
  frame[0] = 0x80 | opcode;
  if (n < 126) {
    frame[1] = n;
  } else if (n < 0x10000) {
    frame[1] = 126;
    frame[2] = n >>> 8;
    frame[3] = n & 0xff;
  } else {
    frame[1] = 127;
    const view = new DataView(frame.buffer);
    view.setUint32(2, Math.floor(n / 0x100000000));
    view.setUint32(6, n >>> 0);
  }
  frame.set(payload, headerLength);
  return frame;
}

/** RFC 6455 §7.4: codes an endpoint may send, with 1012-1014 from the IANA registry. */
function _isCloseCode(code: number): boolean {
  return Number.isInteger(code) &&
    ((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999));
}

function _isUtf8(bytes: Uint8Array): boolean {
  try {
    utf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

function _join(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  let size = 0;
  for (const part of parts) size += part.length;
  const joined = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    joined.set(part, at);
    at += part.length;
  }
  return joined;
}

/** Where the request head's empty line ends (the index after CRLF CRLF), or -1; from `from`. */
function _headEnd(buf: Uint8Array | undefined, from: number, end: number): number {
  if (!buf) return -1;
  for (let i = from; i + 3 < end; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) return i + 4;
  }
  return -1;
}

/** Bytes as ISO-8859-1 text, one character a byte (TextDecoder's "latin1" is windows-1252). */
function _latin1(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 4096) text += String.fromCharCode(...bytes.subarray(i, i + 4096));
  return text;
}

/** Removes optional white space (RFC 9110 §5.6.3) around a field value, without a regex. */
function _trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && (value[start] === " " || value[start] === "\t")) start++;
  while (end > start && (value[end - 1] === " " || value[end - 1] === "\t")) end--;
  return value.slice(start, end);
}

/** The elements of a comma-separated field value (RFC 9110 §5.6.1), empty ones dropped. */
function _list(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value.split(",").map(_trimOws).filter((t) => t !== "");
}

function _shorten(value: string): string {
  return value.length > 40 ? value.slice(0, 40) + "..." : value;
}

function _base64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}
