/**
 * The opening handshake of a `WebSocketSession` (RFC 6455 §4.2.1, §4.2.2): the HTTP upgrade
 * request's head read as it arrives ({@linkcode _HandshakeHead}), checked, and answered with 101
 * or a refusal ({@linkcode _answerUpgrade}).
 *
 * What it does where the RFCs leave a choice: the head is read up to its empty line (CRLF CRLF,
 * bare LFs are not line ends); bytes after it in the same chunk are frames. Empty lines before
 * the request line are skipped (RFC 9112 §2.2) but count against the head's limit; a head that
 * cannot fit is refused with 431 as soon as that is certain. The request must be HTTP/1.1 or a
 * later 1.x (HTTP/1.0: 400, another major version: 505), `GET` (else 405), have one Host field
 * and no body (else 400), `Upgrade: websocket` (else 426, "SIP over WebSocket only"),
 * `Sec-WebSocket-Version: 13` (else 426 naming 13), `Connection` listing `upgrade`, a
 * `Sec-WebSocket-Key` that is 16 bytes in base64, and offer the subprotocol (else 400; RFC 7118
 * §4). The checks run in that order and the first failure answers. Origin is not checked, and
 * no extension is negotiated. Fields of the same name are joined with ", " (RFC 9110 §5.3), so
 * a repeated Sec-WebSocket-Protocol adds to the list and a repeated Sec-WebSocket-Key or
 * -Version is refused. The subprotocol matches without regard to case and is answered as the
 * client spelled it. A refusal is a whole HTTP/1.1 response with `Connection: close`, a Date and
 * a one-line text/plain body saying why.
 *
 * @module
 */

import { sha1 } from "../hash/sha1.ts";

/**
 * The HTTP upgrade request of a `WebSocketSession`, for logs.
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

/** An upgrade refused: the status, why (the response's body and the log line), extra header fields. */
export interface _Refusal {
  /** The HTTP status. */
  status: number;
  /** Why, in a line. */
  why: string;
  /** Header fields to add (`Allow: GET`). */
  fields?: string[];
}

/** The answer to an upgrade request: the 101 response, or a refusal; with the request when it could be read. */
export type _Upgrade =
  | { request: WebSocketRequest; accept: Uint8Array; refusal?: undefined }
  | { request: WebSocketRequest | undefined; accept?: undefined; refusal: _Refusal };

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"; // RFC 6455 §1.3
/** An HTTP token (RFC 9110 §5.6.2). */
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
const encoder = new TextEncoder();

/** Whether a subprotocol name is an HTTP token (RFC 9110 §5.6.2), as Sec-WebSocket-Protocol needs. */
export function _isToken(text: string): boolean {
  return TOKEN.test(text);
}

/**
 * The head of the upgrade request while it arrives, kept up to a limit: at most that many bytes
 * are held, however many come.
 */
export class _HandshakeHead {
  #max: number;
  #head: Uint8Array | undefined;
  #length = 0;
  /** Bytes of the head so far, with the empty lines skipped before it. */
  #seen = 0;

  /**
   * Makes an empty head.
   *
   * @param max The longest head, bytes, with the empty lines before it.
   */
  constructor(max: number) {
    this.#max = max;
  }

