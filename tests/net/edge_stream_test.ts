// serve() at the edge (its public limits, the default) on real loopback sockets, driven the way
// an attacker would over TCP: connection hogs, a full connection table, slow senders, and
// readers that never read (backpressure).
// Each test checks that a second, well-behaved client on another source address is still served
// (the peers and their addresses are in _edge_peers.ts). Every port is picked by the system (port
// 0); every wait is bounded; no test asserts a duration, only outcomes within generous bounds;
// every socket is closed in a finally block.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { serve } from "../../src/net/serve.ts";
import { detectRuntime } from "../../src/net/runtime/detect.ts";
import type { RuntimeNet, StreamHandlers } from "../../src/net/transport.ts";
import { spawn } from "node:child_process";
import process from "node:process";
import { sleep, within } from "../_wait.ts";
import {
  ATTACKER,
  decoder,
  encoder,
  GOOD,
  listenOn,
  portOf,
  request,
  runtime,
  stop,
  tcpOptions,
  TcpPeer,
  udpOptions,
  UdpPeer,
  until,
} from "./_edge_peers.ts";

describe(`serve() at the edge on ${runtime}: TCP connections`, () => {
  test(
    "serve() keeps a TCP connection hog to its share (2 of 20) and serves 10 connections from another source",
    { timeout: 15_000 },
    async () => {
      const server = await serve({ listen: listenOn("tcp"), connections: { maxConnections: 20 } });
      const port = portOf(server, "tcp");
      const hog: TcpPeer[] = [];
      const good: TcpPeer[] = [];
      try {
        for (let i = 0; i < 40; i++) hog.push(await TcpPeer.connect(ATTACKER, port));
        await until("the server to close 38 of the 40 connections", () => hog.filter((c) => c.isClosed).length >= 38);
        await sleep(200);
        assert.deepEqual(hog.map((c) => c.isClosed), hog.map((_, i) => i >= 2), "the first two stay open");
        for (let i = 0; i < 10; i++) {
          const c = await TcpPeer.connect(GOOD, port);
          good.push(c);
          await tcpOptions(c, port, `good-${i}`);
          // Closed by the client, and the server has seen it (it closes its side): it counts no more.
          c.socket.end();
          await c.serverClose(`the server to close connection ${i} after the client did`);
        }
        assert.equal(hog.filter((c) => !c.isClosed).length, 2);
      } finally {
        for (const c of [...hog, ...good]) c.close();
        await stop(server);
      }
    },
  );

  test(
    "serve() with share 1 keeps a full TCP connection table at 20 by evicting the hog's oldest idle connections, " +
      "and serves 10 connections from another source",
    { timeout: 15_000 },
    async () => {
      const server = await serve({ listen: listenOn("tcp"), connections: { maxConnections: 20 }, edge: { share: 1 } });
      const port = portOf(server, "tcp");
      const hog: TcpPeer[] = [];
      const good: TcpPeer[] = [];
      try {
        for (let i = 0; i < 40; i++) hog.push(await TcpPeer.connect(ATTACKER, port));
        await until("the server to close 20 of the 40 connections", () => hog.filter((c) => c.isClosed).length >= 20);
        await sleep(200);
        assert.deepEqual(hog.map((c) => c.isClosed), hog.map((_, i) => i < 20), "the oldest 20 are closed");
        // The newcomers stay open: each one takes the place of one of the hog's.
        for (let i = 0; i < 10; i++) {
          const c = await TcpPeer.connect(GOOD, port);
          good.push(c);
          await tcpOptions(c, port, `good-${i}`);
        }
        await until("the hog to be down to 10 connections", () => hog.filter((c) => !c.isClosed).length <= 10);
        await sleep(200);
        assert.equal(hog.filter((c) => !c.isClosed).length, 10);
        assert.equal(good.filter((c) => c.isClosed).length, 0);
      } finally {
        for (const c of [...hog, ...good]) c.close();
        await stop(server);
      }
    },
  );

  test(
    "serve() closes slowloris TCP connections (one byte every 100 ms) and a silent one after messageTimeout, " +
      "and answers a TCP client from another source meanwhile",
    { timeout: 15_000 },
    async () => {
      const server = await serve({ listen: listenOn("tcp"), connections: { messageTimeout: 300 } });
      const port = portOf(server, "tcp");
      const slow: TcpPeer[] = [];
      let silent: TcpPeer | undefined;
      let good: TcpPeer | undefined;
      const drips: Promise<void>[] = [];
      try {
        silent = await TcpPeer.connect(ATTACKER, port);
        for (let i = 0; i < 20; i++) {
          const c = await TcpPeer.connect(ATTACKER, port);
          slow.push(c);
          // Half of them start with a whole message (answered): the deadline is then that of the
          // next message, from its first byte, not that of the first message from the opening.
          if (i % 2 === 1) await tcpOptions(c, port, `whole-${i}`);
          const bytes = encoder.encode(
            request({
              method: "OPTIONS",
              port,
              transport: "TCP",
              sentBy: c.sentBy,
              branch: `z9hG4bK-slow-${i}`,
              callId: `slow-${i}`,
              viaParams: "",
            }),
          );
          drips.push((async () => {
            for (let n = 0; n < bytes.length && !c.isClosed; n++) {
              c.socket.write(bytes.subarray(n, n + 1));
              await sleep(100);
            }
          })());
        }
        good = await TcpPeer.connect(GOOD, port);
        await tcpOptions(good, port, "good");
        await until("the server to close the 20 slow connections", () => slow.every((c) => c.isClosed));
        await silent.serverClose("the server to close the silent connection");
        assert.deepEqual(
          slow.map((c) => c.inbox.items.length),
          slow.map(() => 0),
          "no answer to a message sent a byte at a time",
        );
        // Still serving, on a new connection as on the one that was open.
        const again = await TcpPeer.connect(GOOD, port);
        try {
          await tcpOptions(again, port, "good-again");
        } finally {
          again.close();
        }
      } finally {
        for (const c of slow) c.close();
        silent?.close();
        good?.close();
        await Promise.all(drips);
        await stop(server);
      }
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Backpressure: one connection must not hang the peer.

/** The runtime's shim, counting the times the server stops reading a connection (backpressure). */
async function pauseCounter(): Promise<{ net: RuntimeNet; pauses: () => number }> {
  const real = await detectRuntime();
  let pauses = 0;
  const net: RuntimeNet = {
    ...real,
    listenStream: (options, handlers: StreamHandlers) =>
      real.listenStream(options, {
        ...handlers,
        open(conn) {
          const pause = conn.pause;
          if (pause !== undefined) {
            conn.pause = () => {
              pauses++;
              pause.call(conn);
            };
          }
          handlers.open(conn);
        },
      }),
  };
  return { net, pauses: () => pauses };
}

/**
 * A UDP OPTIONS from `client` every 100 ms, each answered within 1 s, until `done()` holds (at
 * most `ms`); returns how many.
 */
async function probe(client: UdpPeer, port: number, prefix: string, done: () => boolean, ms: number): Promise<number> {
  const deadline = Date.now() + ms;
  let n = 0;
  while (!done()) {
    assert.ok(Date.now() < deadline, `${prefix}: not done within ${ms} ms`);
    await udpOptions(client, port, `${prefix}-${n++}`, 1000);
    await sleep(100);
  }
  return n;
}

/**
 * Runs tests/_stream_flood.ts in a process of its own: a TCP client from ATTACKER that never
 * reads and writes `mode` for `ms` (`mb` megabytes of keep-alives at once first).
 */
function floodProcess(mode: "pings" | "wspings" | "options", port: number, ms: number, mb: number) {
  const script = new URL("../_stream_flood.ts", import.meta.url).pathname;
  const flags = runtime === "deno" ? ["run", "-A"] : [];
  const child = spawn(process.execPath, [...flags, script, mode, ATTACKER, String(port), String(ms), String(mb)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const writing = Promise.withResolvers<void>();
  const done = Promise.withResolvers<number>();
  let out = "";
  child.stdout.on("data", (d: Uint8Array) => {
    out += decoder.decode(d);
    if (out.includes("writing\n")) writing.resolve();
    const m = /done (\d+)\n/.exec(out);
    if (m !== null) done.resolve(Number(m[1]));
  });
  child.on("exit", (code) => {
    const why = new Error(`the flooding process exited (${code}): ${out}`);
    writing.reject(why);
    done.reject(why);
  });
  // Handled where awaited; not an unhandled rejection when the test fails before.
  writing.promise.catch(() => {});
  done.promise.catch(() => {});
  return {
    writing: writing.promise,
    done: done.promise,
    kill(): void {
      if (child.exitCode === null) child.kill();
    },
  };
}

describe(`serve() at the edge on ${runtime}: backpressure`, () => {
  for (
    const [mode, what] of [
      ["pings", "4 MB of CRLF keep-alives at once and more"],
      ["wspings", "4 MB of WebSocket pings at once and more"],
      ["options", "OPTIONS pipelined (no rate limit)"],
    ] as const
  ) {
    test(
      `serve() answers UDP from another source while a TCP client in another process sends ${what} for 2 s ` +
        `and never reads, ${mode === "wspings" ? "" : "stops reading that client, "}and closes within 2 s with it ` +
        "still connected",
      { timeout: 20_000 },
      async () => {
        const { net: spy, pauses } = await pauseCounter();
        // Keep-alives are not messages: the rate limit does not see them, and each gets a pong.
        // Messages are: past 200 the client would be banned, so the rate limit is lifted for them,
        // to leave backpressure alone to hold the client.
        const edge = mode === "options" ? { rate: Infinity, burst: Infinity } : "public" as const;
        const server = await serve({ listen: listenOn("udp", mode === "wspings" ? "ws" : "tcp"), net: spy, edge });
        const good = await UdpPeer.open(GOOD);
        const hog = floodProcess(mode, server.addresses[1].port, 2000, 4);
        try {
          const port = portOf(server, "udp");
          await within(hog.writing, "the flooding process to connect", 10_000);
          // During: while it writes, an OPTIONS every 100 ms, each answered within 1 s.
          let done = false;
          hog.done.then(() => done = true, () => done = true);
          const during = await probe(good, port, "during", () => done, 10_000);
          const written = await hog.done;
          assert.ok(during >= 1, "OPTIONS answered while the client wrote");
          assert.ok(written >= 4 * 1024 * 1024, `${written} bytes written`);
          // Its answers back up and the server stops reading it. (WebSocket pongs are a third of the
          // pings: the system's buffers may take them all within 2 s.)
          if (mode !== "wspings") assert.ok(pauses() > 0, "the server stopped reading the connection");
          // After: the client still connected, reading nothing.
          await udpOptions(good, port, "after");
          await within(server.close(), "server.close() with the client connected", 2000);
        } finally {
          hog.kill();
          good.close();
          await stop(server);
        }
      },
    );
  }
});
