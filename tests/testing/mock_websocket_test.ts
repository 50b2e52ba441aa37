// The mock peer's UAC over WebSocket (RFC 7118) on real loopback sockets, on Deno and on Bun: it
// calls ;transport=ws and ;transport=wss targets (a mock peer, serve()) over its own WebSocket
// client (RFC 6455 §4.1 upgrade with the "sip" subprotocol, masked frames), a wss target trusting
// a CA or a pinned SHA-256 fingerprint. A wrong fingerprint, and a server that does not choose
// the "sip" subprotocol, are refused and say so.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { createHash } from "node:crypto";
import { type ListenTransport, mockPeer, serve, type TrafficEntry } from "../../mod.ts";
import { makeCertificate } from "../../src/net/mod.ts";
import { within } from "../_wait.ts";
import { FAST } from "./_sut.ts";

/** What the callee received: `TRANSPORT METHOD`, in order. */
function ladder(received: readonly TrafficEntry[]): string[] {
  return received.map((e) => `${e.transport} ${e.message.type === "request" ? e.message.method : e.message.status}`);
}

/**
 * A bare TCP server that answers every upgrade request with `answer(key)` (the key it read),
 * standing in for a WebSocket server that is not a SIP one.
 */
async function fakeWebSocketServer(answer: (key: string) => string) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let head = "";
    socket.on("data", (chunk) => {
      head += chunk.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      const key = /\r\nSec-WebSocket-Key: *([^\r]*)\r\n/i.exec(head)?.[1] ?? "";
      socket.write(answer(key));
    });
  });
  await within(new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve)), "a TCP server");
  return {
    port: (server.address() as net.AddressInfo).port,
    [Symbol.asyncDispose]: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** RFC 6455 §4.2.2: the accept value of a key, computed here apart from the codec. */
const acceptOf = (key: string) =>
  createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");

describe("the mock peer over WebSocket (RFC 7118)", () => {
  for (const transport of ["ws", "wss"] as const satisfies readonly ListenTransport[]) {
    test(`a whole call and a MESSAGE to a mock peer on ${transport}: Via ${transport.toUpperCase()}, Contact ;transport=${transport}`, async () => {
      await using callee = await mockPeer({ user: "bob", transport });
      await using caller = await mockPeer({ user: "alice", transport, timers: FAST });
      const uri = callee.uriFor("bob", transport);
      assert.match(uri, new RegExp(`;transport=${transport}$`));
      const tls = transport === "wss" ? { tls: { ca: callee.server.tls!.ca! } } : {};
      const call = await caller.request({ method: "INVITE", uri, sdp: true, ...tls });
      assert.equal(call.status, 200);
      call.ack();
      assert.equal((await call.bye()).status, 200);
      const message = await caller.request({ method: "MESSAGE", uri, body: "hello", contentType: "text/plain" });
      assert.equal(message.status, 200);

      const dialog = await callee.waitForDialog({ method: "INVITE", user: "bob" });
      const via = new RegExp(`^SIP/2\\.0/${transport.toUpperCase()} 127\\.0\\.0\\.1:${caller.addresses[0].port};`);
      assert.match(dialog.invite.headers.get("Via") ?? "", via);
      assert.match(
        dialog.invite.headers.get("Contact") ?? "",
        new RegExp(`^<sip:alice@127\\.0\\.0\\.1:\\d+;transport=${transport}>$`),
      );
      const got = await callee.waitFor("MESSAGE");
      assert.match(got.headers.get("Via") ?? "", via);
      assert.equal(got.bodyText, "hello");
      // One connection, opened by the caller, carried it all.
      assert.deepEqual(ladder(callee.received), [
        `${transport} INVITE`,
        `${transport} ACK`,
        `${transport} BYE`,
        `${transport} MESSAGE`,
      ]);
    });
  }

  test('calls serve({ tls: "self-signed" }) on wss, pinning its fingerprint: OPTIONS answered', async () => {
    await using server = await serve({
      listen: [{ transport: "wss", hostname: "127.0.0.1", port: 0 }],
      tls: "self-signed",
    });
    await using caller = await mockPeer({ transport: "wss" });
    const result = await caller.request({
      method: "OPTIONS",
      uri: server.uri("echo", "wss"),
      tls: { fingerprint: server.tls!.fingerprint! },
    });
    assert.equal(result.status, 200);
    assert.match(result.response.headers.get("Via") ?? "", /^SIP\/2\.0\/WSS 127\.0\.0\.1:\d+;/);
  });

  test("a wrong fingerprint over wss is refused before anything is sent, naming both", async () => {
    await using callee = await mockPeer({ user: "bob", transport: "wss" });
    await using caller = await mockPeer({ user: "alice", transport: "wss" });
    const wrong = (await makeCertificate()).fingerprint;
    await assert.rejects(
      caller.request({ method: "OPTIONS", uri: callee.uriFor("bob", "wss"), tls: { fingerprint: wrong } }),
      (e: Error) => {
        assert.match(e.message, /not sent: send\(\): cannot open a wss connection to 127\.0\.0\.1:\d+/);
        assert.ok(e.message.includes(`has the SHA-256 fingerprint ${callee.server.tls!.fingerprint}`), e.message);
        assert.ok(e.message.includes(`not the one pinned (${wrong})`), e.message);
        return true;
      },
    );
    assert.equal(callee.received.length, 0);
  });

  test('a server whose 101 does not choose the "sip" subprotocol is refused (RFC 7118 §4)', async () => {
    await using server = await fakeWebSocketServer((key) =>
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: ${acceptOf(key)}\r\n\r\n`
    );
    await using caller = await mockPeer({ transport: "ws" });
    await assert.rejects(
      caller.request({ method: "OPTIONS", uri: `sip:echo@127.0.0.1:${server.port};transport=ws` }),
      (e: Error) => {
        assert.match(e.message, /not sent: send\(\): cannot open a ws connection to 127\.0\.0\.1:\d+/);
        assert.match(e.message, /handshake refused: the server did not accept the "sip" subprotocol \(RFC 7118 §4\)/);
        return true;
      },
    );
  });

  test("a server that never answers the upgrade: request() rejects once connectTimeout is over", async () => {
    await using silent = await fakeWebSocketServer(() => "");
    await using caller = await mockPeer({ transport: "ws", connections: { connectTimeout: 300 } });
    const started = performance.now();
    await assert.rejects(
      caller.request({ method: "OPTIONS", uri: `sip:echo@127.0.0.1:${silent.port};transport=ws`, timeout: 3000 }),
      /not sent: send\(\): cannot open a ws connection to 127\.0\.0\.1:\d+: not open after 300 ms \(connectTimeout\)/,
    );
    // Generous: only that it was the connect timeout, not the request's 3 s.
    assert.ok(performance.now() - started < 2500);
  });

  test("a server that is no WebSocket one (404), or gets the accept value wrong, is refused", async () => {
    await using notFound = await fakeWebSocketServer(() =>
      "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    await using wrongAccept = await fakeWebSocketServer(() =>
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: ${acceptOf("AAAAAAAAAAAAAAAAAAAAAA==")}\r\nSec-WebSocket-Protocol: sip\r\n\r\n`
    );
    await using caller = await mockPeer({ transport: "ws" });
    await assert.rejects(
      caller.request({ method: "OPTIONS", uri: `sip:echo@127.0.0.1:${notFound.port};transport=ws` }),
      /handshake refused: the server answered 404 Not Found, not 101/,
    );
    await assert.rejects(
      caller.request({ method: "OPTIONS", uri: `sip:echo@127.0.0.1:${wrongAccept.port};transport=ws` }),
      /handshake refused: the 101 has a wrong or no Sec-WebSocket-Accept \(RFC 6455 §4\.1\)/,
    );
  });
});
