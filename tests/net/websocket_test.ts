// The WebSocket server codec's frames (RFC 6455 §5, for RFC 7118), bytes in and bytes out: reading,
// reassembling, failing, closing and writing them. The same tests on Deno and on Bun.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { WebSocketSession } from "../../src/net/websocket.ts";
import {
  bytewise,
  clientFrame,
  closePayload,
  closeSent,
  concat,
  decoder,
  encoder,
  MASK,
  openSession,
  pushAll,
  serverFrames,
  upgradeRequest,
} from "./_websocket_client.ts";

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
