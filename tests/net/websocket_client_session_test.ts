// The client side of the WebSocket codec (RFC 6455 §4.1, §5.1, §5.3; RFC 7118 §4), without sockets:
// the upgrade request it writes, the server's answer it checks (the accept value computed here with
// node:crypto, apart from the codec), its masked frames, and the server frames it reads.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { WebSocketSession } from "../../src/net/websocket.ts";
import { clientFrame, concat, decoder, encoder } from "./_websocket_client.ts";

const acceptOf = (key: string) =>
  createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");

/** A client session and the key of the upgrade request it wrote. */
function client(path?: string) {
  const session = new WebSocketSession({ maxMessageSize: 65535, client: { host: "192.0.2.5:8080", path } });
  const request = decoder.decode(session.upgradeRequest);
  const key = /\r\nSec-WebSocket-Key: ([^\r]+)\r\n/.exec(request)?.[1] ?? "";
  return { session, request, key };
}

/** The server's 101, with `fields` replacing (null: removing) the usual ones. */
function switching(key: string, fields: Record<string, string | null> = {}): Uint8Array {
  const all: Record<string, string | null> = {
    Upgrade: "websocket",
    Connection: "Upgrade",
    "Sec-WebSocket-Accept": acceptOf(key),
    "Sec-WebSocket-Protocol": "sip",
    ...fields,
  };
  const lines = Object.entries(all).filter(([, v]) => v !== null).map(([k, v]) => `${k}: ${v}\r\n`);
  return encoder.encode(`HTTP/1.1 101 Switching Protocols\r\n${lines.join("")}\r\n`);
}

/** Reads one masked frame as a server would: opcode and unmasked payload; fails if it is not masked. */
function readMasked(frame: Uint8Array): { opcode: number; payload: Uint8Array; key: Uint8Array } {
  assert.equal(frame[1] & 0x80, 0x80, "a client frame is masked (RFC 6455 §5.1)");
  let n = frame[1] & 0x7f;
  let at = 2;
  if (n === 126) {
    n = (frame[2] << 8) | frame[3];
    at = 4;
  }
  const key = frame.slice(at, at + 4);
  const payload = frame.slice(at + 4).map((b, i) => b ^ key[i & 3]);
  assert.equal(payload.length, n);
  return { opcode: frame[0] & 0x0f, payload, key };
}

describe("WebSocketSession, client side", () => {
  test("writes an upgrade request: GET path, Host, a fresh 16-byte key, version 13, the sip subprotocol", () => {
    const { session, request, key } = client("/sip");
    assert.equal(session.state, "handshake");
    assert.match(request, /^GET \/sip HTTP\/1\.1\r\nHost: 192\.0\.2\.5:8080\r\n/);
    assert.match(request, /\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n/);
    assert.match(request, /\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: sip\r\n\r\n$/);
    assert.equal(atob(key).length, 16);
    assert.notEqual(client().key, key, "a new key each time");
    assert.match(client().request, /^GET \/ HTTP\/1\.1\r\n/, "path / by default");
    assert.equal(new WebSocketSession({ maxMessageSize: 10 }).upgradeRequest, undefined, "none on the server side");
  });

  test("reads the 101 and a server frame in one chunk; its own frames are masked, each with its own key", () => {
    const { session, key } = client();
    const out = session.push(concat(switching(key), clientFrame(0x1, "SIP/2.0 200 OK", { masked: false })));
    assert.equal(out.end, false);
    assert.equal(session.state, "open");
    assert.deepEqual(out.messages.map((m) => decoder.decode(m)), ["SIP/2.0 200 OK"]);
    const message = "OPTIONS sip:a@b SIP/2.0\r\n".repeat(8);
    const first = readMasked(session.frame(encoder.encode(message)));
    assert.equal(first.opcode, 0x1);
    assert.equal(decoder.decode(first.payload), message);
    const second = readMasked(session.frame(encoder.encode(message)));
    assert.notDeepEqual(second.key, first.key);
  });

  test("answers a ping with a masked pong and a server's close with a masked close", () => {
    const { session, key } = client();
    session.push(switching(key));
    const ping = session.push(clientFrame(0x9, "hb", { masked: false }));
    const pong = readMasked(ping.write[0]);
    assert.equal(pong.opcode, 0xa);
    assert.equal(decoder.decode(pong.payload), "hb");
    const closed = session.push(clientFrame(0x8, new Uint8Array([0x03, 0xe8]), { masked: false }));
    assert.equal(closed.end, true);
    assert.equal(closed.reason, "closed by the server: 1000");
    assert.deepEqual(readMasked(closed.write[0]).payload, new Uint8Array([0x03, 0xe8]));
  });

  test("a masked server frame fails the connection with 1002 (RFC 6455 §5.1)", () => {
    const { session, key } = client();
    session.push(switching(key));
    const out = session.push(clientFrame(0x1, "hi"));
    assert.equal(out.end, true);
    assert.equal(out.reason, "close 1002: masked server frame (RFC 6455 §5.1)");
    assert.equal(readMasked(out.write[0]).opcode, 0x8);
  });

  test("refuses an answer that is not 101, has a wrong accept, or does not choose sip; nothing is written", () => {
    const cases: [(key: string) => Uint8Array, RegExp][] = [
      [() => encoder.encode("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"), /answered 403 Forbidden, not 101/],
      [(key) => switching(key, { "Sec-WebSocket-Accept": acceptOf("x") }), /wrong or no Sec-WebSocket-Accept/],
      [(key) => switching(key, { "Sec-WebSocket-Protocol": null }), /did not accept the "sip" subprotocol/],
      [
        (key) => switching(key, { "Sec-WebSocket-Protocol": "msrp" }),
        /"sip" subprotocol \(RFC 7118 §4\): it chose "msrp"/,
      ],
      [(key) => switching(key, { Upgrade: null }), /no Upgrade: websocket/],
      [() => encoder.encode("SIP/2.0 200 OK\r\n\r\n"), /not an HTTP\/1\.1 response/],
    ];
    for (const [answer, why] of cases) {
      const { session, key } = client();
      const out = session.push(answer(key));
      assert.equal(out.end, true);
      assert.match(out.reason ?? "", /^handshake refused: /);
      assert.match(out.reason ?? "", why);
      assert.deepEqual(out.write, []);
      assert.equal(session.state, "closed");
    }
  });

  test("a response head over maxHandshakeSize (8 KiB by default) ends it, nothing written", () => {
    const { session } = client();
    const out = session.push(encoder.encode("HTTP/1.1 101 Switching Protocols\r\n" + "X-Pad: y\r\n".repeat(900)));
    assert.equal(out.end, true);
    assert.equal(out.reason, "handshake refused: the response head is over 8192 bytes");
    assert.deepEqual(out.write, []);
  });

  test("reads the 101 a byte at a time", () => {
    const { session, key } = client();
    const bytes = switching(key);
    for (const b of bytes) session.push(new Uint8Array([b]));
    assert.equal(session.state, "open");
  });
});
