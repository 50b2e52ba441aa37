// The registrar shared by --workers (src/net/worker_sync.ts), here with every worker in one
// process, and serve()'s reusePort: two servers on one port.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { _shareRegistrar, type _WorkerSync } from "../../src/net/worker_sync.ts";
import { detectRuntime } from "../../src/net/runtime/detect.ts";
import { Registrar } from "../../src/ua/registrar.ts";
import { parseMessage } from "../../src/sip/parse.ts";
import type { SipRequest } from "../../src/sip/message.ts";
import { ListenError, serve } from "../../src/net/serve.ts";
import { freePort } from "./_sipp.ts";
import { until } from "../_wait.ts";
import { skipWhy } from "../_skip.ts";

function register(user: string, contact: string, cseq: number, expires = 600): SipRequest {
  return parseMessage(
    `REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK${cseq}\r\n` +
      `From: <sip:${user}@example.com>;tag=1\r\nTo: <sip:${user}@example.com>\r\nCall-ID: r-${user}\r\n` +
      `CSeq: ${cseq} REGISTER\r\nContact: ${contact}\r\nExpires: ${expires}\r\n\r\n`,
  ) as SipRequest;
}

describe("the registrar shared by the workers", () => {
  test("a change in one worker reaches the others, expiry on each one's own clock; undo too", async () => {
    const net = await detectRuntime();
    const registrars = [new Registrar(), new Registrar(), new Registrar()];
    // Each worker's clock: the hub's at 0, the others' elsewhere (their own time origins).
    const clocks = [0, 5_000_000, 123];
    const syncs: _WorkerSync[] = [];
    let members = 0;
    try {
      syncs.push(
        await _shareRegistrar(net, registrars[0], { now: () => clocks[0], onMembers: (n) => members = n }),
      );
      for (const i of [1, 2]) {
        syncs.push(await _shareRegistrar(net, registrars[i], { hub: syncs[0].port, now: () => clocks[i] }));
      }
      await Promise.all(syncs.map((s) => s.joined));
      await until(() => members === 3 && syncs.every((s) => s.members === 3), "every worker on every list");

      assert.equal(registrars[1].register(register("bob", "<sip:bob@192.0.2.4>", 1), clocks[1]).status, 200);
      await until(() => registrars[0].size === 1 && registrars[2].size === 1, "the binding in workers 0 and 2");
      for (const i of [0, 2]) {
        const [b] = registrars[i].lookup("sip:bob@example.com", clocks[i]);
        assert.equal(b.uri, "sip:bob@192.0.2.4");
        assert.equal(b.expiresAt, clocks[i] + 600_000);
        assert.equal(b.cseq, 1);
      }
      // It expires in each on its own clock.
      assert.deepEqual(registrars[2].lookup("sip:bob@example.com", clocks[2] + 600_000), []);

      // A REGISTER answered 200 then taken back (undo): the siblings go back too.
      assert.equal(registrars[0].register(register("carol", "<sip:carol@192.0.2.5>", 1), 0).status, 200);
      await until(() => registrars[1].lookup("sip:carol@example.com", clocks[1]).length === 1, "carol in worker 1");
      registrars[0].undo();
      await until(() => registrars[1].lookup("sip:carol@example.com", clocks[1]).length === 0, "carol undone in 1");

      // A removal (expires 0) travels as an empty list.
      assert.equal(registrars[2].register(register("bob", "<sip:bob@192.0.2.4>", 2, 0), clocks[2]).status, 200);
      await until(() => registrars[0].lookup("sip:bob@example.com", 0).length === 0, "bob removed in worker 0");
      assert.equal(registrars[1].lookup("sip:bob@example.com", clocks[1]).length, 0);
    } finally {
      for (const s of syncs) await s.close();
    }
  });
});

describe("the shared registrar's bounds", () => {
  test("bindings from a sibling keep the table's bounds: maxContactsPerAor taken, none past maxBindings", () => {
    const from = new Registrar();
    for (const user of ["a", "b"]) {
      const contacts = [1, 2, 3].map((n) => `<sip:${user}${n}@192.0.2.4>`).join(", ");
      assert.equal(from.register(register(user, contacts, 1), 0).status, 200);
    }
    const into = new Registrar({ maxBindings: 4, maxContactsPerAor: 2 });
    const [a, b] = ["sip:a@example.com", "sip:b@example.com"].map((aor) => from.lookup(aor, 0));
    assert.equal(into._replace("sip:a@example.com", [...a]), true);
    assert.equal(into.lookup("sip:a@example.com", 0).length, 2); // the first two of three
    assert.equal(into._replace("sip:b@example.com", [...b]), true); // 4 of 4
    assert.equal(into._replace("sip:c@example.com", [a[0]]), false); // a fifth: refused, nothing changed
    assert.equal(into.size, 4);
    assert.deepEqual(into.lookup("sip:c@example.com", 0), []);
    assert.equal(into._replace("sip:b@example.com", [b[0]]), true); // a replacement that shrinks: room again
    assert.equal(into._replace("sip:c@example.com", [a[0]]), true);
    assert.equal(into.size, 4);
  });

  test("the hub lists no more workers than it was told of; other hellos are ignored", async () => {
    const net = await detectRuntime();
    let members = 0;
    const hub = await _shareRegistrar(net, new Registrar(), {
      now: () => 0,
      workers: 2,
      onMembers: (n) => members = n,
    });
    const syncs: _WorkerSync[] = [hub];
    try {
      syncs.push(await _shareRegistrar(net, new Registrar(), { hub: hub.port, now: () => 0 }));
      await syncs[1].joined;
      await until(() => members === 2, "the second worker listed");
      const stranger = await net.listenDatagram({ hostname: "127.0.0.1", port: 0 }, () => {}, () => {});
      try {
        const hello = new TextEncoder().encode(JSON.stringify({ t: "hello" }));
        stranger.send(hello, { address: "127.0.0.1", port: hub.port });
        // The hub answers the second worker's hellos (it may send again): past them, no change.
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(hub.members, 2);
        assert.equal(members, 2);
      } finally {
        stranger.close();
      }
    } finally {
      for (const s of syncs) await s.close();
    }
  });
});

const why = process.platform !== "linux" ? "SO_REUSEPORT as tested here is Linux's" : false;

describe("serve({ reusePort })", { skip: skipWhy("reusePort", why) }, () => {
  test("two servers on one UDP and TCP port; without it the second bind fails", async () => {
    const port = await freePort();
    const listen = [
      { transport: "udp" as const, hostname: "127.0.0.1", port },
      { transport: "tcp" as const, hostname: "127.0.0.1", port },
    ];
    const a = await serve({ listen, reusePort: true });
    try {
      const b = await serve({ listen, reusePort: true });
      await b.close();
      await assert.rejects(serve({ listen }), ListenError);
      // Deno's own UDP sockets cannot share a port (SO_REUSEADDR only): the bind says what is needed.
      if ("Deno" in globalThis && !("Bun" in globalThis)) {
        await assert.rejects(serve({ listen, reusePort: true, udpPoll: false }), /needs the polled socket/);
      }
    } finally {
      await a.close();
    }
  });
});
