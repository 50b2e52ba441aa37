// A port that cannot be bound: serve() rejects with one form of error on every runtime and every
// shim, naming the transport, the address and the port, and why (`ListenError`).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { _bindProblem, ListenError } from "../../src/net/listeners.ts";
import { serve } from "../../src/net/serve.ts";
import type { RuntimeNet } from "../../src/net/transport.ts";
import { runtime, stop } from "./_serve_clients.ts";

describe("_bindProblem()", () => {
  // The errors the shims were seen to throw, as they come.
  for (
    const [what, error, problem] of [
      ["Deno.listen", Object.assign(new Error("Address already in use (os error 98)"), { name: "AddrInUse" }), [
        "address in use",
        "EADDRINUSE",
      ]],
      ["Bun.listen", Object.assign(new Error("Failed to listen at 127.0.0.1"), { code: "EADDRINUSE" }), [
        "address in use",
        "EADDRINUSE",
      ]],
      ["Bun.udpSocket", Object.assign(new Error("bind EADDRINUSE 127.0.0.1"), { code: "EADDRINUSE" }), [
        "address in use",
        "EADDRINUSE",
      ]],
      [
        "Deno.listen",
        Object.assign(new Error("Cannot assign requested address (os error 99)"), {
          name: "AddrNotAvailable",
        }),
        ["no interface of this machine has the address", "EADDRNOTAVAIL"],
      ],
      ["node:dgram", Object.assign(new Error("bind EACCES 0.0.0.0:80"), { code: "EACCES" }), [
        "permission denied (a port below 1024 needs privileges)",
        "EACCES",
      ]],
      ["node:dgram", Object.assign(new Error("getaddrinfo ENOTFOUND abc"), { code: "ENOTFOUND" }), [
        "host not found",
        "ENOTFOUND",
      ]],
      ["Deno.listen", new Error("failed to lookup address information: Name or service not known"), [
        "host not found",
        undefined,
      ]],
      ["a shim of its own", new Error("no sockets here"), ["no sockets here", undefined]],
      ["a shim of its own", "a string", ["a string", undefined]],
    ] as [string, unknown, [string, string | undefined]][]
  ) {
    test(`${what}: ${String(error)}`, () => {
      const { reason, code } = _bindProblem(error);
      assert.deepEqual([reason, code], problem);
    });
  }
});

describe(`serve() on ${runtime}: a port that cannot be bound`, () => {
  for (
    const [transport, poll] of [["udp", true], ["udp", false], ["tcp", true], ["ws", true]] as const
  ) {
    test(`${transport}${poll ? "" : " (udpPoll: false)"} on a port in use: "cannot listen on ... : address in use"`, async () => {
      const holder = await serve({
        listen: [{ transport: transport === "udp" ? "udp" : "tcp", hostname: "127.0.0.1", port: 0 }],
      });
      const port = holder.addresses[0].port;
      try {
        const error = await serve({ listen: [{ transport, hostname: "127.0.0.1", port }], udpPoll: poll }).then(
          (s) => (void stop(s), assert.fail("serve() bound a port in use")),
          (e) => e,
        );
        assert.ok(error instanceof ListenError, String(error));
        assert.equal(error.message, `cannot listen on ${transport} 127.0.0.1:${port}: address in use`);
        assert.deepEqual([error.transport, error.address, error.port, error.code], [
          transport,
          "127.0.0.1",
          port,
          "EADDRINUSE",
        ]);
        assert.ok(error.cause !== undefined, "the shim's error is kept as the cause");
      } finally {
        await stop(holder);
      }
    });
  }

  test("an address of no interface of this machine: IPv6 in brackets, the reason", async () => {
    const error = await serve({ listen: [{ transport: "udp", hostname: "2001:db8::99", port: 5060 }] }).then(
      (s) => (void stop(s), assert.fail("serve() bound 2001:db8::99")),
      (e) => e,
    );
    assert.ok(error instanceof ListenError, String(error));
    assert.match(error.message, /^cannot listen on udp \[2001:db8::99\]:5060: /);
  });

  test("the error of any shim is wrapped the same way", async () => {
    const net: RuntimeNet = {
      name: "memory",
      listenDatagram: () => Promise.reject(new Error("no sockets here")),
      listenStream: () => Promise.reject(Object.assign(new Error("taken"), { code: "EADDRINUSE" })),
    };
    await assert.rejects(serve({ net, listen: [{ transport: "udp", hostname: "192.0.2.1", port: 5060 }] }), {
      name: "ListenError",
      message: "cannot listen on udp 192.0.2.1:5060: no sockets here",
    });
    await assert.rejects(serve({ net, listen: [{ transport: "ws", hostname: "[::1]", port: 8080 }] }), {
      name: "ListenError",
      message: "cannot listen on ws [::1]:8080: address in use",
      code: "EADDRINUSE",
    });
  });
});
