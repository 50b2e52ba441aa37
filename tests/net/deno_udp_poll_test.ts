// The polled UDP path of the Deno shim (src/runtime/deno_udp_poll.ts): its address conversions
// on both runtimes, its sockets on Deno (Bun reads its sockets natively and never takes it).
import { test } from "node:test";
import assert from "node:assert/strict";
import { _addresses, _reactorState, listenPolledDatagram } from "../../src/net/runtime/deno_udp_poll.ts";
import type { DatagramEndpoint } from "../../src/net/mod.ts";
import type { SocketAddress } from "../../src/sip/mod.ts";
import { sleep, until, within } from "../_wait.ts";
import { runToExit } from "../_process.ts";
import { skipWhy } from "../_skip.ts";

const { sockaddr, fromSockaddr } = _addresses;

test("sockaddr() and fromSockaddr() convert IPv4 and IPv6 addresses both ways (RFC 5952 text)", () => {
  for (
    const [text, back] of [
      ["127.0.0.1", "127.0.0.1"],
      ["0.0.0.0", "0.0.0.0"],
      ["::1", "::1"],
      ["::", "::"],
      ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
      ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], // the first of two equal runs
      ["2001:db8:1:1:1:1:0:1", "2001:db8:1:1:1:1:0:1"], // one zero group is not shortened
      ["::ffff:192.0.2.1", "::ffff:192.0.2.1"], // IPv4-mapped: dotted (RFC 5952 §5)
      ["::ffff:c000:201", "::ffff:192.0.2.1"],
      ["::1:c000:201", "::1:c000:201"],
      ["fe80::1:2", "fe80::1:2"],
    ]
  ) {
    const sa = sockaddr(text, 5060);
    assert.ok(sa, text);
    assert.deepEqual(fromSockaddr(sa), { address: back, port: 5060 }, text);
  }
  const v4 = sockaddr("192.0.2.7", 0x1234)!;
  assert.deepEqual([...v4.subarray(0, 8)], [2, 0, 0x12, 0x34, 192, 0, 2, 7]);
  for (const name of ["localhost", "192.0.2", "192.0.2.256", "1::2::3", "1:2:3:4:5:6:7:8:9", "fe80::1%lo", "::g"]) {
    assert.equal(sockaddr(name, 5060), undefined, name);
  }
});

const onDeno = "Deno" in globalThis;
const skip = skipWhy(
  "deno_udp_poll_test.ts, every test",
  onDeno ? false : "the polled path is the Deno shim's; Bun reads its UDP sockets natively",
);

/** A polled endpoint that records what it receives. */
function endpoint(hostname: string, port = 0, maxDatagram?: number) {
  const received: { text: string; from: SocketAddress }[] = [];
  const errors: unknown[] = [];
  const waiters: (() => void)[] = [];
  const ep = listenPolledDatagram({ hostname, port, maxDatagram, poll: true }, (data, from) => {
    received.push({ text: new TextDecoder().decode(data), from });
    for (const w of waiters.splice(0)) w();
  }, (e) => errors.push(e)) as DatagramEndpoint;
  assert.ok(ep, "FFI is allowed in the tests (-A): the polled path must be taken");
  const arrived = (n: number) =>
    within(
      new Promise<void>((resolve) => {
        const check = () => received.length >= n ? resolve() : waiters.push(check);
        check();
      }),
      `${n} datagrams`,
    );
  return { ep, received, errors, arrived };
}

for (const host of ["127.0.0.1", "::1"]) {
  test(`polled sockets on ${host} exchange datagrams in order, with their source`, { skip }, async () => {
    const a = endpoint(host);
    const b = endpoint(host);
    try {
      assert.equal(a.ep.local.address, host);
      assert.ok(a.ep.local.port > 0);
      for (const text of ["one", "two", "three"]) a.ep.send(new TextEncoder().encode(text), b.ep.local);
      await b.arrived(3);
      assert.deepEqual(b.received.map((r) => r.text), ["one", "two", "three"]);
      assert.deepEqual(b.received[0].from, a.ep.local);
      b.ep.send(new TextEncoder().encode("back"), b.received[0].from);
      await a.arrived(1);
      assert.equal(a.received[0].text, "back");
      assert.deepEqual(a.errors.concat(b.errors), []);
    } finally {
      await a.ep.close();
      await b.ep.close();
    }
  });
}

