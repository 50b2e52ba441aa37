// The Node.js socket shim (src/net/runtime/node.ts) under the runtime that runs the suite: Deno
// and Bun ship node:dgram and node:net too, so the shim Node uses is tested on both, with a
// server and the mock peer both on it, over UDP, TCP and WebSocket. tests/package_test.ts runs
// a mock-peer test on Node itself.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { serve } from "../../src/net/serve.ts";
import { mockPeer } from "../../src/testing/mod.ts";
import { nodeNet, nodeProcess } from "../../src/net/runtime/node.ts";
import type { StreamConnection } from "../../src/net/transport.ts";

describe("the Node.js shim", () => {
  for (const transport of ["udp", "tcp", "ws"] as const) {
    test(`a call over ${transport}: INVITE, 200, ACK, BYE, both ends on the shim`, async () => {
      const sut = await serve({ net: nodeNet, listen: [{ transport, hostname: "127.0.0.1", port: 0 }] });
      const caller = await mockPeer({ net: nodeNet, transport, timers: { T1: 50 } });
      try {
        const call = await caller.request({ method: "INVITE", uri: sut.uri("echo", transport), sdp: true });
        assert.equal(call.status, 200);
        assert.deepEqual(call.provisional.map((r) => r.status), [180]);
        call.ack();
        assert.equal((await call.bye()).status, 200);
        assert.equal(sut.peer.dialogs.length, 0);
      } finally {
        await caller.close();
        await sut.close();
      }
    });
  }

  test("networkInterfaces lists the machine's addresses, loopback among them, for the advertised address", () => {
    const interfaces = nodeNet.networkInterfaces!();
    assert.ok(interfaces.some((i) => i.address === "127.0.0.1" && i.name !== ""), JSON.stringify(interfaces));
    assert.ok(interfaces.every((i) => !i.address.includes("%")), "zones dropped");
  });

  test("listenDatagram rejects an address in use, naming it", async () => {
    const first = await nodeNet.listenDatagram({ hostname: "127.0.0.1", port: 0 }, () => {}, () => {});
    try {
      await assert.rejects(
        nodeNet.listenDatagram({ hostname: "127.0.0.1", port: first.local.port }, () => {}, () => {}),
        /EADDRINUSE/,
      );
    } finally {
      await first.close();
    }
  });

  test("connectStream rejects a refused connection; an aborted one rejects with the reason", async () => {
    // A port that was free a moment ago: nothing listens on it.
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const handlers = { open() {}, data() {}, close() {} };
    await assert.rejects(
      nodeNet.connectStream!({ hostname: "127.0.0.1", port }, handlers),
      new RegExp(`cannot connect to 127\\.0\\.0\\.1 port ${port}: .*ECONNREFUSED`),
    );
    const controller = new AbortController();
    controller.abort(new Error("gave up"));
    await assert.rejects(nodeNet.connectStream!({ hostname: "127.0.0.1", port, signal: controller.signal }, handlers), {
      message: "gave up",
    });
  });

  test("a stream listener reports open, data and close, and close() waits for its connections", async () => {
    const events: string[] = [];
    const listener = await nodeNet.listenStream({ hostname: "127.0.0.1", port: 0 }, {
      open: (conn) => events.push(`open ${conn.remote.address}`),
      data: (conn, data) => {
        events.push(`data ${new TextDecoder().decode(data)}`);
        conn.write(data);
      },
      close: () => events.push("close"),
    });
    const echoed = Promise.withResolvers<string>();
    let client: StreamConnection | undefined;
    try {
      client = await nodeNet.connectStream!({ hostname: "127.0.0.1", port: listener.local.port }, {
        open() {},
        data: (_conn, data) => echoed.resolve(new TextDecoder().decode(data)),
        close() {},
      });
      client.write(new TextEncoder().encode("ping"));
      assert.equal(await echoed.promise, "ping");
    } finally {
      await listener.close();
      client?.close();
    }
    assert.deepEqual(events, ["open 127.0.0.1", "data ping", "close"]);
  });

  test("the process side reads files, and says what file it could not read", async () => {
    const text = await nodeProcess.readTextFile(new URL("../../deno.json", import.meta.url).pathname);
    assert.equal(JSON.parse(text).name, "@sipecho/sipecho");
    await assert.rejects(nodeProcess.readTextFile("/nonexistent/rules.json"), /ENOENT.*\/nonexistent\/rules\.json/);
  });
});
