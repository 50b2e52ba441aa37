import { test } from "node:test";
import assert from "node:assert/strict";
import { type FramerEvent, StreamFramer } from "../../src/sip/mod.ts";
import { parseMessage, SipParseError } from "../../mod.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const MSG =
  "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nFrom: <sip:x@b>;tag=1\r\nTo: <sip:a@b>\r\n" +
  "Call-ID: c1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 5\r\n\r\nhello";

function texts(events: FramerEvent[]): string[] {
  return events.map((e) => e.type === "message" ? decoder.decode(e.bytes) : "<keepalive>");
}

test("StreamFramer yields whole messages from chunks of every size", () => {
  const wire = encoder.encode(MSG + MSG.replace("c1", "c2") + MSG.replace("c1", "c3"));
  for (const size of [1, 2, 7, 64, wire.length]) {
    const framer = new StreamFramer();
    const events: FramerEvent[] = [];
    for (let i = 0; i < wire.length; i += size) events.push(...framer.push(wire.subarray(i, i + size)));
    assert.deepEqual(texts(events), [MSG, MSG.replace("c1", "c2"), MSG.replace("c1", "c3")], `chunk size ${size}`);
    assert.equal(framer.buffered, 0);
    for (const e of events) {
      if (e.type === "message") assert.equal(parseMessage(e.bytes, { stream: true }).bodyText, "hello");
    }
  }
});

test("StreamFramer skips CRLFs before a start line and reports RFC 5626 keep-alives", () => {
  const framer = new StreamFramer();
  assert.deepEqual(texts(framer.push(encoder.encode("\r\n\r\n"))), ["<keepalive>"]);
  assert.deepEqual(texts(framer.push(encoder.encode("\r\n"))), []);
  assert.deepEqual(texts(framer.push(encoder.encode(MSG + "\r\n\r\n\r\n"))), [MSG, "<keepalive>"]);
  assert.deepEqual(texts(framer.push(encoder.encode("\r\n"))), ["<keepalive>"]);
});

test("StreamFramer requires Content-Length on a stream and refuses input after a framing error", () => {
  const framer = new StreamFramer();
  const noLength = "OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\n\r\n";
  assert.throws(
    () => framer.push(encoder.encode(noLength)),
    (e: unknown) =>
      e instanceof SipParseError && e.status === 400 &&
      e.message === "Cannot frame stream message: Content-Length is required on a stream transport",
  );
  assert.throws(() => framer.push(encoder.encode(MSG)), SipParseError);
});

test("StreamFramer rejects a bad or conflicting Content-Length", () => {
  assert.throws(
    () => new StreamFramer().push(encoder.encode("A sip:a SIP/2.0\r\nl: -5\r\n\r\n")),
    /Content-Length "-5" is not a number/,
  );
  assert.throws(
    () => new StreamFramer().push(encoder.encode("A sip:a SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\n")),
    /conflicting Content-Length values "1" and "2"/,
  );
});

test("StreamFramer bounds what it buffers: a header section or message over the limit gets 513", () => {
  const framer = new StreamFramer({ maxMessageSize: 100 });
  assert.deepEqual(framer.push(encoder.encode("INVITE sip:a@b SIP/2.0\r\nX: " + "a".repeat(50))), []);
  assert.throws(
    () => framer.push(encoder.encode("a".repeat(60))),
    (e: unknown) => e instanceof SipParseError && e.status === 513 && e.limit === "maxMessageSize",
  );
  const big = new StreamFramer({ maxMessageSize: 100 });
  assert.throws(
    () => big.push(encoder.encode("A sip:a SIP/2.0\r\nContent-Length: 1000\r\n\r\n")),
    /is over the limit of 100 bytes/,
  );
});

test("StreamFramer keeps a binary body with CRLFs inside it", () => {
  const head = encoder.encode("MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 6\r\n\r\n");
  const body = new Uint8Array([13, 10, 13, 10, 0, 255]);
  const framer = new StreamFramer();
  const events = framer.push(new Uint8Array([...head, ...body, ...head]));
  assert.equal(events.length, 1);
  assert.deepEqual([...(events[0] as { bytes: Uint8Array }).bytes.subarray(head.length)], [...body]);
  assert.equal(framer.buffered, head.length);
});