test("a polled socket on [::] takes IPv4 datagrams too, and answers them", { skip }, async () => {
  const wildcard = endpoint("::");
  const v4 = endpoint("127.0.0.1");
  try {
    v4.ep.send(new TextEncoder().encode("ping"), { address: "127.0.0.1", port: wildcard.ep.local.port });
    await wildcard.arrived(1);
    assert.deepEqual(wildcard.received[0].from, { address: "::ffff:127.0.0.1", port: v4.ep.local.port });
    wildcard.ep.send(new TextEncoder().encode("pong"), { address: "127.0.0.1", port: v4.ep.local.port });
    await v4.arrived(1);
    assert.equal(v4.received[0].text, "pong");
    assert.deepEqual(wildcard.errors.concat(v4.errors), []);
  } finally {
    await wildcard.ep.close();
    await v4.ep.close();
  }
});

test("a polled socket drops a datagram over maxDatagram and takes the next one", { skip }, async () => {
  const a = endpoint("127.0.0.1");
  const b = endpoint("127.0.0.1", 0, 10);
  try {
    a.ep.send(new Uint8Array(11).fill(0x41), b.ep.local);
    a.ep.send(new TextEncoder().encode("0123456789"), b.ep.local);
    await b.arrived(1);
    assert.deepEqual(b.received.map((r) => r.text), ["0123456789"]);
  } finally {
    await a.ep.close();
    await b.ep.close();
  }
});

test("a polled socket takes more datagrams than its share of a look (64), in order", { skip }, async () => {
  const a = endpoint("127.0.0.1");
  const b = endpoint("127.0.0.1");
  try {
    // Sent before the receiver's next look: they wait in the socket and come in five looks. (The
    // system's default receive buffer holds only 256 such datagrams: the 1 MiB the socket asks for
    // is needed too.)
    for (let i = 0; i < 300; i++) a.ep.send(new TextEncoder().encode(String(i)), b.ep.local);
    await b.arrived(300);
    assert.deepEqual(b.received.map((r) => r.text), Array.from({ length: 300 }, (_, i) => String(i)));
  } finally {
    await a.ep.close();
    await b.ep.close();
  }
});

test("a polled socket reports a destination that is not an IP address, and sends nothing there", { skip }, async () => {
  const a = endpoint("127.0.0.1");
  const b = endpoint("127.0.0.1");
  try {
    // sipecho never resolves a host name (a Via sent-by or maddr): no lookup, no datagram.
    a.ep.send(new TextEncoder().encode("by name"), { address: "localhost", port: b.ep.local.port });
    a.ep.send(new TextEncoder().encode("again"), { address: "localhost", port: b.ep.local.port });
    assert.deepEqual(a.errors.map(String), [
      "Error: udp send: not an IP address: localhost",
      "Error: udp send: not an IP address: localhost",
    ]);
    // An IPv6 address from an IPv4 socket is refused too, before the system sees it.
    a.ep.send(new TextEncoder().encode("v6"), { address: "::1", port: b.ep.local.port });
    assert.match(String(a.errors[2]), /udp send: cannot reach ::1 from an IPv4 socket/);
    a.ep.send(new TextEncoder().encode("by address"), b.ep.local);
    await b.arrived(1);
    assert.deepEqual(b.received.map((r) => r.text), ["by address"]);
  } finally {
    await a.ep.close();
    await b.ep.close();
  }
});

