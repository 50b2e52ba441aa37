// The socket shims on real loopback sockets: the same tests on Deno and on Bun.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import net from "node:net";
import { detectRuntime } from "../../src/net/runtime/detect.ts";
import type { SocketAddress } from "../../src/net/transport.ts";

const runtime = await detectRuntime();
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function udpExchange(host: string, port: number, payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
    const timer = setTimeout(() => {
      client.close();
      reject(new Error("no UDP answer"));
    }, 2000);
    client.on("message", (data) => {
      clearTimeout(timer);
      client.close();
      resolve(decoder.decode(data));
    });
    client.send(encoder.encode(payload), port, host);
  });
}

describe(`${runtime.name} shim`, () => {
  for (const host of ["127.0.0.1", "::1"]) {
    test(`listenDatagram() receives and answers on ${host}`, async () => {
      const seen: SocketAddress[] = [];
      const endpoint = await runtime.listenDatagram({ hostname: host, port: 0 }, (data, from) => {
        seen.push(from);
        endpoint.send(encoder.encode("echo:" + decoder.decode(data)), from);
      }, (e) => assert.fail(String(e)));
      try {
        assert.ok(endpoint.local.port > 0);
        assert.equal(await udpExchange(host, endpoint.local.port, "ping"), "echo:ping");
        assert.equal(seen[0].address, host);
      } finally {
        endpoint.close();
      }
    });

    test(`listenDatagram() with maxDatagram drops longer datagrams, whole, on ${host}`, async () => {
      const sizes: number[] = [];
      const endpoint = await runtime.listenDatagram({ hostname: host, port: 0, maxDatagram: 100 }, (data, from) => {
        sizes.push(data.length);
        endpoint.send(data, from);
      }, (e) => assert.fail(String(e)));
      const client = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
      try {
        const answer = new Promise<string>((resolve) =>
          client.once("message", (data) => resolve(decoder.decode(data)))
        );
        // Sent first, and not 100 bytes of it (Deno receives into a buffer of that size): nothing.
        await new Promise((resolve) =>
          client.send(encoder.encode("x".repeat(101)), endpoint.local.port, host, resolve)
        );
        client.send(encoder.encode("y".repeat(100)), endpoint.local.port, host);
        assert.equal(await answer, "y".repeat(100));
        assert.deepEqual(sizes, [100]);
      } finally {
        client.close();
        endpoint.close();
      }
    });

    test(`listenStream() passes chunks and writes back in order on ${host}`, async () => {
      const events: string[] = [];
      const closed = Promise.withResolvers<void>();
      const listener = await runtime.listenStream({ hostname: host, port: 0 }, {
        open: (conn) => events.push("open " + conn.remote.address),
        data: (conn, data) => conn.write(data),
        close: () => {
          events.push("close");
          closed.resolve();
        },
      });
      try {
        const big = "abc" + "x".repeat(300_000) + "END";
        const echoed = await new Promise<string>((resolve, reject) => {
          const socket = net.connect(listener.local.port, host);
          let received = "";
          socket.on("data", (d) => {
            received += decoder.decode(d);
            if (received.endsWith("END")) {
              socket.end();
              resolve(received);
            }
          });
          socket.on("error", reject);
          socket.on("connect", () => {
            socket.write("abc");
            socket.write(big.slice(3));
          });
        });
        assert.equal(echoed.length, big.length);
        assert.equal(echoed, big);
        await closed.promise;
        assert.deepEqual(events, ["open " + host, "close"]);
      } finally {
        await listener.close();
      }
    });
  }
});
