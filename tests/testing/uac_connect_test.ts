// The mock peer's UAC opening TCP and WebSocket connections to a system under test that never
// heard from it (RFC 3261 §18.1.1), on real loopback sockets: the same tests on Deno and on Bun.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import {
  type ListenTransport,
  mockPeer,
  MockTimeoutError,
  parseMessage,
  serve,
  type SipRequest,
  type SipResponse,
  type TrafficEntry,
} from "../../mod.ts";
import { StreamFramer } from "../../src/sip/mod.ts";
import { until, within } from "../_wait.ts";
import { runToExit } from "../_process.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A port of `host` on which nothing listens (bound, then closed). */
async function closedPort(host: string): Promise<number> {
  const server = net.createServer();
  await within(new Promise<void>((resolve) => server.listen(0, host, resolve)), "a free port");
  const port = (server.address() as net.AddressInfo).port;
  await within(new Promise<void>((resolve) => server.close(() => resolve())), "closing the free port");
  return port;
}

/** A serve() instance standing in for the system under test, on one transport only. */
async function systemUnderTest(transport: ListenTransport, hostname = "127.0.0.1") {
  const traffic: TrafficEntry[] = [];
  const responses: SipResponse[] = [];
  const server = await within(
    serve({
      listen: [{ transport, hostname, port: 0 }],
      onTraffic: (e) => traffic.push(e),
      onResponse: (r) => responses.push(r),
    }),
    "serve()",
  );
  const received = (method: string) =>
    traffic.filter((e) => e.direction === "in" && e.message.type === "request" && e.message.method === method);
  return { server, traffic, responses, received };
}

const calls: [ListenTransport, string][] = [["tcp", "127.0.0.1"], ["tcp", "::1"], ["ws", "127.0.0.1"]];