test(
  "a polled socket reports a send the system refuses, with its errno name, and keeps working",
  { skip },
  async () => {
    const a = endpoint("127.0.0.1");
    const b = endpoint("127.0.0.1");
    try {
      // Broadcast without SO_BROADCAST: sendto() fails with EACCES.
      a.ep.send(new TextEncoder().encode("to all"), { address: "255.255.255.255", port: 9 });
      assert.equal(a.errors.length, 1);
      assert.equal((a.errors[0] as { code?: string }).code, "EACCES");
      a.ep.send(new TextEncoder().encode("after"), b.ep.local);
      await b.arrived(1);
      assert.equal(b.received[0].text, "after");
    } finally {
      await a.ep.close();
      await b.ep.close();
    }
  },
);

test("binding a polled socket to a port in use fails with EADDRINUSE", { skip }, async () => {
  const a = endpoint("127.0.0.1");
  try {
    assert.throws(() => endpoint("127.0.0.1", a.ep.local.port), { code: "EADDRINUSE" });
  } finally {
    await a.ep.close();
  }
});

test("a closed polled socket delivers nothing more and sends nothing", { skip }, async () => {
  const a = endpoint("127.0.0.1");
  const b = endpoint("127.0.0.1");
  await b.ep.close();
  a.ep.send(new TextEncoder().encode("late"), b.ep.local);
  b.ep.send(new TextEncoder().encode("from a closed socket"), a.ep.local);
  await new Promise((resolve) => setTimeout(resolve, 30));
  await a.ep.close();
  assert.deepEqual(b.received, []);
  assert.deepEqual(a.received, []);
});

test(
  "a polled socket keeps sending after its cache of 1024 destination addresses is full and cleared",
  { skip },
  async () => {
    const a = endpoint("127.0.0.1");
    const b = endpoint("127.0.0.1");
    try {
      a.ep.send(new TextEncoder().encode("first"), b.ep.local);
      await b.arrived(1);
      // 1100 other destinations (ports nobody listens on, which UDP does not report): the cache
      // fills past its limit and starts again.
      for (let i = 0; i < 1100; i++) {
        a.ep.send(new TextEncoder().encode("x"), {
          address: "127.0.0.2",
          port: 20000 + i,
        });
      }
      a.ep.send(new TextEncoder().encode("after"), b.ep.local);
      await b.arrived(2);
      assert.deepEqual(b.received.map((r) => r.text), ["first", "after"]);
      assert.deepEqual(a.errors, []);
    } finally {
      await a.ep.close();
      await b.ep.close();
    }
  },
);

test(
  "a quiet polled socket still takes the next datagram, and closed while it waits, it frees its port",
  { skip },
  async () => {
    const a = endpoint("127.0.0.1");
    const b = endpoint("127.0.0.1");
    try {
      a.ep.send(new TextEncoder().encode("one"), b.ep.local);
      await b.arrived(1);
      // Quiet for far longer than the timed looks last (5 empty ones): b waits in poll() now.
      await sleep(100);
      a.ep.send(new TextEncoder().encode("two"), b.ep.local);
      await b.arrived(2);
      await sleep(100);
    } finally {
      await a.ep.close();
    }
    const port = b.ep.local.port;
    await within(Promise.resolve(b.ep.close()), "close() of a waiting socket");
    await within(Promise.resolve(b.ep.close()), "a second close()"); // settles too, and closes nothing twice
    // Its descriptor is closed once close() settles: the port can be bound again at once.
    const again = endpoint("127.0.0.1", port);
    await again.ep.close();
    assert.deepEqual(b.received.map((r) => r.text), ["one", "two"]);
    assert.deepEqual(a.errors.concat(b.errors), []);
  },
);

