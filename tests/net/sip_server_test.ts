// The server serve() returns, on real loopback sockets: its addresses and URIs, closing it (by
// close(), await using or a signal) and leaving nothing open; the same tests on Deno and on Bun.
// Every port is picked by the system (port 0); every wait for network data gives up after TIMEOUT
// ms; every socket is closed in a finally block.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { serve } from "../../src/net/serve.ts";
import { detectRuntime } from "../../src/net/runtime/detect.ts";
import type { RuntimeNet } from "../../src/net/transport.ts";
import { within } from "../_wait.ts";
import { runToExit } from "../_process.ts";
import { connectError, listenOn, portOf, runtime, stop, TcpClient, udpPortIsFree, WsClient } from "./_serve_clients.ts";

describe(`serve() on ${runtime}: the server`, () => {
  test("server.uri() and server.addresses name every bound address", async () => {
    const server = await serve({
      listen: [
        { transport: "udp", hostname: "127.0.0.1", port: 0 },
        { transport: "tcp", hostname: "[::1]", port: 0 },
        { transport: "ws", hostname: "127.0.0.1", port: 0 },
      ],
    });
    try {
      const [udp, tcp, ws] = server.addresses.map((a) => a.port);
      assert.deepEqual(server.addresses, [
        { transport: "udp", address: "127.0.0.1", port: udp },
        { transport: "tcp", address: "::1", port: tcp },
        { transport: "ws", address: "127.0.0.1", port: ws },
      ]);
      for (const p of [udp, tcp, ws]) assert.ok(p > 0 && p < 65536);
      assert.equal(server.uri(), `sip:127.0.0.1:${udp}`);
      assert.equal(server.uri("echo"), `sip:echo@127.0.0.1:${udp}`);
      assert.equal(server.uri("echo", "udp"), `sip:echo@127.0.0.1:${udp}`);
      assert.equal(server.uri("echo", "tcp"), `sip:echo@[::1]:${tcp};transport=tcp`);
      assert.equal(server.uri(undefined, "ws"), `sip:127.0.0.1:${ws};transport=ws`);
    } finally {
      await stop(server);
    }
    const udpOnly = await serve({ listen: listenOn("::1", "udp") });
    try {
      assert.equal(udpOnly.uri("bob"), `sip:bob@[::1]:${portOf(udpOnly, "udp")}`);
      assert.throws(() => udpOnly.uri("bob", "tcp"), RangeError);
    } finally {
      await stop(udpOnly);
    }
  });

  test("server.close() closes every socket, is idempotent and resolves server.closed", async () => {
    const server = await serve({ listen: listenOn("127.0.0.1", "udp", "tcp", "ws") });
    const [udp, tcp, ws] = ["udp", "tcp", "ws"].map((t) => portOf(server, t as "udp" | "tcp" | "ws"));
    const client = await TcpClient.connect("127.0.0.1", tcp);
    const wsClient = await WsClient.connect(`ws://127.0.0.1:${ws}/`);
    try {
      let closed = false;
      void server.closed.then(() => closed = true);
      const one = server.close();
      const two = server.close();
      assert.equal(one, two);
      await within(one, "close()");
      await within(server.closed, "server.closed");
      assert.equal(closed, true);
      await within(server.close(), "a third close()");
      // Open connections were closed by the server; the ports no longer answer.
      await client.serverClose("the TCP connection to be closed by close()");
      await within(wsClient.closed, "the WebSocket to be closed by close()");
      assert.equal(await connectError("127.0.0.1", tcp), "ECONNREFUSED");
      assert.equal(await connectError("127.0.0.1", ws), "ECONNREFUSED");
      assert.equal(await udpPortIsFree("127.0.0.1", udp), true);
    } finally {
      client.close();
      await wsClient.close();
      await stop(server);
    }
  });

  for (const transport of ["udp", "tcp", "ws"] as const) {
    test(`serve() rejects when the ${transport} port is taken, and closes what it had opened`, async () => {
      const taken = await serve({ listen: listenOn("127.0.0.1", transport) });
      const opened: string[] = [];
      const closedNow: string[] = [];
      const real = await detectRuntime();
      // The real shim, recording what it opens and closes.
      const recording: RuntimeNet = {
        name: real.name,
        async listenDatagram(o, onData, onError) {
          const e = await real.listenDatagram(o, onData, onError);
          opened.push(`udp ${e.local.port}`);
          return {
            local: e.local,
            send: (d, to) => e.send(d, to),
            close: () => (closedNow.push(`udp ${e.local.port}`), e.close()),
          };
        },
        async listenStream(o, h) {
          const l = await real.listenStream(o, h);
          opened.push(`tcp ${l.local.port}`);
          return { local: l.local, close: () => (closedNow.push(`tcp ${l.local.port}`), l.close()) };
        },
      };
      try {
        const error = await within(
          serve({
            net: recording,
            listen: [...listenOn("127.0.0.1", "udp", "tcp", "ws")!, {
              transport,
              hostname: "127.0.0.1",
              port: portOf(taken, transport),
            }],
          }).then(() => undefined, (e) => e),
          "serve() to fail",
        );
        assert.equal((error as { code?: string } | undefined)?.code, "EADDRINUSE", String(error));
        assert.equal(opened.length, 3);
        assert.deepEqual(closedNow.sort(), opened.sort());
      } finally {
        await stop(taken);
      }
    });
  }

  test("serve() with await using closes the server at the end of the block", async () => {
    let closed: Promise<void>;
    let port: number;
    {
      await using server = await serve({ listen: listenOn("127.0.0.1", "tcp") });
      closed = server.closed;
      port = portOf(server, "tcp");
      assert.equal(await connectError("127.0.0.1", port), "connected");
    }
    await within(closed, "server.closed after the block");
    assert.equal(await connectError("127.0.0.1", port), "ECONNREFUSED");
  });

  test("serve() closes when its signal is aborted, before or after it started", async () => {
    const controller = new AbortController();
    const server = await serve({ listen: listenOn("127.0.0.1", "udp", "tcp"), signal: controller.signal });
    try {
      const udp = portOf(server, "udp");
      const tcp = portOf(server, "tcp");
      assert.equal(await connectError("127.0.0.1", tcp), "connected");
      controller.abort();
      await within(server.closed, "server.closed after abort()");
      assert.equal(await connectError("127.0.0.1", tcp), "ECONNREFUSED");
      assert.equal(await udpPortIsFree("127.0.0.1", udp), true);
    } finally {
      await stop(server);
    }
    const early = await serve({ listen: listenOn("127.0.0.1", "tcp"), signal: AbortSignal.abort() });
    await within(early.closed, "server.closed of a server started with an aborted signal");
    assert.equal(await connectError("127.0.0.1", portOf(early, "tcp")), "ECONNREFUSED");
  });

  // Deno runs the shim twice: with Deno.listenDatagram (--unstable-net) and with its node:dgram
  // fallback (no config, so no unstable flag).
  const variants = runtime === "deno"
    ? [["deno, Deno.listenDatagram", ["run", "-A", "--unstable-net"]], ["deno, node:dgram", [
      "run",
      "-A",
      "--no-config",
    ]]]
    : [["bun", []]];
  for (const [name, flags] of variants as [string, string[]][]) {
    test(`serve() leaves nothing open: a process that served and closed exits by itself (${name})`, async () => {
      const script = new URL("../_serve_exit.ts", import.meta.url).pathname;
      // Generous: this detects a hang (a socket or timer left open), not speed. Under bun test's
      // own 5 s limit per test, so that the failure says what hung.
      const { code, out } = await runToExit(script, flags, runtime === "bun" ? 4_500 : 10_000);
      assert.equal(code, 0, out);
      assert.equal(out, "served udp tcp ws on 127.0.0.1 and ::1, closed\n");
    });
  }
});