  /**
   * Adds a chunk of what the connection read.
   *
   * @param chunk The bytes; not kept.
   * @returns The head without its empty line (once whole; the buffer is then let go) and where
   *   in `chunk` the bytes after it start; `more` while it is not whole; `over` when it cannot fit.
   */
  push(chunk: Uint8Array): { head: Uint8Array; rest: number } | "more" | "over" {
    let i = 0;
    if (this.#length === 0) {
      // RFC 9112 §2.2: empty lines before the request line are ignored.
      while (i < chunk.length && (chunk[i] === 13 || chunk[i] === 10)) i++;
      this.#seen += i;
    }
    // Never more than the limit is kept: a chunk may hold a long run of frames after the head.
    const take = Math.max(0, Math.min(chunk.length - i, this.#max - this.#seen));
    const before = this.#length;
    this.#append(chunk.subarray(i, i + take));
    const end = _headEnd(this.#head, Math.max(0, before - 3), this.#length);
    if (end < 0) {
      this.#seen += take;
      // The head has no room left for its empty line: it cannot fit.
      return this.#seen >= this.#max ? "over" : "more";
    }
    const head = this.#head!.subarray(0, end - 4);
    this.#head = undefined;
    return { head, rest: i + end - before };
  }

  #append(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    const need = this.#length + bytes.length;
    if (!this.#head || this.#head.length < need) {
      // Doubling, so a head that comes a byte at a time is copied O(n) times in all.
      const grown = new Uint8Array(Math.min(this.#max, Math.max(256, need * 2)));
      if (this.#head) grown.set(this.#head.subarray(0, this.#length));
      this.#head = grown;
    }
    this.#head.set(bytes, this.#length);
    this.#length = need;
  }
}

/**
 * RFC 6455 §4.2.1, §4.2.2: checks the head of an upgrade request and answers it.
 *
 * @param head The head, without its empty line.
 * @param subprotocol The subprotocol the client must offer, lower case.
 * @returns The 101 response, or a refusal.
 */
export function _answerUpgrade(head: Uint8Array, subprotocol: string): _Upgrade {
  const parsed = _parseHead(head);
  if ("status" in parsed) return { request: undefined, refusal: parsed };
  const { request } = parsed;
  const checked = _checkUpgrade(parsed, subprotocol);
  if (typeof checked !== "string") return { request, refusal: checked };
  // RFC 6455 §4.2.2 item 5: the accept value proves the key was read.
  const accept = _base64(sha1(encoder.encode(request.headers.get("sec-websocket-key") + GUID)));
  const response = encoder.encode(
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: ${checked}\r\n\r\n`,
  );
  return { request, accept: response };
}

/**
 * The response that refuses an upgrade: a whole HTTP/1.1 response that closes the connection,
 * with a one-line body saying why.
 */
export function _refusalResponse(refusal: _Refusal): Uint8Array {
  const { status, why, fields = [] } = refusal;
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
  return response;
}

/** An upgrade request as read: the request, its method and version, and how many Host fields. */
interface _Head {
  request: WebSocketRequest;
  method: string;
  major: string;
  minor: string;
  hosts: number;
}

/** RFC 9112 §3, §5: the request line and header fields; a refusal when they cannot be read. */
function _parseHead(head: Uint8Array): _Head | _Refusal {
  const lines = _latin1(head).split("\r\n");
  const requestLine = REQUEST_LINE.exec(lines[0]);
  if (!requestLine) return { status: 400, why: "malformed request line" };
  const [, method, target, major, minor] = requestLine;
  const headers = new Map<string, string>();
  let hosts = 0;
  for (let n = 1; n < lines.length; n++) {
    // RFC 9112 §5: no space before the colon, no line folding (§5.2), no control characters.
    const field = FIELD_LINE.exec(lines[n]);
    if (!field) return { status: 400, why: `malformed header field line ${n + 1}` };
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
      return { status: 400, why: "malformed request target" };
    }
  } else if (target[0] !== "/") {
    return { status: 400, why: "the request target is not a path" };
  }
  return { request: { path, headers }, method, major, minor, hosts };
}

/** RFC 6455 §4.2.1, RFC 7118 §4: the checks, in order; the subprotocol chosen, or the first failure. */
function _checkUpgrade(head: _Head, subprotocol: string): string | _Refusal {
  const { method, major, minor, hosts, request: { headers } } = head;
  if (major !== "1") return { status: 505, why: `HTTP/${major}.${minor} is not supported: use HTTP/1.1` };
  if (minor === "0") return { status: 400, why: "a WebSocket needs HTTP/1.1, not HTTP/1.0 (RFC 6455 §4.1)" };
  if (method !== "GET") {
    return { status: 405, why: `method ${method} is not GET (RFC 6455 §4.1)`, fields: ["Allow: GET"] };
  }
  // RFC 9112 §3.2: exactly one Host.
  if (hosts !== 1) return { status: 400, why: hosts === 0 ? "Host is missing" : "Host is repeated" };
  // A body would be taken for frames.
  const contentLength = headers.get("content-length");
  if (headers.has("transfer-encoding") || (contentLength !== undefined && contentLength !== "0")) {
    return { status: 400, why: "an upgrade request has no body" };
  }
  if (!_list(headers.get("upgrade")).some((t) => t.toLowerCase() === "websocket")) {
    const why = "SIP over WebSocket only (RFC 7118): the request has no Upgrade: websocket";
    return { status: 426, why, fields: ["Upgrade: websocket"] };
  }
  // RFC 6455 §4.2.2: an unknown version is refused with the versions this server speaks.
  const version = headers.get("sec-websocket-version");
  if (version !== "13") {
    const why = version === undefined
      ? "Sec-WebSocket-Version is missing (13 is required)"
      : `Sec-WebSocket-Version ${_shorten(version)} is not 13`;
    return { status: 426, why, fields: ["Upgrade: websocket", "Sec-WebSocket-Version: 13"] };
  }
  if (!_list(headers.get("connection")).some((t) => t.toLowerCase() === "upgrade")) {
    return { status: 400, why: "Connection does not list upgrade (RFC 6455 §4.2.1)" };
  }
  const key = headers.get("sec-websocket-key");
  if (key === undefined) return { status: 400, why: "Sec-WebSocket-Key is missing (RFC 6455 §4.2.1)" };
  if (!KEY.test(key)) return { status: 400, why: "Sec-WebSocket-Key is not 16 bytes in base64 (RFC 6455 §4.2.1)" };
  // RFC 7118 §4: the client must offer the subprotocol. Answered as it was spelled, so that a
  // client comparing its offer byte for byte finds it.
  const chosen = _list(headers.get("sec-websocket-protocol")).find((t) => t.toLowerCase() === subprotocol);
  return chosen ?? { status: 400, why: `the ${subprotocol} subprotocol is not offered (RFC 7118 §4)` };
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

/** A field value cut to 40 characters, for a log line. */
function _shorten(value: string): string {
  return value.length > 40 ? value.slice(0, 40) + "..." : value;
}

function _base64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}
