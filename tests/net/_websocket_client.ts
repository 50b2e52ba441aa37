// The client side of the WebSocket codec's tests, written here so that the codec is not tested
// against itself: upgrade requests, masked client frames, and readers of what the server writes.
import assert from "node:assert/strict";
import { type WebSocketOutput, WebSocketSession, type WebSocketSessionOptions } from "../../src/net/websocket.ts";

export const encoder = new TextEncoder();
export const decoder = new TextDecoder();

export const EXAMPLE_KEY = "dGhlIHNhbXBsZSBub25jZQ=="; // RFC 6455 §1.3
export const EXAMPLE_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
export const MASK = [0x37, 0xfa, 0x21, 0x3d];

/** An upgrade request: the usual fields, with `fields` replacing (or, when null, removing) them. */
export function upgradeRequest(fields: Record<string, string | null> = {}, requestLine = "GET /ws HTTP/1.1"): string {
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

export interface ClientFrameOptions {
  fin?: boolean;
  /** RSV1-3 as a 3-bit number (4: RSV1). */
  rsv?: number;
  masked?: boolean;
}

/** A client frame (RFC 6455 §5.2): masked unless told, the shortest length encoding. */
export function clientFrame(
  opcode: number,
  payload: Uint8Array | string = "",
  options: ClientFrameOptions = {},
): Uint8Array {
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

export function closePayload(code: number, reason: Uint8Array | string = ""): Uint8Array {
  const text = typeof reason === "string" ? encoder.encode(reason) : reason;
  return new Uint8Array([code >>> 8, code & 0xff, ...text]);
}

export interface ServerFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  payload: Uint8Array;
  headerLength: number;
}

/** Reads the server's frames as a client would, checking they are unmasked and shortest-length. */
export function serverFrames(bytes: Uint8Array): ServerFrame[] {
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

export function concat(...parts: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length;
  }
  return all;
}

/** The close frame the output ends with: its status code and reason. */
export function closeSent(out: WebSocketOutput): { code: number | undefined; reason: string } {
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

export interface HttpResponse {
  status: number;
  headers: Map<string, string>;
  body: string;
}

export function httpResponse(bytes: Uint8Array): HttpResponse {
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
export function pushAll(session: WebSocketSession, chunks: Uint8Array[]): WebSocketOutput {
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

export function bytewise(bytes: Uint8Array): Uint8Array[] {
  return [...bytes].map((b) => new Uint8Array([b]));
}

/** A session past its handshake. */
export function openSession(options: { maxMessageSize?: number } = {}): WebSocketSession {
  const session = new WebSocketSession({ maxMessageSize: options.maxMessageSize ?? 65536 });
  const out = session.push(encoder.encode(upgradeRequest()));
  assert.equal(httpResponse(out.write[0]).status, 101);
  assert.equal(session.state, "open");
  return session;
}

/** A refused handshake: its response, checked for what every refusal carries. */
export function refused(
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