describe("MockPeer.request() opens connections (RFC 3261 §18.1.1)", () => {
  for (const [transport, host] of calls) {
    const h = host.includes(":") ? `[${host}]` : host;
    test(`request() calls a server that listens only on ${transport} ${h}: OPTIONS, INVITE, ACK, BYE`, async () => {
      const sut = await systemUnderTest(transport, host);
      await using _sut = sut.server;
      await using peer = await within(mockPeer({ transport, hostname: host, user: "alice" }), "mockPeer()");
      const uri = sut.server.uri("echo", transport);
      assert.ok(uri.endsWith(`;transport=${transport}`), uri);

      const options = await within(peer.request({ method: "OPTIONS", uri }), "the OPTIONS");
      assert.equal(options.status, 200);
      // RFC 3261 §18.1.1: the Via names the transport and the mock's own address on it.
      const via = options.request.via[0];
      assert.equal(via.transport, transport.toUpperCase());
      assert.equal(via.host, h);
      assert.equal(via.port, peer.addresses[0].port);
      // The connection is the mock's: it comes from another port than the one it listens on.
      const [inbound] = sut.received("OPTIONS");
      assert.equal(inbound.transport, transport);
      assert.equal(inbound.remote.address.replace(/^::ffff:/, ""), host);
      assert.notEqual(inbound.remote.port, peer.addresses[0].port);

      const call = await within(peer.request({ method: "INVITE", uri, sdp: true }), "the INVITE");
      assert.equal(call.status, 200);
      assert.equal(call.response.contentType?.mediaType, "application/sdp");
      call.ack();
      assert.equal((await within(call.bye(), "the BYE")).status, 200);
      await until(() => sut.received("ACK").length === 1, "the ACK");
      // One connection for all of it, and nothing retransmitted on a reliable transport.
      const requests = sut.traffic.filter((e) => e.direction === "in");
      assert.deepEqual(
        requests.map((e) => (e.message as SipRequest).method),
        ["OPTIONS", "INVITE", "ACK", "BYE"],
      );
      assert.ok(requests.every((e) => e.remote.port === inbound.remote.port && e.transport === transport));
      assert.ok(peer.received.every((e) => e.transport === transport));

      // A request from the system under test on that connection is answered by the mock too.
      const back = encoder.encode(
        `OPTIONS sip:alice@${h}:${peer.addresses[0].port} SIP/2.0\r\n` +
          `Via: SIP/2.0/${transport.toUpperCase()} ${h}:${sut.server.addresses[0].port};branch=z9hG4bKback\r\n` +
          `From: <sip:echo@${h}>;tag=s\r\nTo: <sip:alice@${h}>\r\nCall-ID: back-${transport}\r\nCSeq: 1 OPTIONS\r\n` +
          "Content-Length: 0\r\n\r\n",
      );
      await within(sut.server.send(back, inbound.remote, transport), "sending on the mock's connection");
      await until(() => sut.responses.length === 1, "the mock's answer on its connection");
      assert.equal(sut.responses[0].status, 200);
      const got = await within(peer.waitFor({ "Call-ID": `back-${transport}` }), "the request from the server");
      assert.equal(got.method, "OPTIONS");
      assert.equal(peer.received.find((e) => e.message === got)?.transport, transport);
    });
  }

  test("request() to a destination with transport: tcp, and no retransmission; Timer F still ends it", async () => {
    await using sut = await within(mockPeer({ transport: "tcp", user: "sut" }), "the system under test");
    await using peer = await within(mockPeer({ transport: "tcp", timers: { T1: 10, T2: 40, T4: 50 } }), "mockPeer()");
    const port = sut.addresses[0].port;
    // 150 ms: on UDP, Timer A (T1 = 10 ms) would have resent it 4 times by then.
    sut.answer("OPTIONS", { respond: { status: 200, after: 150 } });
    const result = await within(
      peer.request({
        method: "OPTIONS",
        uri: "sip:sut@sut.example.com",
        destination: { address: "127.0.0.1", port },
        transport: "tcp",
      }),
      "the OPTIONS",
    );
    assert.equal(result.status, 200);
    assert.equal(result.request.via[0].transport, "TCP");
    assert.equal(sut.received.filter((e) => e.message.type === "request").length, 1);
    assert.equal(peer.sent.filter((e) => e.message.type === "request").length, 1);

    sut.answer("OPTIONS", { silent: true });
    const started = Date.now();
    await assert.rejects(within(peer.request({ method: "OPTIONS", uri: sut.uriFor("sut", "tcp") }), "Timer F"), (e) => {
      assert.ok(e instanceof MockTimeoutError);
      assert.match(e.message, /no final response \(Timer F, 64\*T1 = 640 ms\)/);
      return true;
    });
    assert.ok(Date.now() - started < 2000);
    assert.equal(sut.received.filter((e) => e.message.type === "request").length, 2);
  });

  for (const transport of ["tcp", "ws"] as const) {
    test(`request() over ${transport} to a closed port rejects at once, naming the address`, async () => {
      await using peer = await within(mockPeer({ transport }), "mockPeer()");
      const port = await closedPort("127.0.0.1");
      const started = Date.now();
      await assert.rejects(
        within(peer.request({ method: "OPTIONS", uri: `sip:x@127.0.0.1:${port};transport=${transport}` }), "refusal"),
        (e) => {
          assert.ok(!(e instanceof MockTimeoutError));
          assert.match(
            (e as Error).message,
            new RegExp(
              `^OPTIONS sip:x@127\\.0\\.0\\.1:${port};transport=${transport}: not sent: send\\(\\): ` +
                `cannot open a ${transport} connection to 127\\.0\\.0\\.1:${port}: `,
            ),
          );
          return true;
        },
      );
      assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
      // Nothing was recorded as sent.
      assert.deepEqual(peer.sent, []);
    });
  }

  test("close() of the mock closes the TCP connection it opened", async () => {
    // A bare TCP server that answers every request with 200 and never closes a connection itself.
    const closed = Promise.withResolvers<void>();
    const server = net.createServer((socket) => {
      const framer = new StreamFramer();
      socket.on("close", () => closed.resolve());
      socket.on("error", () => {});
      socket.on("data", (chunk) => {
        for (const ev of framer.push(new Uint8Array(chunk))) {
          if (ev.type !== "message") continue;
          const request = parseMessage(ev.bytes, { stream: true }) as SipRequest;
          const head = decoder.decode(ev.bytes).split("\r\n\r\n")[0].split("\r\n").slice(1)
            .filter((l) => /^(Via|From|To|Call-ID|CSeq):/i.test(l));
          socket.write(
            `SIP/2.0 200 OK\r\n${head.join("\r\n")}\r\nContent-Length: 0\r\n\r\n`.replace(
              /^(To: .*)$/m,
              request.to.tag === undefined ? "$1;tag=raw" : "$1",
            ),
          );
        }
      });
    });
    await within(new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve)), "listen");
    try {
      const port = (server.address() as net.AddressInfo).port;
      const peer = await within(mockPeer({ transport: "tcp" }), "mockPeer()");
      try {
        const result = await within(
          peer.request({ method: "OPTIONS", uri: `sip:raw@127.0.0.1:${port};transport=tcp` }),
          "the OPTIONS",
        );
        assert.equal(result.status, 200);
      } finally {
        await within(peer.close(), "peer.close()");
      }
      await within(closed.promise, "the server to see the connection closed");
    } finally {
      server.close();
    }
  });

  const runtime = "Bun" in globalThis ? "bun" : "deno";
  test("a process whose mock opened TCP and WebSocket connections exits by itself after close()", async () => {
    const script = new URL("../_uac_connect_exit.ts", import.meta.url).pathname;
    const flags = runtime === "deno" ? ["run", "-A"] : [];
    const { code, out } = await runToExit(script, flags, runtime === "bun" ? 4_500 : 10_000);
    assert.equal(code, 0, out);
    assert.equal(out, "called over tcp and ws, closed\n");
  });
});
