// The WebSocket server codec (RFC 6455, for RFC 7118) and its SHA-1, bytes in and bytes out:
// the same tests on Deno and on Bun.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { sha1 } from "../../src/net/sha1.ts";
import { type WebSocketOutput, WebSocketSession, type WebSocketSessionOptions } from "../../src/net/websocket.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

describe("sha1()", () => {
  test("sha1() gives the FIPS 180-4 example digests", () => {
    assert.equal(hex(sha1(encoder.encode("abc"))), "a9993e364706816aba3e25717850c26c9cd0d89d");
    assert.equal(hex(sha1(new Uint8Array(0))), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    assert.equal(
      hex(sha1(encoder.encode("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
      "84983e441c3bd26ebaae4aa1f95129e5e54670f1",
    );
    assert.equal(
      hex(sha1(encoder.encode(
        "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
      ))),
      "a49b2446a02c645bf419f995b67091253a04a259",
    );
  });

  test("sha1() hashes 1,000,000 repetitions of 'a'", () => {
    assert.equal(hex(sha1(new Uint8Array(1_000_000).fill(0x61))), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
  });

  test("sha1() agrees with crypto.subtle at every padding boundary (0 to 200 bytes)", async () => {
    const data = new Uint8Array(200).map((_, i) => (i * 131 + 7) & 0xff);
    for (let n = 0; n <= data.length; n++) {
      const expected = new Uint8Array(await crypto.subtle.digest("SHA-1", data.slice(0, n)));
      assert.equal(hex(sha1(data.subarray(0, n))), hex(expected), `${n} bytes`);
    }
  });

  test("sha1() gives the RFC 6455 §1.3 Sec-WebSocket-Accept of the example key", () => {
    const digest = sha1(encoder.encode("dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11"));
    assert.equal(btoa(String.fromCharCode(...digest)), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  });
});

// --- The client side, written here so that the codec is not tested against itself ---

const EXAMPLE_KEY = "dGhlIHNhbXBsZSBub25jZQ=="; // RFC 6455 §1.3
const EXAMPLE_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
const MASK = [0x37, 0xfa, 0x21, 0x3d];

/** An upgrade request: the usual fields, with `fields` replacing (or, when null, removing) them. */
function upgradeRequest(fields: Record<string, string | null> = {}, requestLine = "GET /ws HTTP/1.1"): string {
  const all: Record<string, string | null> = {
    Host: "sip.example.com",
    Upgrade: "websocket",
    Connection: "Upgrade",
    "Sec-WebSocket-Key": EXAMPLE_KEY,
    "Sec-WebSocket-Protocol": "sip",
    "Sec-WebSocket-Version": "13",
    ...fields,
  };
  const lines = Object.entries(all).filter(([, v]) => v !== null).map(([k, v]) => `${k}: ${v}\r\n`);
  return `${requestLine}\r\n${lines.join("")}\r\n`;
}

interface ClientFrameOptions {
  fin?: boolean;
  /** RSV1-3 as a 3-bit number (4: RSV1). */
  rsv?: number;
  masked?: boolean;
}

/** A client frame (RFC 6455 §5.2): masked unless told, the shortest length encoding. */
function clientFrame(opcode: number, payload: Uint8Array | string = "", options: ClientFrameOptions = {}): Uint8Array {
  const data = typeof payload === "string" ? encoder.encode(payload) : payload;
  const { fin = true, rsv = 0, masked = true } = options;
  const n = data.length;
  const header = [(fin ? 0x80 : 0) | (rsv << 4) | opcode];
  const maskBit = masked ? 0x80 : 0;
  if (n < 126) header.push(maskBit | n);
  else if (n < 0x10000) header.push(maskBit | 126, n >>> 8, n & 0xff);
  else header.push(maskBit | 127, 0, 0, 0, 0, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  if (masked) header.push(...MASK);
  const frame = new Uint8Array(header.length + n);
  frame.set(header);
  for (let i = 0; i < n; i++) frame[header.length + i] = masked ? data[i] ^ MASK[i & 3] : data[i];
  return frame;
}

function closePayload(code: number, reason: Uint8Array | string = ""): Uint8Array {
  const text = typeof reason === "string" ? encoder.encode(reason) : reason;
  return new Uint8Array([code >>> 8, code & 0xff, ...text]);
}

interface ServerFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  payload: Uint8Array;
  headerLength: number;
}

/** Reads the server's frames as a client would, checking they are unmasked and shortest-length. */
function serverFrames(bytes: Uint8Array): ServerFrame[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const frames: ServerFrame[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const start = pos;
    const b0 = bytes[pos];
    const b1 = bytes[pos + 1];
    assert.equal(b1 & 0x80, 0, "a server frame is never masked (RFC 6455 §5.1)");
    let n = b1 & 0x7f;
    pos += 2;
    if (n === 126) {
      n = view.getUint16(pos);
      pos += 2;
      assert.ok(n >= 126, "16-bit length only when needed");
    } else if (n === 127) {
      n = view.getUint32(pos) * 0x100000000 + view.getUint32(pos + 4);
      pos += 8;
      assert.ok(n >= 0x10000, "64-bit length only when needed");
    }
    frames.push({
      fin: (b0 & 0x80) !== 0,
      rsv: b0 & 0x70,
      opcode: b0 & 0x0f,
      payload: bytes.slice(pos, pos + n),
      headerLength: pos - start,
    });
    pos += n;
  }
  assert.equal(pos, bytes.length, "whole frames");
  return frames;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length;
  }
  return all;
}

/** The close frame the output ends with: its status code and reason. */
function closeSent(out: WebSocketOutput): { code: number | undefined; reason: string } {
  assert.equal(out.end, true, "end");
  const frames = serverFrames(out.write.at(-1)!);
  assert.equal(frames.length, 1);
  const { opcode, fin, payload } = frames[0];
  assert.equal(opcode, 0x8, "a close frame");
  assert.equal(fin, true);
  assert.ok(payload.length <= 125);
  if (payload.length === 0) return { code: undefined, reason: "" };
  return {
    code: (payload[0] << 8) | payload[1],
    reason: new TextDecoder("utf-8", { fatal: true }).decode(payload.subarray(2)),
  };
}

interface HttpResponse {
  status: number;
  headers: Map<string, string>;
  body: string;
}

function httpResponse(bytes: Uint8Array): HttpResponse {
  const text = decoder.decode(bytes);
  const split = text.indexOf("\r\n\r\n");
  assert.ok(split > 0, "a whole response head");
  const [statusLine, ...lines] = text.slice(0, split).split("\r\n");
  const status = /^HTTP\/1\.1 (\d{3}) [A-Za-z ]+$/.exec(statusLine);
  assert.ok(status, `status line ${statusLine}`);
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    assert.ok(colon > 0, line);
    assert.ok(!headers.has(line.slice(0, colon).toLowerCase()), `one ${line.slice(0, colon)}`);
    headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  return { status: Number(status[1]), headers, body: text.slice(split + 4) };
}

/** Pushes each chunk and gathers what came out. */
function pushAll(session: WebSocketSession, chunks: Uint8Array[]): WebSocketOutput {
  const all: WebSocketOutput = { write: [], messages: [], end: false };
  for (const chunk of chunks) {
    const out = session.push(chunk);
    all.write.push(...out.write);
    all.messages.push(...out.messages);
    if (out.end && !all.end) {
      all.end = true;
      all.reason = out.reason;
    }
  }
  return all;
}

function bytewise(bytes: Uint8Array): Uint8Array[] {
  return [...bytes].map((b) => new Uint8Array([b]));
}

/** A session past its handshake. */
function openSession(options: { maxMessageSize?: number } = {}): WebSocketSession {
  const session = new WebSocketSession({ maxMessageSize: options.maxMessageSize ?? 65536 });
  const out = session.push(encoder.encode(upgradeRequest()));
  assert.equal(httpResponse(out.write[0]).status, 101);
  assert.equal(session.state, "open");
  return session;
}

/** A refused handshake: its response, checked for what every refusal carries. */
function refused(
  request: string | Uint8Array,
  status: number,
  options: WebSocketSessionOptions = { maxMessageSize: 65536 },
): HttpResponse {
  const session = new WebSocketSession(options);
  const out = session.push(typeof request === "string" ? encoder.encode(request) : request);
  assert.equal(out.end, true, "end");
  assert.equal(out.write.length, 1, "one response");
  assert.deepEqual(out.messages, []);
  assert.equal(session.state, "closed");
  const response = httpResponse(out.write[0]);
  assert.equal(response.status, status, response.body);
  assert.match(response.headers.get("connection")!, /(^|, )close$/);
  assert.equal(response.headers.get("content-type"), "text/plain; charset=utf-8");
  assert.equal(Number(response.headers.get("content-length")), encoder.encode(response.body).length);
  assert.match(response.headers.get("date")!, /^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
  assert.equal(out.reason, `handshake refused: ${status} ${response.body.trimEnd()}`);
  // Nothing more is read.
  assert.deepEqual(session.push(clientFrame(0x1, "late")), { write: [], messages: [], end: true });
  return response;
}

describe("WebSocketSession handshake", () => {
  test("WebSocketSession accepts the RFC 6455 §1.3 example handshake", () => {
    const session = new WebSocketSession({ maxMessageSize: 65536, subprotocol: "chat" });
    assert.equal(session.state, "handshake");
    const before = session.request;
    assert.equal(before, undefined);
    const request = "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Key: ${EXAMPLE_KEY}\r\nOrigin: http://example.com\r\n` +
      "Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n";
    const out = session.push(encoder.encode(request));
    assert.equal(
      decoder.decode(out.write[0]),
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${EXAMPLE_ACCEPT}\r\nSec-WebSocket-Protocol: chat\r\n\r\n`,
    );
    assert.equal(out.write.length, 1);
    assert.equal(out.end, false);
    assert.equal(out.reason, undefined);
    assert.equal(session.state, "open");
    assert.equal(session.request?.path, "/chat");
    assert.equal(session.request?.headers.get("origin"), "http://example.com");
    assert.equal(session.request?.headers.get("sec-websocket-protocol"), "chat, superchat");
  });

  test("WebSocketSession accepts the offer 'SIP, chat' and answers 'SIP' as the client spelled it", () => {
    const session = new WebSocketSession({ maxMessageSize: 65536 });
    const out = session.push(encoder.encode(upgradeRequest({ "Sec-WebSocket-Protocol": "SIP, chat" })));
    const response = httpResponse(out.write[0]);
    assert.equal(response.status, 101);
    assert.equal(response.headers.get("sec-websocket-protocol"), "SIP");
    assert.equal(response.headers.get("sec-websocket-accept"), EXAMPLE_ACCEPT);
  });

  test("WebSocketSession joins repeated Sec-WebSocket-Protocol fields into one list", () => {
    const session = new WebSocketSession({ maxMessageSize: 65536 });
    const request = upgradeRequest({ "Sec-WebSocket-Protocol": "chat" }).replace(
      "\r\n\r\n",
      "\r\nSec-WebSocket-Protocol:  ,xmpp ,\tsip\t\r\n\r\n",
    );
    const response = httpResponse(session.push(encoder.encode(request)).write[0]);
    assert.equal(response.status, 101);
    assert.equal(response.headers.get("sec-websocket-protocol"), "sip");
    assert.equal(session.request?.headers.get("sec-websocket-protocol"), "chat, ,xmpp ,\tsip");
  });

  test("WebSocketSession accepts header names and tokens in any case, and Connection with other options", () => {
    const session = new WebSocketSession({ maxMessageSize: 65536 });
    const request = "GET / HTTP/1.1\r\nhost: h\r\nUPGRADE: WebSocket\r\nconnection: keep-alive, upgrade\r\n" +
      `sec-websocket-key:${EXAMPLE_KEY}\r\nsec-websocket-protocol: sip\r\nsec-websocket-version:   13  \r\n\r\n`;
    assert.equal(httpResponse(session.push(encoder.encode(request)).write[0]).status, 101);
  });

  test("WebSocketSession accepts HTTP/1.2, an absolute-form target, Content-Length: 0 and skips empty lines first", () => {
    const session = new WebSocketSession({ maxMessageSize: 65536 });
    const request = "\r\n\r\n" + upgradeRequest({ "Content-Length": "0" }, "GET ws://sip.example.com/a/b?c=d HTTP/1.2");
    const out = session.push(concat(encoder.encode(request), clientFrame(0x1, "after the head")));
    assert.equal(httpResponse(out.write[0]).status, 101);
    assert.deepEqual(out.messages, [encoder.encode("after the head")]);
    assert.equal(session.request?.path, "/a/b?c=d");
  });

  test("WebSocketSession reads a request head fed a byte at a time", () => {
    const session = new WebSocketSession({ maxMessageSize: 65536 });
    const out = pushAll(session, bytewise(encoder.encode("\r\n" + upgradeRequest())));
    assert.equal(out.write.length, 1);
    assert.equal(httpResponse(out.write[0]).headers.get("sec-websocket-accept"), EXAMPLE_ACCEPT);
    assert.equal(session.state, "open");
  });

  test("WebSocketSession reads the frames that follow the request head in the same chunk", () => {
    const session = new WebSocketSession({ maxMessageSize: 65536 });
    const out = session.push(concat(
      encoder.encode(upgradeRequest()),
      clientFrame(0x1, "REGISTER"),
      clientFrame(0x9, "p"),
      clientFrame(0x1, "OPT", { fin: false }),
    ));
    assert.equal(httpResponse(out.write[0]).status, 101);
    assert.deepEqual(out.messages.map((m) => decoder.decode(m)), ["REGISTER"]);
    assert.deepEqual(serverFrames(out.write[1]).map((f) => [f.opcode, decoder.decode(f.payload)]), [[0xa, "p"]]);
    assert.deepEqual(session.push(clientFrame(0x0, "IONS")).messages.map((m) => decoder.decode(m)), ["OPTIONS"]);
  });

  test("WebSocketSession refuses Sec-WebSocket-Version 8 with 426 and Sec-WebSocket-Version: 13", () => {
    const response = refused(upgradeRequest({ "Sec-WebSocket-Version": "8" }), 426);
    assert.equal(response.headers.get("sec-websocket-version"), "13");
    assert.equal(response.headers.get("upgrade"), "websocket");
    assert.equal(response.headers.get("connection"), "Upgrade, close");
    assert.equal(response.body, "Sec-WebSocket-Version 8 is not 13\n");
    const session = new WebSocketSession({ maxMessageSize: 65536 });
    const out = session.push(encoder.encode(upgradeRequest({ "Sec-WebSocket-Version": "8" })));
    assert.equal(out.reason, "handshake refused: 426 Sec-WebSocket-Version 8 is not 13");
  });

  test("WebSocketSession refuses a missing or repeated Sec-WebSocket-Version with 426", () => {
    const missing = refused(upgradeRequest({ "Sec-WebSocket-Version": null }), 426);
    assert.equal(missing.headers.get("sec-websocket-version"), "13");
    assert.equal(missing.body, "Sec-WebSocket-Version is missing (13 is required)\n");
    const repeated = upgradeRequest().replace("\r\n\r\n", "\r\nSec-WebSocket-Version: 13\r\n\r\n");
    assert.equal(refused(repeated, 426).body, "Sec-WebSocket-Version 13, 13 is not 13\n");
  });

  test("WebSocketSession refuses a plain HTTP GET with 426 Upgrade Required: SIP over WebSocket only", () => {
    const response = refused("GET / HTTP/1.1\r\nHost: sip.example.com\r\nAccept: text/html\r\n\r\n", 426);
    assert.equal(response.headers.get("upgrade"), "websocket");
    assert.equal(response.headers.get("connection"), "Upgrade, close");
    assert.match(response.body, /^SIP over WebSocket only \(RFC 7118\)/);
    // An Upgrade to something else is no better.
    refused(upgradeRequest({ Upgrade: "h2c" }), 426);
    // Frames after a refused head, in the same chunk, are not read (refused() checks for no messages).
    refused(concat(encoder.encode("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), clientFrame(0x1, "x"), clientFrame(0x9)), 426);
  });

  test("WebSocketSession refuses a method other than GET with 405 and Allow: GET", () => {
    const response = refused(upgradeRequest({}, "POST /ws HTTP/1.1"), 405);
    assert.equal(response.headers.get("allow"), "GET");
    assert.equal(response.headers.get("connection"), "close");
    assert.equal(response.body, "method POST is not GET (RFC 6455 §4.1)\n");
    refused(upgradeRequest({}, "get /ws HTTP/1.1"), 405); // methods are case-sensitive
  });

  test("WebSocketSession refuses 400 when the sip subprotocol is not offered (RFC 7118 §4)", () => {
    assert.equal(
      refused(upgradeRequest({ "Sec-WebSocket-Protocol": null }), 400).body,
      "the sip subprotocol is not offered (RFC 7118 §4)\n",
    );
    refused(upgradeRequest({ "Sec-WebSocket-Protocol": "chat, superchat" }), 400);
    refused(upgradeRequest({ "Sec-WebSocket-Protocol": "sips" }), 400);
  });

  test("WebSocketSession refuses 400 without the upgrade option in Connection", () => {
    assert.match(refused(upgradeRequest({ Connection: null }), 400).body, /^Connection does not list upgrade/);
    refused(upgradeRequest({ Connection: "keep-alive" }), 400);
  });

  test("WebSocketSession refuses 400 a missing, malformed or repeated Sec-WebSocket-Key", () => {
    assert.match(refused(upgradeRequest({ "Sec-WebSocket-Key": null }), 400).body, /^Sec-WebSocket-Key is missing/);
    for (
      const key of [
        "dGhlIHNhbXBsZSBub25jZQ",
        "dGhlIHNhbXBsZSBub25j",
        "dGhlIHNhbXBsZSBub25jZSE=",
        "dGhl*HNhbXBsZSBub25jZQ==",
      ]
    ) {
      assert.match(
        refused(upgradeRequest({ "Sec-WebSocket-Key": key }), 400).body,
        /^Sec-WebSocket-Key is not 16 bytes/,
        key,
      );
    }
    refused(upgradeRequest().replace("\r\n\r\n", `\r\nSec-WebSocket-Key: ${EXAMPLE_KEY}\r\n\r\n`), 400);
  });

  test("WebSocketSession refuses 400 a missing or repeated Host", () => {
    assert.equal(refused(upgradeRequest({ Host: null }), 400).body, "Host is missing\n");
    assert.equal(refused(upgradeRequest().replace("\r\n\r\n", "\r\nHost: b\r\n\r\n"), 400).body, "Host is repeated\n");
  });

  test("WebSocketSession refuses 400 an upgrade request with a body", () => {
    refused(upgradeRequest({ "Content-Length": "5" }) + "hello", 400);
    refused(upgradeRequest({ "Transfer-Encoding": "chunked" }), 400);
  });

  test("WebSocketSession refuses 400 a malformed request line or header line", () => {
    for (
      const line of [
        "GET /ws",
        "GET  /ws HTTP/1.1",
        "GET /ws HTTP/1.1 ",
        "GET /w s HTTP/1.1",
        "GET ws HTTP/1.1",
        "GET * HTTP/1.1",
        "GET /ws HTTPS/1.1",
        "GET /ws HTTP/11",
      ]
    ) {
      assert.equal(
        refused(upgradeRequest({}, line), 400).body,
        line.startsWith("GET ws") || line.startsWith("GET *")
          ? "the request target is not a path\n"
          : "malformed request line\n",
        line,
      );
    }
    for (
      const field of ["Host : h", " folded", "\tfolded", "NoColon", "X-Nul: a\0b", "X-Cr: a\rb", ": empty", "X Y: z"]
    ) {
      const request = upgradeRequest().replace("\r\n\r\n", `\r\n${field}\r\n\r\n`);
      assert.match(refused(request, 400).body, /^malformed header field line \d+$/m, JSON.stringify(field));
    }
  });

  test("WebSocketSession refuses HTTP/1.0 with 400 and HTTP/2.0 with 505", () => {
    assert.match(refused(upgradeRequest({}, "GET /ws HTTP/1.0"), 400).body, /needs HTTP\/1\.1/);
    refused(upgradeRequest({}, "GET /ws HTTP/2.0"), 505);
  });

  test("WebSocketSession refuses a request head over maxHandshakeSize with 431 as soon as it cannot fit", () => {
    const options = { maxMessageSize: 65536, maxHandshakeSize: 300 };
    const fits = upgradeRequest({ "X-Pad": "" });
    const exact = upgradeRequest({ "X-Pad": "x".repeat(300 - fits.length) });
    assert.equal(exact.length, 300);
    const session = new WebSocketSession(options);
    assert.equal(httpResponse(session.push(encoder.encode(exact)).write[0]).status, 101);

    const over = upgradeRequest({ "X-Pad": "x".repeat(301 - fits.length) });
    const response = refused(over, 431, options);
    assert.equal(response.body, "request head over 300 bytes\n");
    // Decided once 300 bytes have come without the empty line, not later.
    const bytewiseSession = new WebSocketSession(options);
    const chunks = bytewise(encoder.encode(over));
    for (let i = 0; i < 299; i++) assert.equal(bytewiseSession.push(chunks[i]).end, false);
    const out = bytewiseSession.push(chunks[299]);
    assert.equal(out.end, true);
    assert.equal(httpResponse(out.write[0]).status, 431);
    // Empty lines before the request line count too.
    refused("\r\n".repeat(100) + fits.slice(0, 150), 431, { maxMessageSize: 65536, maxHandshakeSize: 300 });
    // The default limit is 8192 bytes.
    refused(upgradeRequest({ "X-Pad": "x".repeat(8192) }), 431);
  });

  test("WebSocketSession exposes the request of a refused handshake, and none for an unparsable one", () => {
    const session = new WebSocketSession({ maxMessageSize: 65536 });
    session.push(encoder.encode("GET /x HTTP/1.1\r\nHost: h\r\n\r\n"));
    assert.equal(session.request?.path, "/x");
    assert.equal(session.request?.headers.get("host"), "h");
    const bad = new WebSocketSession({ maxMessageSize: 65536 });
    bad.push(encoder.encode("hello\r\n\r\n"));
    assert.equal(bad.state, "closed");
    assert.equal(bad.request, undefined);
  });

  test("WebSocketSession keeps header bytes 0x80-0xff as Latin-1 text", () => {
    const session = new WebSocketSession({ maxMessageSize: 65536 });
    const text = upgradeRequest({ "User-Agent": "UA" });
    const request = encoder.encode(text);
    const at = text.indexOf(": UA") + 2; // ASCII: the same index in bytes
    request[at] = 0x80;
    request[at + 1] = 0xe9;
    assert.equal(httpResponse(session.push(request).write[0]).status, 101);
    assert.equal(session.request?.headers.get("user-agent"), "\x80\xe9");
  });

  test("WebSocketSession constructor rejects bad limits and a subprotocol that is not a token", () => {
    assert.throws(() => new WebSocketSession({ maxMessageSize: -1 }), RangeError);
    assert.throws(() => new WebSocketSession({ maxMessageSize: 1.5 }), RangeError);
    assert.throws(() => new WebSocketSession({ maxMessageSize: 10, maxHandshakeSize: 0 }), RangeError);
    assert.throws(() => new WebSocketSession({ maxMessageSize: 10, subprotocol: "s i p" }), TypeError);
  });
});

describe("WebSocketSession frames", () => {
  const INVITE =
    "INVITE sip:echo@sip.example.com SIP/2.0\r\nVia: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK56sdasks\r\n" +
    "Content-Length: 0\r\n\r\n";

  test("WebSocketSession.push() reassembles a masked text frame fed in chunks of every size, a byte at a time too", () => {
    const wire = concat(clientFrame(0x1, INVITE), clientFrame(0x1, "é€😀"));
    for (const size of [1, 2, 3, 5, 13, wire.length]) {
      const session = openSession();
      const chunks = [];
      for (let i = 0; i < wire.length; i += size) chunks.push(wire.slice(i, i + size));
      const out = pushAll(session, chunks);
      assert.deepEqual(out.messages.map((m) => decoder.decode(m)), [INVITE, "é€😀"], `chunks of ${size}`);
      assert.deepEqual(out.write, []);
      assert.equal(out.end, false);
    }
  });

  test("WebSocketSession.push() delivers a message only once its last byte has come", () => {
    const session = openSession();
    const frame = clientFrame(0x1, "OPTIONS");
    assert.deepEqual(session.push(frame.subarray(0, frame.length - 1)).messages, []);
    assert.deepEqual(session.push(frame.subarray(frame.length - 1)).messages, [encoder.encode("OPTIONS")]);
  });

  test("WebSocketSession.push() delivers binary messages as they are, and empty messages", () => {
    const session = openSession();
    const binary = new Uint8Array([0xff, 0x00, 0xfe, 0x0d, 0x0a]);
    const out = session.push(concat(clientFrame(0x2, binary), clientFrame(0x1, ""), clientFrame(0x2, "")));
    assert.deepEqual(out.messages, [binary, new Uint8Array(0), new Uint8Array(0)]);
  });

  test("WebSocketSession.push() reads 16-bit and 64-bit payload lengths", () => {
    const session = openSession({ maxMessageSize: 100_000 });
    const medium = "m".repeat(300);
    const large = new Uint8Array(70_000).map((_, i) => i & 0x7f);
    const out = pushAll(session, [clientFrame(0x1, medium), ...bytewise(clientFrame(0x2, large))]);
    assert.equal(decoder.decode(out.messages[0]), medium);
    assert.deepEqual(out.messages[1], large);
  });

  test("WebSocketSession.push() reassembles a fragmented message (RFC 6455 §5.4)", () => {
    const session = openSession();
    // "€" split between fragments is valid once whole: UTF-8 is checked on the message.
    const euro = encoder.encode("€");
    const out = pushAll(session, [
      clientFrame(0x1, concat(encoder.encode("MESSAGE sip:a "), euro.subarray(0, 1)), { fin: false }),
      clientFrame(0x0, euro.subarray(1), { fin: false }),
      clientFrame(0x0, "", { fin: false }),
      ...bytewise(clientFrame(0x0, " SIP/2.0")),
    ]);
    assert.deepEqual(out.messages.map((m) => decoder.decode(m)), ["MESSAGE sip:a € SIP/2.0"]);
    // The next message starts afresh.
    assert.deepEqual(session.push(clientFrame(0x2, new Uint8Array([1]))).messages, [new Uint8Array([1])]);
  });

  test("WebSocketSession.push() answers a ping with a pong of the same payload and ignores pongs", () => {
    const session = openSession();
    const out = pushAll(session, [
      clientFrame(0x9, "keepalive-1"),
      clientFrame(0xa, "unsolicited"),
      ...bytewise(clientFrame(0x9, "x".repeat(125))),
      clientFrame(0x9),
    ]);
    const pongs = out.write.flatMap((bytes) => serverFrames(bytes));
    assert.deepEqual(pongs.map((f) => [f.fin, f.rsv, f.opcode, decoder.decode(f.payload)]), [
      [true, 0, 0xa, "keepalive-1"],
      [true, 0, 0xa, "x".repeat(125)],
      [true, 0, 0xa, ""],
    ]);
    assert.deepEqual(out.messages, []);
    assert.equal(out.end, false);
  });

  test("WebSocketSession.push() answers a ping that comes between the fragments of a message", () => {
    const session = openSession();
    const out = session.push(concat(
      clientFrame(0x1, "BYE sip:", { fin: false }),
      clientFrame(0x9, "mid"),
      clientFrame(0x0, "a@b", { fin: false }),
      clientFrame(0xa, "pong too"),
      clientFrame(0x0, " SIP/2.0"),
    ));
    assert.deepEqual(out.messages.map((m) => decoder.decode(m)), ["BYE sip:a@b SIP/2.0"]);
    assert.deepEqual(serverFrames(out.write[0]).map((f) => [f.opcode, decoder.decode(f.payload)]), [[0xa, "mid"]]);
  });

  const protocolErrors: [string, Uint8Array, string][] = [
    ["an unmasked client frame", clientFrame(0x1, "hi", { masked: false }), "unmasked client frame (RFC 6455 §5.1)"],
    ["RSV1 set", clientFrame(0x1, "hi", { rsv: 4 }), "RSV bit set with no extension negotiated (RFC 6455 §5.2)"],
    ["RSV2 set", clientFrame(0x1, "hi", { rsv: 2 }), "RSV bit set with no extension negotiated (RFC 6455 §5.2)"],
    [
      "RSV3 set on a ping",
      clientFrame(0x9, "", { rsv: 1 }),
      "RSV bit set with no extension negotiated (RFC 6455 §5.2)",
    ],
    ...[0x3, 0x4, 0x5, 0x6, 0x7, 0xb, 0xc, 0xd, 0xe, 0xf].map((op): [string, Uint8Array, string] => [
      `reserved opcode ${op}`,
      clientFrame(op, "x"),
      `reserved opcode 0x${op.toString(16)} (RFC 6455 §5.2)`,
    ]),
    ["a ping of 126 bytes", clientFrame(0x9, "p".repeat(126)), "control frame payload over 125 bytes (RFC 6455 §5.5)"],
    [
      "a close of 126 bytes",
      clientFrame(0x8, closePayload(1000, "r".repeat(124))),
      "control frame payload over 125 bytes (RFC 6455 §5.5)",
    ],
    ["a fragmented ping", clientFrame(0x9, "p", { fin: false }), "fragmented control frame (RFC 6455 §5.5)"],
    [
      "a continuation with no message",
      clientFrame(0x0, "x"),
      "continuation frame with no message in progress (RFC 6455 §5.4)",
    ],
    [
      "a text frame inside a fragmented message",
      concat(clientFrame(0x1, "a", { fin: false }), clientFrame(0x1, "b")),
      "new data frame inside a fragmented message (RFC 6455 §5.4)",
    ],
    [
      "a binary frame inside a fragmented message",
      concat(clientFrame(0x2, "a", { fin: false }), clientFrame(0x9, "p"), clientFrame(0x2, "b")),
      "new data frame inside a fragmented message (RFC 6455 §5.4)",
    ],
    [
      "a 64-bit length with its top bit set",
      new Uint8Array([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, ...MASK]),
      "64-bit payload length with the top bit set (RFC 6455 §5.2)",
    ],
    [
      "a close with a 1-byte payload",
      clientFrame(0x8, new Uint8Array([3])),
      "close frame with a 1-byte payload (RFC 6455 §5.5.1)",
    ],
    ...[0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535].map((code): [string, Uint8Array, string] => [
      `a close with code ${code}`,
      clientFrame(0x8, closePayload(code)),
      `invalid close code ${code} (RFC 6455 §7.4)`,
    ]),
  ];
  for (const [what, wire, why] of protocolErrors) {
    test(`WebSocketSession.push() fails the connection with 1002 on ${what}`, () => {
      const session = openSession();
      const out = pushAll(session, bytewise(wire));
      assert.deepEqual(closeSent(out), { code: 1002, reason: why });
      assert.equal(out.reason, `close 1002: ${why}`);
      assert.deepEqual(out.messages, []);
      assert.equal(session.state, "closed");
    });
  }

  test("WebSocketSession.push() delivers the messages before a protocol error in the same chunk", () => {
    const session = openSession();
    const out = session.push(
      concat(clientFrame(0x1, "one"), clientFrame(0x9, "p"), clientFrame(0x1, "x", { masked: false })),
    );
    assert.deepEqual(out.messages, [encoder.encode("one")]);
    assert.equal(out.write.length, 2);
    assert.equal(serverFrames(out.write[0])[0].opcode, 0xa);
    assert.equal(closeSent(out).code, 1002);
  });

  test("WebSocketSession.push() fails with 1007 on a text message that is not UTF-8 (RFC 6455 §8.1)", () => {
    for (const bad of [[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xf4, 0x90, 0x80, 0x80]]) {
      const session = openSession();
      const out = session.push(concat(clientFrame(0x1, "ok"), clientFrame(0x1, new Uint8Array(bad))));
      assert.deepEqual(out.messages, [encoder.encode("ok")]);
      assert.deepEqual(closeSent(out), { code: 1007, reason: "text message is not valid UTF-8 (RFC 6455 §8.1)" });
      assert.equal(session.state, "closed");
    }
    // Across fragments: the whole message is what counts.
    const session = openSession();
    const out = session.push(
      concat(clientFrame(0x1, new Uint8Array([0xe2, 0x82]), { fin: false }), clientFrame(0x0, "x")),
    );
    assert.equal(closeSent(out).code, 1007);
  });

  test("WebSocketSession.push() fails with 1007 on a close reason that is not UTF-8", () => {
    const session = openSession();
    const out = session.push(clientFrame(0x8, closePayload(1000, new Uint8Array([0x62, 0xff]))));
    assert.deepEqual(closeSent(out), { code: 1007, reason: "close reason is not valid UTF-8 (RFC 6455 §5.5.1)" });
  });

  test("WebSocketSession.push() fails with 1009 on a 16 MiB frame header, before any payload", () => {
    const session = openSession({ maxMessageSize: 65536 });
    // FIN, binary; masked, 64-bit length 0x0000000001000000 (16 MiB); the mask key. 14 bytes.
    const header = new Uint8Array([0x82, 0xff, 0, 0, 0, 0, 0x01, 0, 0, 0, ...MASK]);
    assert.equal(header.length, 14);
    const out = session.push(header);
    assert.deepEqual(closeSent(out), {
      code: 1009,
      reason: "message of 16777216 bytes or more, over the limit of 65536",
    });
    assert.equal(out.reason, "close 1009: message of 16777216 bytes or more, over the limit of 65536");
    assert.equal(session.state, "closed");
    // The payload that follows is not read.
    assert.deepEqual(session.push(new Uint8Array(1 << 16)), { write: [], messages: [], end: true });
  });

  test("WebSocketSession.push() decides 1009 from the header a byte at a time, and takes exactly maxMessageSize", () => {
    const session = openSession({ maxMessageSize: 300 });
    assert.deepEqual(session.push(clientFrame(0x2, new Uint8Array(300))).messages, [new Uint8Array(300)]);
    const wire = clientFrame(0x2, new Uint8Array(301));
    const out = pushAll(session, bytewise(wire.subarray(0, 8))); // 2 + 2 of length + 4 of mask
    assert.equal(closeSent(out).code, 1009);
  });

  test("WebSocketSession.push() fails with 1009 when the fragments together go over maxMessageSize", () => {
    const session = openSession({ maxMessageSize: 100 });
    const out = session.push(concat(
      clientFrame(0x1, "a".repeat(60), { fin: false }),
      clientFrame(0x9, "ping: control frames do not count"),
      clientFrame(0x0, "b".repeat(40), { fin: false }),
      clientFrame(0x0, "c"),
    ));
    assert.equal(out.write.length, 2);
    assert.deepEqual(closeSent(out), { code: 1009, reason: "message of 101 bytes or more, over the limit of 100" });
    assert.deepEqual(out.messages, []);
  });

  test("WebSocketSession.push() answers a client close by echoing its status code, then ends", () => {
    const session = openSession();
    const out = session.push(
      concat(clientFrame(0x1, "last"), clientFrame(0x8, closePayload(1000, "bye")), clientFrame(0x1, "after")),
    );
    assert.deepEqual(out.messages, [encoder.encode("last")]);
    assert.deepEqual(closeSent(out), { code: 1000, reason: "" });
    assert.equal(out.reason, 'closed by the client: 1000 "bye"');
    assert.equal(session.state, "closed");
    assert.deepEqual(session.push(clientFrame(0x1, "later")), { write: [], messages: [], end: true });
  });

  test("WebSocketSession.push() answers a close with no status code with an empty close", () => {
    const session = openSession();
    const out = pushAll(session, bytewise(clientFrame(0x8)));
    assert.deepEqual(closeSent(out), { code: undefined, reason: "" });
    assert.equal(out.reason, "closed by the client: no status code");
  });

  test("WebSocketSession.push() echoes every close code a client may send", () => {
    for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4000, 4999]) {
      const session = openSession();
      const out = session.push(clientFrame(0x8, closePayload(code, "ünïcode")));
      assert.deepEqual(closeSent(out), { code, reason: "" });
    }
  });

  test("WebSocketSession.push() answers a close in the middle of a fragmented message", () => {
    const session = openSession();
    const out = session.push(concat(clientFrame(0x1, "half", { fin: false }), clientFrame(0x8, closePayload(1001))));
    assert.deepEqual(out.messages, []);
    assert.equal(closeSent(out).code, 1001);
  });
});

describe("WebSocketSession chunking", () => {
  test("WebSocketSession.push() gives the same output however a stream is cut (seeded random cuts)", () => {
    const wire = concat(
      encoder.encode(upgradeRequest()),
      clientFrame(0x1, "REGISTER sip:a SIP/2.0\r\n\r\n"),
      clientFrame(0x9, "ka"),
      clientFrame(0x2, new Uint8Array(300).fill(0xfe), { fin: false }),
      clientFrame(0xa),
      clientFrame(0x0, new Uint8Array(70_000).fill(1)),
      clientFrame(0x1, ""),
      clientFrame(0x8, closePayload(1000, "done")),
    );
    const whole = new WebSocketSession({ maxMessageSize: 100_000 }).push(wire);
    assert.equal(whole.messages.length, 3);
    assert.equal(whole.write.length, 3); // 101, pong, close
    let seed = 20261205;
    const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 0x100000000;
    for (let round = 0; round < 50; round++) {
      const chunks = [];
      for (let at = 0; at < wire.length;) {
        const size = 1 + Math.floor(random() * (random() < 0.5 ? 8 : 4096));
        chunks.push(wire.slice(at, at + size));
        at += size;
      }
      const out = pushAll(new WebSocketSession({ maxMessageSize: 100_000 }), chunks);
      assert.deepEqual(out, whole, `round ${round}`);
    }
  });
});

describe("WebSocketSession.close()", () => {
  test("WebSocketSession.close() sends a close frame with the code and reason and goes to closing", () => {
    const session = openSession();
    const frame = session.close(1001, "shutting down");
    assert.deepEqual(
      serverFrames(frame).map((f) => [f.opcode, f.fin, [...f.payload]]),
      [[0x8, true, [...closePayload(1001, "shutting down")]]],
    );
    assert.equal(session.state, "closing");
    assert.deepEqual(serverFrames(openSession().close()).map((f) => [...f.payload]), [[0x03, 0xe8]]);
  });

  test("WebSocketSession.close() drops later data frames and pings, and the client's close ends it", () => {
    const session = openSession();
    session.push(clientFrame(0x1, "in prog", { fin: false }));
    session.close();
    const out = pushAll(session, [
      ...bytewise(clientFrame(0x0, "ress")),
      clientFrame(0x1, "dropped"),
      clientFrame(0x9, "no pong after our close"),
      clientFrame(0x2, new Uint8Array(1_000_000)), // over maxMessageSize, but skipped, not kept
    ]);
    assert.deepEqual(out, { write: [], messages: [], end: false });
    assert.equal(session.state, "closing");
    const done = session.push(concat(clientFrame(0x8, closePayload(1000)), clientFrame(0x1, "after")));
    assert.deepEqual(done, {
      write: [],
      messages: [],
      end: true,
      reason: "close handshake done: the client answered 1000",
    });
    assert.equal(session.state, "closed");
  });

  test("WebSocketSession.close() in the middle of a frame's payload skips the rest of it", () => {
    const session = openSession();
    const frame = clientFrame(0x1, "a whole message that is cut");
    assert.deepEqual(session.push(frame.subarray(0, 10)).messages, []);
    session.close(1000);
    const out = session.push(concat(frame.subarray(10), clientFrame(0x8, closePayload(1000))));
    assert.deepEqual(out.messages, []);
    assert.equal(out.end, true);
  });

  test("WebSocketSession.close() then a protocol error ends without a second close frame", () => {
    const session = openSession();
    session.close();
    const out = session.push(clientFrame(0x1, "x", { masked: false }));
    assert.deepEqual(out.write, []);
    assert.equal(out.end, true);
    assert.equal(
      out.reason,
      "close 1002: unmasked client frame (RFC 6455 §5.1), after our close frame (no second one sent)",
    );
  });

  test("WebSocketSession.close() rejects a code an endpoint may not send and a reason over 123 bytes", () => {
    const session = openSession();
    for (const code of [999, 1004, 1005, 1006, 1015, 2000, 5000, 1000.5]) {
      assert.throws(() => session.close(code), RangeError, String(code));
    }
    assert.throws(() => session.close(1000, "é".repeat(62)), RangeError);
    assert.equal(session.state, "open");
    assert.equal(serverFrames(session.close(4000, "r".repeat(123)))[0].payload.length, 125);
  });

  test("WebSocketSession.close() gives nothing to write before the handshake or once closing", () => {
    const before = new WebSocketSession({ maxMessageSize: 100 });
    assert.deepEqual(before.close(), new Uint8Array(0));
    assert.equal(before.state, "closed");
    assert.deepEqual(before.push(encoder.encode(upgradeRequest())), { write: [], messages: [], end: true });
    const session = openSession();
    session.close();
    assert.deepEqual(session.close(), new Uint8Array(0));
    assert.equal(session.state, "closing");
  });
});

describe("WebSocketSession.frame()", () => {
  test("WebSocketSession.frame() round-trips 0, 125, 126, 65535 and 65536 bytes with the shortest length", () => {
    const session = openSession();
    for (const [size, headerLength] of [[0, 2], [125, 2], [126, 4], [65535, 4], [65536, 10]]) {
      const text = "s".repeat(size);
      const frames = serverFrames(session.frame(encoder.encode(text)));
      assert.equal(frames.length, 1);
      const [{ fin, rsv, opcode, payload, headerLength: got }] = frames;
      assert.deepEqual([fin, rsv, opcode, got], [true, 0, 0x1, headerLength], `${size} bytes`);
      assert.equal(decoder.decode(payload), text);
    }
  });

  test("WebSocketSession.frame() makes a text frame of valid UTF-8 and a binary frame of anything else", () => {
    const session = openSession();
    const sip = encoder.encode("MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 4\r\n\r\nñ€");
    assert.equal(serverFrames(session.frame(sip))[0].opcode, 0x1);
    const binary = concat(
      encoder.encode("MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 2\r\n\r\n"),
      new Uint8Array([0xff, 0]),
    );
    const [frame] = serverFrames(session.frame(binary));
    assert.equal(frame.opcode, 0x2);
    assert.deepEqual(frame.payload, binary);
    assert.equal(serverFrames(session.frame(new Uint8Array(70_000).fill(0x80)))[0].opcode, 0x2);
  });

  test("WebSocketSession.frame() gives nothing to write unless the session is open", () => {
    const session = new WebSocketSession({ maxMessageSize: 100 });
    assert.equal(session.frame(encoder.encode("x")).length, 0);
    const open = openSession();
    open.close();
    assert.equal(open.frame(encoder.encode("x")).length, 0);
  });
});
