// The opening handshake of the WebSocket server codec (RFC 6455 §4, for RFC 7118), bytes in and
// bytes out: the same tests on Deno and on Bun.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { WebSocketSession } from "../../src/net/websocket.ts";
import {
  bytewise,
  clientFrame,
  concat,
  decoder,
  encoder,
  EXAMPLE_ACCEPT,
  EXAMPLE_KEY,
  httpResponse,
  pushAll,
  refused,
  serverFrames,
  upgradeRequest,
} from "./_websocket_client.ts";

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
