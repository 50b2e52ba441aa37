// serve() over TCP and WebSocket on real loopback sockets (127.0.0.1 and [::1]): framing,
// keep-alives, connections closed for garbage, limits and idleness; the same tests on Deno and on
// Bun. Every port is picked by the system (port 0); every wait for network data gives up after
// TIMEOUT ms; every socket is closed in a finally block.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { serve, type ServeOptions } from "../../src/net/serve.ts";
import type { PeerEvent } from "../../src/ua/peer.ts";
import { sleep, within } from "../_wait.ts";
import {
  assertInviteOk,
  encoder,
  hostport,
  HOSTS,
  line,
  listenOn,
  OFFER,
  portOf,
  request,
  runtime,
  stop,
  TcpClient,
  until,
  WsClient,
} from "./_serve_clients.ts";

describe(`serve() on ${runtime}: TCP and WebSocket`, () => {
  for (const host of HOSTS) {
    test(`serve() answers an INVITE split across many TCP writes on the same connection on ${host}`, async () => {
      const server = await serve({ listen: listenOn(host, "tcp") });
      const client = await TcpClient.connect(host, portOf(server, "tcp"));
      try {
        const port = portOf(server, "tcp");
        const base = {
          server: { host, port },
          transport: "TCP",
          sentBy: hostport(host, client.port),
          callId: `call-tcp-${host}`,
          contact: `<sip:alice@${hostport(host, client.port)};transport=tcp>`,
        };
        const invite = encoder.encode(request({ ...base, method: "INVITE", branch: "z9hG4bK-tcp-inv", body: OFFER }));
        // 7-byte writes, each waiting for the previous one to be handed to the kernel.
        for (let i = 0; i < invite.length; i += 7) await client.write(invite.subarray(i, i + 7));
        const got = [await client.next("180"), await client.next("200")];
        assert.deepEqual(got.map(line), ["180 INVITE", "200 INVITE"]);
        const tag = got[1].to.tag;
        assert.equal(got[0].to.tag, tag);
        assert.equal(
          got[1].headers.get("Via"),
          `SIP/2.0/TCP ${hostport(host, client.port)};branch=z9hG4bK-tcp-inv`,
        );
        assertInviteOk(got[1], host, `<sip:echo@${hostport(host, port)};transport=tcp>`);
        await client.write(
          request({ ...base, method: "ACK", branch: "z9hG4bK-tcp-ack", toTag: tag }) +
            request({ ...base, method: "BYE", branch: "z9hG4bK-tcp-bye", cseq: 2, toTag: tag }),
        );
        const bye = await client.next("200 to BYE");
        assert.equal(line(bye), "200 BYE");
        assert.equal(bye.to.tag, tag);
      } finally {
        client.close();
        await stop(server);
      }
    });
  }

  test("serve() answers two messages sent in one TCP write, in order", async () => {
    const server = await serve({ listen: listenOn("127.0.0.1", "tcp") });
    const port = portOf(server, "tcp");
    const client = await TcpClient.connect("127.0.0.1", port);
    try {
      const base = {
        method: "OPTIONS",
        server: { host: "127.0.0.1", port },
        transport: "TCP",
        sentBy: hostport("127.0.0.1", client.port),
      };
      await client.write(
        request({ ...base, branch: "z9hG4bK-two-1", callId: "two-1" }) +
          request({ ...base, branch: "z9hG4bK-two-2", callId: "two-2", cseq: 2 }),
      );
      const first = await client.next("the first 200");
      const second = await client.next("the second 200");
      assert.deepEqual([first, second].map((r) => `${r.status} ${r.callId} ${r.headers.get("CSeq")}`), [
        "200 two-1 1 OPTIONS",
        "200 two-2 2 OPTIONS",
      ]);
    } finally {
      client.close();
      await stop(server);
    }
  });

  test("serve() answers an RFC 5626 double-CRLF ping with a single CRLF pong over TCP", async () => {
    const server = await serve({ listen: listenOn("127.0.0.1", "tcp") });
    const port = portOf(server, "tcp");
    const client = await TcpClient.connect("127.0.0.1", port);
    try {
      await client.write("\r\n\r\n");
      await until("the CRLF pong", () => client.raw.length >= 2 || undefined);
      // Then an OPTIONS: the stream is the pong, then the 200, nothing in between.
      await client.write(request({
        method: "OPTIONS",
        server: { host: "127.0.0.1", port },
        transport: "TCP",
        sentBy: hostport("127.0.0.1", client.port),
        branch: "z9hG4bK-after-ping",
        callId: "after-ping",
      }));
      const ok = await client.next("200 after the pong");
      assert.equal(ok.callId, "after-ping");
      assert.ok(client.raw.startsWith("\r\nSIP/2.0 200 OK\r\n"), JSON.stringify(client.raw.slice(0, 40)));
    } finally {
      client.close();
      await stop(server);
    }
  });

  const garbage: [string, (port: number) => string | Uint8Array, ServeOptions?][] = [
    ["a message without Content-Length", (port) =>
      request({
        method: "OPTIONS",
        server: { host: "127.0.0.1", port },
        transport: "TCP",
        sentBy: "127.0.0.1:9",
        branch: "z9hG4bK-no-cl",
        callId: "no-cl",
        noContentLength: true,
      })],
    ["a Content-Length that is not a number", () => "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: many\r\n\r\n"],
    ["binary bytes up to an empty line", () => new Uint8Array([0, 1, 2, 0xff, 0xfe, 13, 10, 13, 10])],
    ["bytes with no end of header over maxMessageSize", () => "x".repeat(3000), { maxMessageSize: 1000 }],
  ];
  for (const [what, bytes, options] of garbage) {
    test(`serve() closes a TCP connection that sends ${what}, and keeps the others`, async () => {
      const events: PeerEvent[] = [];
      const server = await serve({ ...options, listen: listenOn("127.0.0.1", "tcp"), onEvent: (e) => events.push(e) });
      const port = portOf(server, "tcp");
      const good = await TcpClient.connect("127.0.0.1", port);
      const bad = await TcpClient.connect("127.0.0.1", port);
      try {
        await bad.write(bytes(port));
        await bad.serverClose("the server to close the bad connection");
        assert.deepEqual(bad.inbox.items, []);
        assert.equal(events.filter((e) => e.kind === "parse-error").length, 1);
        assert.match(events.find((e) => e.kind === "parse-error")!.message, /^closing the tcp connection: /);
        await good.write(request({
          method: "OPTIONS",
          server: { host: "127.0.0.1", port },
          transport: "TCP",
          sentBy: hostport("127.0.0.1", good.port),
          branch: "z9hG4bK-good",
          callId: "good",
        }));
        assert.equal(line(await good.next("200 on the good connection")), "200 OPTIONS");
      } finally {
        good.close();
        bad.close();
        await stop(server);
      }
    });
  }

  test("serve() makes room in a full connection table: the oldest idle connection of the busiest source goes, TCP and WebSocket together", async () => {
    const events: PeerEvent[] = [];
    const server = await serve({
      listen: listenOn("127.0.0.1", "tcp", "ws"),
      connections: { maxConnections: 1 },
      onEvent: (e) => events.push(e),
    });
    const port = portOf(server, "tcp");
    const first = await TcpClient.connect("127.0.0.1", port);
    let second: TcpClient | undefined;
    let third: WsClient | undefined;
    const options = (c: TcpClient, id: string) =>
      request({
        method: "OPTIONS",
        server: { host: "127.0.0.1", port },
        transport: "TCP",
        sentBy: hostport("127.0.0.1", c.port),
        branch: `z9hG4bK-${id}`,
        callId: id,
      });
    try {
      // The first is accepted and counted before the second connects.
      await first.write(options(first, "max-1"));
      assert.equal(line(await first.next("200 on the first connection")), "200 OPTIONS");
      // A newcomer gets in: the table is full, so the first (the only one) is closed for it.
      second = await TcpClient.connect("127.0.0.1", port);
      await first.serverClose("the server to close the first connection");
      await second.write(options(second, "max-2"));
      assert.equal((await second.next("200 on the second connection")).callId, "max-2");
      // WebSocket connections count in the same table.
      third = await WsClient.connect(`ws://127.0.0.1:${portOf(server, "ws")}/`);
      await second.serverClose("the server to close the second connection");
      const why = "connection table full (1): closing the oldest idle connection of 127.0.0.1 (1 open)";
      assert.deepEqual(events.map((e) => [e.kind, e.message, e.remote?.transport]), [
        ["limit", `${why} for a new tcp connection from 127.0.0.1`, "tcp"],
        ["limit", `${why} for a new ws connection from 127.0.0.1`, "tcp"],
      ]);
    } finally {
      first.close();
      second?.close();
      await third?.close();
      await stop(server);
    }
  });

  test("serve() closes a TCP connection idle for connections.idleTimeout", async () => {
    const events: PeerEvent[] = [];
    const server = await serve({
      listen: listenOn("127.0.0.1", "tcp"),
      connections: { idleTimeout: 100 },
      onEvent: (e) => events.push(e),
    });
    const client = await TcpClient.connect("127.0.0.1", portOf(server, "tcp"));
    try {
      await client.serverClose("the server to close the idle connection");
      assert.deepEqual(events.map((e) => [e.kind, e.message]), [
        ["dropped", "closing the tcp connection: idle for 100 ms (idleTimeout)"],
      ]);
    } finally {
      client.close();
      await stop(server);
    }
  });

  test("serve() never closes a connection for idleness with connections.idleTimeout: Infinity", async () => {
    const server = await serve({ listen: listenOn("127.0.0.1", "tcp"), connections: { idleTimeout: Infinity } });
    const port = portOf(server, "tcp");
    const client = await TcpClient.connect("127.0.0.1", port);
    try {
      await sleep(50);
      await client.write(request({
        method: "OPTIONS",
        server: { host: "127.0.0.1", port },
        transport: "TCP",
        sentBy: hostport("127.0.0.1", client.port),
        branch: "z9hG4bK-no-idle",
        callId: "no-idle",
      }));
      assert.equal(line(await client.next("200 on a connection without idle timeout")), "200 OPTIONS");
    } finally {
      client.close();
      await stop(server);
    }
  });

  for (const host of HOSTS) {
    test(`serve() answers SIP over WebSocket (RFC 7118) on ${host}`, async () => {
      const server = await serve({ listen: listenOn(host, "ws") });
      const port = portOf(server, "ws");
      const client = await WsClient.connect(`ws://${hostport(host, port)}/`);
      try {
        assert.equal(client.ws.protocol, "sip");
        const base = {
          server: { host, port },
          transport: "WS",
          sentBy: "df7jal23ls0d.invalid",
          contact: "<sip:alice@df7jal23ls0d.invalid;transport=ws>",
        };
        client.send(request({ ...base, method: "OPTIONS", branch: "z9hG4bK-ws-opt", callId: "ws-options" }));
        const ok = await client.next("200 to OPTIONS");
        assert.equal(line(ok), "200 OPTIONS");
        assert.equal(ok.headers.get("Via"), `SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK-ws-opt;received=${host}`);

        const call = { ...base, callId: "ws-call" };
        client.send(request({ ...call, method: "INVITE", branch: "z9hG4bK-ws-inv", body: OFFER }));
        const got = [await client.next("180"), await client.next("200")];
        assert.deepEqual(got.map(line), ["180 INVITE", "200 INVITE"]);
        assertInviteOk(got[1], host, `<sip:echo@${hostport(host, port)};transport=ws>`);
        const tag = got[1].to.tag;
        client.send(request({ ...call, method: "ACK", branch: "z9hG4bK-ws-ack", toTag: tag }));
        client.send(request({ ...call, method: "BYE", branch: "z9hG4bK-ws-bye", cseq: 2, toTag: tag }));
        assert.equal(line(await client.next("200 to BYE")), "200 BYE");
      } finally {
        await client.close();
        await stop(server);
      }
    });
  }

  test("serve() closes a WebSocket connection with 1009 on a message over maxMessageSize (RFC 6455 §7.4.1)", async () => {
    const events: PeerEvent[] = [];
    const server = await serve({
      listen: listenOn("127.0.0.1", "ws"),
      maxMessageSize: 800,
      onEvent: (e) => events.push(e),
    });
    const port = portOf(server, "ws");
    const client = await WsClient.connect(`ws://127.0.0.1:${port}/`);
    try {
      const options = (id: string, pad: number) =>
        request({
          method: "OPTIONS",
          server: { host: "127.0.0.1", port },
          transport: "WS",
          sentBy: "df7jal23ls0d.invalid",
          branch: `z9hG4bK-${id}`,
          callId: id,
        }).replace("Max-Forwards: 70\r\n", `Max-Forwards: 70\r\nX-Pad: ${"p".repeat(pad)}\r\n`);
      client.send(options("ws-small", 10));
      assert.equal((await client.next("200")).status, 200);
      // Refused from the frame header, before its payload is kept.
      client.send(options("ws-big", 700));
      await within(client.closed, "the server to close the connection");
      assert.equal(client.code, 1009);
      assert.match(events.map((e) => e.message).join("\n"), /closing the ws connection: close 1009/);
    } finally {
      await client.close();
      await stop(server);
    }
  });

  test("serve() refuses a WebSocket handshake without the sip subprotocol (RFC 7118 §4)", async () => {
    const server = await serve({ listen: listenOn("127.0.0.1", "ws") });
    try {
      const res = await within(fetch(`http://127.0.0.1:${portOf(server, "ws")}/`), "the HTTP answer");
      assert.equal(res.status, 426);
      await res.body?.cancel();
    } finally {
      await stop(server);
    }
  });
});