test("200 polled sockets on one reactor each get their own datagrams and answer them", { skip }, async () => {
  const client = endpoint("127.0.0.1");
  const servers: ReturnType<typeof endpoint>[] = [];
  try {
    for (let i = 0; i < 200; i++) {
      const server = endpoint("127.0.0.1");
      servers.push(server);
    }
    for (const [i, s] of servers.entries()) client.ep.send(new TextEncoder().encode(`to ${i}`), s.ep.local);
    await Promise.all(servers.map((s) => s.arrived(1)));
    for (const [i, s] of servers.entries()) {
      assert.deepEqual(s.received.map((r) => r.text), [`to ${i}`]);
      assert.deepEqual(s.received[0].from, client.ep.local);
      s.ep.send(new TextEncoder().encode(`from ${i}`), s.received[0].from);
    }
    await client.arrived(200);
    const answers = new Map(client.received.map((r) => [r.from.port, r.text]));
    for (const [i, s] of servers.entries()) assert.equal(answers.get(s.ep.local.port), `from ${i}`);
    assert.deepEqual(client.errors.concat(...servers.map((s) => s.errors)), []);
  } finally {
    for (const s of servers) await s.ep.close();
    await client.ep.close();
  }
});

test(
  "a polled socket flooded with 20,000 datagrams does not hold back another: its 20 all come before the flood is drained",
  { skip },
  async () => {
    const order: string[] = [];
    const flooded = listenPolledDatagram({ hostname: "127.0.0.1", port: 0 }, () => order.push("flood"), () => {})!;
    const other = listenPolledDatagram({ hostname: "127.0.0.1", port: 0 }, () => order.push("other"), () => {})!;
    // Two senders: the flood may fill its sender's send buffer (EAGAIN), never the other's.
    const a = endpoint("127.0.0.1");
    const b = endpoint("127.0.0.1");
    try {
      // All sent in this one turn: the reactor reads nothing before both sockets hold their share
      // (the flooded one as many as its receive buffer takes, far more than a look's share; the
      // rest is dropped by the system).
      const datagram = new Uint8Array(16);
      for (let i = 0; i < 20_000; i++) a.ep.send(datagram, flooded.local);
      for (let i = 0; i < 20; i++) b.ep.send(datagram, other.local);
      await until(() => order.filter((o) => o === "other").length === 20, "the other socket's 20 datagrams");
      // Drained: the reactor went back to its wait after empty looks.
      await until(() => _reactorState() === "waiting", "the flood to be drained");
      const floods = order.filter((o) => o === "flood").length;
      assert.ok(floods > 200, `the flood held more than a few looks' shares: ${floods}`);
      // Read side by side: the other socket's last datagram came before the flood's last hundred.
      assert.ok(
        order.lastIndexOf("other") < order.length - 100,
        `the other's last at ${order.lastIndexOf("other")} of ${order.length}`,
      );
      assert.deepEqual(b.errors, []);
    } finally {
      await a.ep.close();
      await b.ep.close();
      await flooded.close();
      await other.close();
    }
  },
);

test(
  "closing one polled socket while the reactor waits leaves the wait running and the others working",
  { skip },
  async () => {
    const a = endpoint("127.0.0.1");
    const b = endpoint("127.0.0.1");
    const c = endpoint("127.0.0.1");
    try {
      a.ep.send(new TextEncoder().encode("one"), c.ep.local);
      await c.arrived(1);
      await until(() => _reactorState() === "waiting", "the reactor to wait");
      // epoll(7): a descriptor removed from the set (EPOLL_CTL_DEL) is no longer held by a wait,
      // so it is closed at once, without waking the waiting thread.
      assert.equal(b.ep.close(), undefined);
      assert.equal(_reactorState(), "waiting");
      a.ep.send(new TextEncoder().encode("to the closed one"), b.ep.local);
      a.ep.send(new TextEncoder().encode("two"), c.ep.local);
      await c.arrived(2);
      c.ep.send(new TextEncoder().encode("back"), a.ep.local);
      await a.arrived(1);
      assert.deepEqual(c.received.map((r) => r.text), ["one", "two"]);
      assert.deepEqual(b.received, []);
      assert.deepEqual(a.received.map((r) => r.text), ["back"]);
      // Its port is free again.
      const again = endpoint("127.0.0.1", b.ep.local.port);
      await again.ep.close();
      assert.deepEqual(a.errors.concat(b.errors, c.errors), []);
    } finally {
      await a.ep.close();
      await b.ep.close();
      await c.ep.close();
    }
  },
);

