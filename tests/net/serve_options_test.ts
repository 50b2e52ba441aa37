// Options of serve(): onTraffic on real loopback sockets, udpPoll, and the edge profiles; the
// same tests on Deno and on Bun. Every port is picked by the system (port 0); every wait for
// network data gives up after TIMEOUT ms; every socket is closed in a finally block.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { serve, type TrafficEntry } from "../../src/net/serve.ts";
import type { RuntimeNet } from "../../src/net/transport.ts";
import {
  hostport,
  listenOn,
  portOf,
  request,
  runtime,
  stop,
  TcpClient,
  UdpClient,
  WsClient,
} from "./_serve_clients.ts";

describe(`serve() on ${runtime}: options`, () => {
  test("serve() reports every message in and out to onTraffic, per transport", async () => {
    const traffic: TrafficEntry[] = [];
    const server = await serve({
      listen: listenOn("127.0.0.1", "udp", "tcp", "ws"),
      onTraffic: (e) => traffic.push(e),
    });
    const udp = await UdpClient.open("127.0.0.1");
    let tcp: TcpClient | undefined;
    let ws: WsClient | undefined;
    try {
      const opts = (transport: string, port: number, sentBy: string) =>
        request({
          method: "OPTIONS",
          server: { host: "127.0.0.1", port },
          transport,
          sentBy,
          branch: `z9hG4bK-traffic-${transport}`,
          callId: `traffic-${transport}`,
        });
      const before = Date.now();
      await udp.send(opts("UDP", portOf(server, "udp"), hostport("127.0.0.1", udp.port)), portOf(server, "udp"));
      await udp.next("200");
      tcp = await TcpClient.connect("127.0.0.1", portOf(server, "tcp"));
      await tcp.write(opts("TCP", portOf(server, "tcp"), hostport("127.0.0.1", tcp.port)));
      await tcp.next("200");
      ws = await WsClient.connect(`ws://127.0.0.1:${portOf(server, "ws")}/`);
      ws.send(opts("WS", portOf(server, "ws"), "df7jal23ls0d.invalid"));
      await ws.next("200");

      const summary = traffic.map((e) => {
        const m = e.message;
        return [e.direction, e.transport, m.type === "request" ? m.method : m.status, m.callId];
      });
      assert.deepEqual(summary, [
        ["in", "udp", "OPTIONS", "traffic-UDP"],
        ["out", "udp", 200, "traffic-UDP"],
        ["in", "tcp", "OPTIONS", "traffic-TCP"],
        ["out", "tcp", 200, "traffic-TCP"],
        ["in", "ws", "OPTIONS", "traffic-WS"],
        ["out", "ws", 200, "traffic-WS"],
      ]);
      assert.deepEqual(traffic[0].remote, { address: "127.0.0.1", port: udp.port });
      assert.deepEqual(traffic[1].remote, { address: "127.0.0.1", port: udp.port });
      assert.deepEqual(traffic[2].remote, { address: "127.0.0.1", port: tcp.port });
      assert.deepEqual(traffic[3].remote, { address: "127.0.0.1", port: tcp.port });
      assert.equal(traffic[4].remote.address, "127.0.0.1");
      assert.ok(traffic[4].remote.port > 0);
      assert.deepEqual(traffic[5].remote, traffic[4].remote);
      for (const e of traffic) assert.ok(e.time >= before - 1 && e.time <= Date.now() + 1, `time ${e.time}`);
    } finally {
      udp.close();
      tcp?.close();
      await ws?.close();
      await stop(server);
    }
  });
});

test("serve() asks the shim to poll its SIP UDP sockets unless udpPoll is false", async () => {
  const asked: (boolean | undefined)[] = [];
  const recording = {
    name: "recording",
    listenDatagram(options: { hostname: string; port: number; poll?: boolean }) {
      asked.push(options.poll);
      return Promise.resolve({ local: { address: options.hostname, port: 5060 }, send() {}, close() {} });
    },
  } as unknown as RuntimeNet;
  const listen = [{ transport: "udp" as const, hostname: "127.0.0.1", port: 0 }];
  await (await serve({ net: recording, listen })).close();
  await (await serve({ net: recording, listen, udpPoll: false })).close();
  assert.deepEqual(asked, [true, false]);
});

describe("serve() edge profiles", () => {
  test("serve() with the lab profile, alone or with limits of its own, has tables ten times larger", async () => {
    const listen = [{ transport: "udp" as const, hostname: "127.0.0.1", port: 0 }];
    for (const edge of ["lab", { profile: "lab", rate: 500 }] as const) {
      await using server = await serve({ listen, edge });
      assert.equal(server.peer.limits.transactions, 1_000_000);
      assert.equal(server.peer.limits.dialogs, 100_000);
      assert.equal(server.peer.guard?.options.share, 1);
    }
    await using lab = await serve({ listen, edge: { profile: "lab", rate: 500 } });
    assert.equal(lab.peer.guard?.options.rate, 500);
    await using pub = await serve({ listen });
    assert.equal(pub.peer.limits.transactions, 100_000);
    assert.equal(pub.peer.guard?.options.share, 0.1);
  });
});
