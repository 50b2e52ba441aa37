// serve() at the edge (its public limits, the default) on real loopback sockets: WebSocket
// handshakes and frames written by hand, broken ones too.
// Each test checks that a second, well-behaved client on another source address is still served
// (the peers and their addresses are in _edge_peers.ts). Every port is picked by the system (port
// 0); every wait is bounded; no test asserts a duration, only outcomes within generous bounds;
// every socket is closed in a finally block.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { serve } from "../../src/net/serve.ts";
import {
  ATTACKER,
  decoder,
  encoder,
  GOOD,
  listenOn,
  portOf,
  request,
  runtime,
  SERVER,
  stop,
  TcpPeer,
  until,
} from "./_edge_peers.ts";

// ---------------------------------------------------------------------------------------------
// WebSocket frames written by hand over node:net (RFC 6455), the same answers on every runtime.

/** A client frame: FIN and `opcode` in the first byte (plus `rsv`), masked unless `masked` is false. */
function frame(opcode: number, payload: Uint8Array, options: { masked?: boolean; rsv?: number } = {}): Uint8Array {
  const masked = options.masked ?? true;
  const head: number[] = [0x80 | (options.rsv ?? 0) | opcode];
  const m = masked ? 0x80 : 0;
  if (payload.length < 126) head.push(m | payload.length);
  else if (payload.length < 65536) head.push(m | 126, payload.length >> 8, payload.length & 255);
  else throw new RangeError("frame(): payload too long for this helper");
  const key = [0x12, 0x34, 0x56, 0x78];
  const body = masked ? payload.map((b, i) => b ^ key[i % 4]) : payload;
  return new Uint8Array([...head, ...(masked ? key : []), ...body]);
}

const WS_KEY = "dGhlIHNhbXBsZSBub25jZQ==";

function upgrade(port: number, fields: string[]): string {
  return [
    "GET / HTTP/1.1",
    `Host: ${SERVER}:${port}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Key: ${WS_KEY}`,
    ...fields,
    "",
    "",
  ].join("\r\n");
}

/** The HTTP response head a raw connection received, and the bytes after it. */
function httpResponse(raw: Uint8Array): { head: string; rest: Uint8Array } | undefined {
  const text = decoder.decode(raw);
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) return undefined;
  // The head is ASCII: its characters are its bytes.
  return { head: text.slice(0, end), rest: raw.subarray(end + 4) };
}

/** The server's frames in `bytes` (unmasked, lengths up to 64 KiB): opcode and payload. */
function serverFrames(bytes: Uint8Array): { opcode: number; payload: Uint8Array }[] {
  const frames: { opcode: number; payload: Uint8Array }[] = [];
  let at = 0;
  while (at + 2 <= bytes.length) {
    assert.equal(bytes[at + 1] & 0x80, 0, "a server frame is not masked (RFC 6455 §5.1)");
    let length = bytes[at + 1] & 0x7f;
    let start = at + 2;
    if (length === 126) {
      length = (bytes[at + 2] << 8) | bytes[at + 3];
      start = at + 4;
    }
    if (start + length > bytes.length) break;
    frames.push({ opcode: bytes[at] & 0x0f, payload: bytes.subarray(start, start + length) });
    at = start + length;
  }
  return frames;
}

/** Opens a WebSocket connection by hand from `from` and completes the handshake. */
async function wsOpen(from: string, port: number): Promise<TcpPeer> {
  const c = await TcpPeer.connect(from, port, true);
  await c.write(upgrade(port, ["Sec-WebSocket-Version: 13", "Sec-WebSocket-Protocol: sip"]));
  await until("the 101 answer", () => httpResponse(c.raw) !== undefined);
  assert.match(httpResponse(c.raw)!.head, /^HTTP\/1\.1 101 /);
  return c;
}

/** An OPTIONS in a masked text frame on a raw WebSocket connection, answered 200 in a text frame. */
async function wsOptions(c: TcpPeer, port: number, id: string): Promise<void> {
  const text = request({
    method: "OPTIONS",
    port,
    transport: "WS",
    sentBy: "ws.invalid",
    viaParams: "",
    branch: `z9hG4bK-${id}`,
    callId: id,
  });
  await c.write(frame(0x1, encoder.encode(text)));
  const answered = () =>
    serverFrames(httpResponse(c.raw)!.rest).find((f) => f.opcode === 0x1 && decoder.decode(f.payload).includes(id));
  await until(`the 200 to OPTIONS ${id} over WebSocket`, () => answered() !== undefined);
  assert.match(decoder.decode(answered()!.payload), /^SIP\/2\.0 200 OK\r\n/);
}