test("the reactor ends with its last polled socket, and a new socket starts another", { skip }, async () => {
  const a = endpoint("127.0.0.1");
  await until(() => _reactorState() === "waiting", "the reactor to wait");
  // The last socket: its close() wakes the wait, and settles once the reactor has ended.
  await within(Promise.resolve(a.ep.close()), "close() of the last socket");
  assert.equal(_reactorState(), "none");
  const b = endpoint("127.0.0.1");
  const c = endpoint("127.0.0.1");
  try {
    b.ep.send(new TextEncoder().encode("again"), c.ep.local);
    await c.arrived(1);
    assert.equal(c.received[0].text, "again");
  } finally {
    await b.ep.close();
    // Closed while the reactor looks on its timer: it ends at once.
    assert.equal(_reactorState(), "looking");
    await c.ep.close();
    assert.equal(_reactorState(), "none");
  }
});

test(
  "a process whose polled sockets are all closed exits by itself (the reactor leaves no wait, timer or descriptor)",
  { skip },
  async () => {
    const script = new URL("../_udp_poll_exit.ts", import.meta.url).pathname;
    const { code, out } = await runToExit(script, ["run", "-A"], 10_000);
    assert.equal(code, 0, out);
    assert.equal(out, "exchanged on 50 polled sockets twice, closed while looking and while waiting\n");
  },
);

test(
  "answers made while the reactor reads go out after it, in order, to each destination, whole",
  { skip },
  async () => {
    const a = endpoint("127.0.0.1");
    const b = endpoint("127.0.0.1");
    const sizes = [20, 1400, 9000, 30000, 40000, 5]; // past one batch's 60,000 bytes: two sendmmsg calls
    // An echo that answers each datagram with 40 (more than the 32 a sendmmsg takes) to the
    // sender and one to b, from inside the receive callback: all are held back until the look ends.
    const echoes: string[] = [];
    const echo = listenPolledDatagram({ hostname: "127.0.0.1", port: 0, poll: true }, (data, from) => {
      const text = new TextDecoder().decode(data);
      for (let i = 0; i < 40; i++) echo.send(new TextEncoder().encode(`${text}.${i}`), from);
      for (const size of sizes) echo.send(new Uint8Array(size).fill(0x61 + (size % 26)), b.ep.local);
      echoes.push(text);
    }, (e) => a.errors.push(e)) as DatagramEndpoint;
    try {
      for (const text of ["x", "y"]) a.ep.send(new TextEncoder().encode(text), echo.local);
      await a.arrived(80);
      await b.arrived(2 * sizes.length);
      assert.deepEqual(
        a.received.map((r) => r.text).sort(),
        ["x", "y"].flatMap((t) => Array.from({ length: 40 }, (_, i) => `${t}.${i}`)).sort(),
      );
      for (const t of ["x", "y"]) {
        const mine = a.received.map((r) => r.text).filter((s) => s.startsWith(t + "."));
        assert.deepEqual(mine, Array.from({ length: 40 }, (_, i) => `${t}.${i}`), "in order");
      }
      assert.deepEqual(b.received.map((r) => r.text.length), [...sizes, ...sizes]);
      assert.ok(
        b.received.every((r) => r.text === String.fromCharCode(0x61 + (r.text.length % 26)).repeat(r.text.length)),
      );
      assert.deepEqual(b.received[0].from, echo.local);
      assert.deepEqual(a.errors.concat(b.errors), []);
    } finally {
      await echo.close();
      await a.ep.close();
      await b.ep.close();
    }
  },
);