describe(`serve() at the edge on ${runtime}: WebSocket`, () => {
  test("serve() answers a WebSocket handshake offering `SIP, chat` 101 with the subprotocol `SIP`", async () => {
    const server = await serve({ listen: listenOn("ws") });
    const port = portOf(server, "ws");
    const c = await TcpPeer.connect(GOOD, port, true);
    try {
      await c.write(upgrade(port, ["Sec-WebSocket-Version: 13", "Sec-WebSocket-Protocol: SIP, chat"]));
      await until("the answer to the handshake", () => httpResponse(c.raw) !== undefined);
      assert.deepEqual(httpResponse(c.raw)!.head.split("\r\n"), [
        "HTTP/1.1 101 Switching Protocols",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
        "Sec-WebSocket-Protocol: SIP",
      ]);
      await wsOptions(c, port, "ws-sip-chat");
    } finally {
      c.close();
      await stop(server);
    }
  });

  test("serve() refuses a WebSocket handshake of Sec-WebSocket-Version 8 with 426 naming version 13", async () => {
    const server = await serve({ listen: listenOn("ws") });
    const port = portOf(server, "ws");
    const c = await TcpPeer.connect(ATTACKER, port, true);
    let good: TcpPeer | undefined;
    try {
      await c.write(upgrade(port, ["Sec-WebSocket-Version: 8", "Sec-WebSocket-Protocol: sip"]));
      await c.serverClose("the server to close the refused connection");
      const head = httpResponse(c.raw)?.head.split("\r\n") ?? [];
      assert.equal(head[0], "HTTP/1.1 426 Upgrade Required");
      assert.ok(head.includes("Sec-WebSocket-Version: 13"), head.join(" | "));
      assert.ok(head.includes("Upgrade: websocket"), head.join(" | "));
      // RFC 9110 §15.5.22: a 426 names the upgrade in Connection; the connection then closes.
      assert.ok(head.some((h) => /^Connection: (.*, )?close$/i.test(h)), head.join(" | "));
      good = await wsOpen(GOOD, port);
      await wsOptions(good, port, "ws-after-426");
    } finally {
      c.close();
      good?.close();
      await stop(server);
    }
  });

  const bad: [string, () => Uint8Array, number][] = [
    ["an unmasked client frame", () => frame(0x1, encoder.encode("OPTIONS"), { masked: false }), 1002],
    ["a frame of reserved opcode 0x3", () => frame(0x3, encoder.encode("x")), 1002],
    ["a frame with RSV1 set and no extension", () => frame(0x1, encoder.encode("x"), { rsv: 0x40 }), 1002],
    ["a ping of 200 bytes (over 125)", () => frame(0x9, new Uint8Array(200).fill(0x61)), 1002],
    ["a text frame that is not UTF-8", () => frame(0x1, new Uint8Array([0x61, 0xc3, 0x28, 0x62])), 1007],
    [
      "a frame header announcing 16 MiB, without its payload",
      () => new Uint8Array([0x82, 0x80 | 127, 0, 0, 0, 0, 0x01, 0, 0, 0, 0x12, 0x34, 0x56, 0x78]),
      1009,
    ],
  ];
  for (const [what, bytes, code] of bad) {
    test(`serve() closes a WebSocket connection that sends ${what} with ${code}, and serves another`, async () => {
      const server = await serve({ listen: listenOn("ws") });
      const port = portOf(server, "ws");
      const c = await wsOpen(ATTACKER, port);
      let good: TcpPeer | undefined;
      try {
        await c.write(bytes());
        await c.serverClose(`the server to close the connection after ${what}`);
        const frames = serverFrames(httpResponse(c.raw)!.rest);
        assert.deepEqual(frames.map((f) => f.opcode), [0x8], "one close frame, nothing else");
        const payload = frames[0].payload;
        assert.equal((payload[0] << 8) | payload[1], code);
        good = await wsOpen(GOOD, port);
        await wsOptions(good, port, "ws-good");
      } finally {
        c.close();
        good?.close();
        await stop(server);
      }
    });
  }
});
