// The mock peer on real loopback sockets: the same tests on Deno and on Bun.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import net from "node:net";
import {
  formatLadder,
  MockPeer,
  mockPeer,
  MockTimeoutError,
  parseMessage,
  parseRules,
  RulesError,
  serve,
  type SipMessage,
  SipPeer,
  type SipRequest,
  type SipResponse,
  type SocketAddress,
  StreamFramer,
} from "../../mod.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Short SIP timers, so that retransmissions and timeouts take milliseconds. */
const FAST = { T1: 10, T2: 40, T4: 50 };

/** Resolves once `check` holds, polling; fails after `timeout` ms. */
async function until(check: () => boolean, what: string, timeout = 2000): Promise<void> {
  const end = Date.now() + timeout;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

interface Datagram {
  message: SipMessage;
  at: number;
  from: SocketAddress;
}

/** A bare UDP socket standing in for a system under test that the test drives by hand. */
async function rawUdp() {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
  const inbox: Datagram[] = [];
  socket.on("message", (data, info) => {
    inbox.push({
      message: parseMessage(new Uint8Array(data)),
      at: Date.now(),
      from: { address: info.address, port: info.port },
    });
  });
  return {
    port: socket.address().port,
    uri: (user: string) => `sip:${user}@127.0.0.1:${socket.address().port}`,
    inbox,
    requests: (method: string) =>
      inbox.filter((d) => d.message.type === "request" && d.message.method === method) as (Datagram & {
        message: SipRequest;
      })[],
    send(text: string, to: SocketAddress) {
      socket.send(encoder.encode(text), to.port, to.address);
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** A response to a request, as a UAS would write it (RFC 3261 §8.2.6.2). */
function reply(request: SipRequest, status: number, reason: string, toTag?: string, extra = ""): string {
  const via = request.headers.getFields("Via").map((v) => `Via: ${v}\r\n`).join("");
  const to = request.headers.get("To") + (toTag === undefined || request.to.tag ? "" : `;tag=${toTag}`);
  return `SIP/2.0 ${status} ${reason}\r\n${via}From: ${request.headers.get("From")}\r\nTo: ${to}\r\n` +
    `Call-ID: ${request.callId}\r\nCSeq: ${request.headers.get("CSeq")}\r\n${extra}Content-Length: 0\r\n\r\n`;
}

function statuses(entries: readonly { message: SipMessage }[]): number[] {
  return entries.flatMap((e) => e.message.type === "response" ? [e.message.status] : []);
}

function methods(entries: readonly { message: SipMessage }[]): string[] {
  return entries.flatMap((e) => e.message.type === "request" ? [e.message.method] : []);
}

describe("mockPeer()", () => {
  test("mockPeer() listens on UDP port 0 and gives a URI that reaches it", async () => {
    await using peer = await mockPeer();
    assert.equal(peer.addresses.length, 1);
    assert.equal(peer.addresses[0].transport, "udp");
    assert.ok(peer.addresses[0].port > 0);
    assert.equal(peer.uri, `sip:mock@127.0.0.1:${peer.addresses[0].port}`);
    const result = await peer.request({ method: "OPTIONS", uri: peer.uri });
    assert.equal(result.status, 200);
  });

  test("MockPeer.start() listens on several transports and names the user", async () => {
    await using peer = await MockPeer.start({ transport: ["udp", "tcp", "ws"], user: "carol" });
    assert.deepEqual(peer.addresses.map((a) => a.transport), ["udp", "tcp", "ws"]);
    assert.match(peer.uri, /^sip:carol@127\.0\.0\.1:\d+$/);
    assert.match(peer.uriFor("dave", "ws"), /^sip:dave@127\.0\.0\.1:\d+;transport=ws$/);
    await using udpOnly = await MockPeer.start();
    assert.throws(() => udpOnly.uriFor("x", "tcp"), RangeError);
  });

  test("close() leaves nothing running and later calls fail cleanly", async () => {
    const peer = await mockPeer({ timers: FAST });
    const pending = peer.waitFor("NEVER", { timeout: 60_000 });
    await peer.close();
    await assert.rejects(pending, /closed while waiting/);
    await peer.server.closed;
    await assert.rejects(peer.waitFor("OPTIONS"), /closed/);
    await assert.rejects(peer.request({ method: "OPTIONS", uri: peer.uri }), /closed/);
    await peer.close(); // twice is fine
  });

  test("await using closes the peer at the end of the block", async () => {
    let closed: Promise<void>;
    {
      await using peer = await mockPeer();
      closed = peer.server.closed;
    }
    await closed;
  });
});

describe("MockPeer recording", () => {
  test("received and sent keep every message in order with remote, transport, time and parsed form", async () => {
    await using sut = await mockPeer({ user: "sut" });
    await using peer = await mockPeer();
    const before = Date.now();
    await peer.request({ method: "OPTIONS", uri: sut.uri });
    const [inbound] = sut.received;
    assert.equal(sut.received.length, 1);
    assert.equal(inbound.direction, "in");
    assert.equal(inbound.transport, "udp");
    assert.deepEqual(inbound.remote, { address: "127.0.0.1", port: peer.addresses[0].port });
    assert.ok(inbound.time >= before && inbound.time <= Date.now());
    assert.equal(inbound.message.type === "request" && inbound.message.method, "OPTIONS");
    assert.deepEqual(statuses(sut.sent), [200]);
    assert.deepEqual(sut.traffic.map((e) => e.direction), ["in", "out"]);
    // The requesting side records its request as sent and the response as received.
    assert.deepEqual(methods(peer.sent), ["OPTIONS"]);
    assert.deepEqual(statuses(peer.received), [200]);
    assert.equal(peer.sent[0].remote.port, sut.addresses[0].port);
  });

  test("clear() forgets the traffic; ladder() draws it", async () => {
    await using sut = await mockPeer({ user: "sut" });
    await using peer = await mockPeer();
    await peer.request({ method: "OPTIONS", uri: sut.uri });
    assert.match(sut.ladder(), /\|<-- OPTIONS sip:sut@127\.0\.0\.1:\d+ SIP\/2\.0 -+\| 127\.0\.0\.1:\d+ udp +Call-ID: /);
    assert.match(sut.ladder(), /\|--- SIP\/2\.0 200 OK -+>\|/);
    sut.clear();
    assert.deepEqual(sut.traffic, []);
    assert.equal(sut.ladder(), "(no messages)");
  });
});

describe("MockPeer.waitFor()", () => {
  test("waitFor() resolves with a request already received or arriving later", async () => {
    await using sut = await mockPeer({ user: "sut" });
    await using peer = await mockPeer();
    await peer.request({ method: "OPTIONS", uri: sut.uri });
    const options = await sut.waitFor("OPTIONS");
    assert.equal(options.method, "OPTIONS");
    const later = sut.waitFor("MESSAGE");
    await peer.request({ method: "MESSAGE", uri: sut.uri, body: "hello" });
    assert.equal((await later).bodyText, "hello");
  });

  test("waitFor() takes a predicate that sees the source", async () => {
    await using sut = await mockPeer({ user: "sut" });
    await using peer = await mockPeer();
    const waiting = sut.waitFor((request, source) =>
      request.method === "INFO" && source.port === peer.addresses[0].port
    );
    const call = await peer.request({ method: "INVITE", uri: sut.uri, sdp: true });
    await call.inDialog("INFO", { body: "Signal=5\r\n", contentType: "application/dtmf-relay" });
    assert.equal((await waiting).bodyText, "Signal=5\r\n");
    await call.bye();
  });

  test("waitFor() takes a partial match: method list, user, body and headers by any name", async () => {
    await using sut = await mockPeer({ user: "sut" });
    await using peer = await mockPeer();
    await peer.request({ method: "OPTIONS", uri: sut.uriFor("alice"), headers: { "X-Test": "one" } });
    await peer.request({
      method: "MESSAGE",
      uri: sut.uriFor("bob"),
      headers: [["X-Test", "two"], ["Subject", "hi there"]],
      body: "ping",
    });
    const bob = await sut.waitFor({ method: ["OPTIONS", "MESSAGE"], user: "bob" });
    assert.equal(bob.method, "MESSAGE");
    assert.equal((await sut.waitFor({ "x-test": "one" })).method, "OPTIONS");
    assert.equal((await sut.waitFor({ s: /^hi/ })).method, "MESSAGE"); // s: the compact form of Subject
    assert.equal((await sut.waitFor({ body: "ping", transport: "udp" })).method, "MESSAGE");
    const callId = bob.callId;
    assert.equal((await sut.waitFor({ "Call-ID": callId })).method, "MESSAGE");
    await assert.rejects(sut.waitFor({ user: "alice", method: "MESSAGE" }, { timeout: 10 }), MockTimeoutError);
  });

  test("waitFor() rejects on timeout with a ladder diagram of what arrived", async () => {
    await using sut = await mockPeer({ user: "sut" });
    await using peer = await mockPeer();
    const result = await peer.request({ method: "OPTIONS", uri: sut.uri });
    const started = Date.now();
    await assert.rejects(sut.waitFor({ method: "BYE", "Call-ID": "nope" }, { timeout: 30 }), (e: unknown) => {
      assert.ok(e instanceof MockTimeoutError);
      assert.ok(Date.now() - started >= 25);
      assert.equal(e.timeout, 30);
      assert.equal(e.traffic.length, 2);
      const lines = e.message.split("\n");
      assert.equal(
        lines[0],
        `waitFor({ method: "BYE", "Call-ID": "nope" }): no matching request within 30 ms. Traffic at ${sut.uri}:`,
      );
      assert.match(lines[1], /^ +time {2}sip:sut@/);
      // time, direction, first line, the other side, Call-ID
      assert.match(
        lines[2],
        /^ +0\.\d{3} {2}\|<-- OPTIONS sip:sut@127\.0\.0\.1:\d+ SIP\/2\.0 -+\| 127\.0\.0\.1:\d+ udp +Call-ID: /,
      );
      assert.ok(lines[2].endsWith(`Call-ID: ${result.request.callId}`));
      assert.match(lines[3], /\|--- SIP\/2\.0 200 OK -+>\|/);
      return true;
    });
  });

  test("waitFor() refuses a pattern value that is neither a string nor a RegExp", async () => {
    await using peer = await mockPeer();
    await assert.rejects(peer.waitFor({ Expires: 5 as unknown as string }), TypeError);
  });

  test("waitForDialog() resolves with a whole call once its BYE has come", async () => {
    await using sut = await mockPeer({ user: "sut" });
    await using peer = await mockPeer();
    const dialog = sut.waitForDialog({ user: "sut" });
    await peer.request({ method: "OPTIONS", uri: sut.uri });
    const call = await peer.request({ method: "INVITE", uri: sut.uri, sdp: true });
    call.ack();
    await call.bye();
    const ended = await dialog;
    assert.equal(ended.callId, call.request.callId);
    assert.equal(ended.invite.method, "INVITE");
    assert.equal(ended.ack?.method, "ACK");
    assert.equal(ended.bye.method, "BYE");
    assert.deepEqual(
      ended.traffic.map((e) => e.message.type === "request" ? e.message.method : e.message.status),
      ["INVITE", 100, 180, 200, "ACK", "BYE", 200],
    );
  });

  test("waitForDialog() times out on a call that never ends, showing it", async () => {
    await using sut = await mockPeer({ user: "sut" });
    await using peer = await mockPeer();
    sut.answer("INVITE", 486);
    const result = await peer.request({ method: "INVITE", uri: sut.uri });
    assert.equal(result.status, 486);
    await assert.rejects(sut.waitForDialog(undefined, { timeout: 20 }), (e: unknown) => {
      assert.ok(e instanceof MockTimeoutError);
      assert.match(e.message, /^waitForDialog\(\): no call \(INVITE \.\.\. BYE\) ended within 20 ms/);
      assert.match(e.message, /\|--- SIP\/2\.0 486 Busy Here/);
      return true;
    });
  });
});

describe("MockPeer.answer()", () => {
  test("answer() answers once, ahead of the static rules, then the rules answer again", async () => {
    const rules = parseRules('[{ "match": { "method": "OPTIONS" }, "respond": { "status": 488 } }]');
    await using sut = await mockPeer({ user: "sut", rules });
    await using peer = await mockPeer();
    const once = sut.answer("OPTIONS", 202);
    assert.equal(once.remaining, 1);
    assert.equal((await peer.request({ method: "OPTIONS", uri: sut.uri })).status, 202);
    assert.equal((await peer.request({ method: "OPTIONS", uri: sut.uri })).status, 488);
    assert.equal(once.remaining, 0);
    assert.equal(once.requests.length, 1);
  });

  test("answer() keeps the order given, counts times, and remove() takes an answer away", async () => {
    await using sut = await mockPeer({ user: "sut" });
    await using peer = await mockPeer();
    sut.answer("OPTIONS", 500, { times: 2 });
    const always = sut.answer("OPTIONS", 503, { times: Infinity });
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push((await peer.request({ method: "OPTIONS", uri: sut.uri })).status);
    assert.deepEqual(codes, [500, 500, 503, 503]);
    assert.equal(always.remaining, Infinity);
    always.remove();
    assert.equal((await peer.request({ method: "OPTIONS", uri: sut.uri })).status, 200);
  });

  test("answer() sends status, reason, headers with templates and a text body", async () => {
    await using sut = await mockPeer({ user: "sut" });
    await using peer = await mockPeer();
    sut.answer({ method: "MESSAGE", "X-Case": /^7/ }, {
      respond: {
        status: 202,
        reason: "Taken",
        headers: { "X-Call": "{{call_id}}", "X-From": "{{from_user}}" },
        body: { type: "application/json", text: '{"method":"{{method}}"}' },
      },
    });
    const result = await peer.request({ method: "MESSAGE", uri: sut.uri, headers: { "X-Case": "7a" }, body: "x" });
    assert.equal(result.status, 202);
    assert.equal(result.response.reason, "Taken");
    assert.equal(result.response.headers.get("X-Call"), result.request.callId);
    assert.equal(result.response.headers.get("X-From"), "mock");
    assert.equal(result.response.contentType?.mediaType, "application/json");
    assert.equal(result.response.bodyText, '{"method":"MESSAGE"}');
  });

  test("answer() sends provisional responses and the final one after their delays", async () => {
    await using sut = await mockPeer({ user: "sut" });
    await using peer = await mockPeer();
    sut.answer("INVITE", {
      provisional: [{ status: 180, after: 0 }, { status: 183, after: 40, body: "sdp" }],
      respond: { status: 200, after: 80, body: "sdp" },
    });
    const call = await peer.request({ method: "INVITE", uri: sut.uri, sdp: true });
    assert.deepEqual(call.provisional.map((r) => r.status), [100, 180, 183]);
    assert.equal(call.status, 200);
    const sentAt = peer.sent[0].time;
    const at = (status: number) =>
      peer.received.find((e) => e.message.type === "response" && e.message.status === status)!.time - sentAt;
    assert.ok(at(180) <= at(183), `180 after ${at(180)} ms`);
    assert.ok(at(183) >= 35, `183 after ${at(183)} ms`);
    assert.ok(at(200) >= 75, `200 after ${at(200)} ms`);
    await call.bye();
  });

  test("answer() with silent sends nothing: the UAC gives up by Timer F", async () => {
    await using sut = await mockPeer({ user: "sut" });
    await using peer = await mockPeer({ timers: FAST });
    sut.answer("OPTIONS", { silent: true });
    await assert.rejects(peer.request({ method: "OPTIONS", uri: sut.uri }), (e: unknown) => {
      assert.ok(e instanceof MockTimeoutError);
      assert.match(e.message, /no final response \(Timer F, 64\*T1 = 640 ms\)/);
      return true;
    });
    assert.deepEqual(sut.sent, []);
    // RFC 3261 §17.1.2.2: retransmitted at T1, 2*T1, 4*T1, then every T2 (40 ms) until Timer F.
    const copies = methods(sut.received).length;
    assert.ok(copies >= 5 && copies <= 20, `${copies} copies`);
  });

  test("answer() with only a 1xx gives no final response; the signal CANCELs the INVITE: 487", async () => {
    await using sut = await mockPeer({ user: "sut" });
    await using peer = await mockPeer();
    sut.answer("INVITE", { respond: { status: 180 } });
    const abort = new AbortController();
    const pending = peer.request({ method: "INVITE", uri: sut.uri, sdp: true, signal: abort.signal });
    await sut.waitFor("INVITE");
    await until(() => statuses(peer.received).includes(180), "the 180");
    abort.abort();
    const result = await pending;
    assert.equal(result.status, 487);
    // RFC 3261 §17.1.1.3: the 487 is acknowledged by the INVITE transaction.
    await until(() => methods(sut.received).includes("ACK"), "the ACK of the 487");
    assert.deepEqual(methods(sut.received), ["INVITE", "CANCEL", "ACK"]);
    assert.throws(() => result.ack(), TypeError);
  });

  test("answer() with retransmit false sends the 2xx once; by default it is resent until the ACK", async () => {
    await using sut = await mockPeer({ user: "sut", timers: FAST });
    await using peer = await mockPeer();
    sut.answer("INVITE", { respond: { status: 200, body: "sdp" }, retransmit: false });
    const quiet = await peer.request({ method: "INVITE", uri: sut.uri, sdp: true });
    const loud = await peer.request({ method: "INVITE", uri: sut.uri, sdp: true });
    const okCount = (callId: string) =>
      peer.received.filter((e) =>
        e.message.type === "response" && e.message.status === 200 && e.message.callId === callId
      ).length;
    // RFC 3261 §13.3.1.4: the 2xx is resent at T1, 2*T1, ... until the ACK.
    await until(() => okCount(loud.request.callId) >= 3, "two retransmissions of the 2xx");
    assert.equal(okCount(quiet.request.callId), 1);
    // RFC 3261 §13.2.2.4: every retransmission of the 2xx gets the ACK again.
    loud.ack();
    const acks = () => methods(sut.received).filter((m) => m === "ACK").length;
    assert.equal(acks(), 0); // not yet received: the ACK is on its way
    await until(() => acks() >= 1, "the ACK");
    await quiet.bye();
    await loud.bye();
  });

  test("answer() with duplicate sends every response that many times", async () => {
    await using sut = await mockPeer({ user: "sut" });
    await using peer = await mockPeer();
    sut.answer("OPTIONS", { respond: { status: 200 }, duplicate: 3 });
    await peer.request({ method: "OPTIONS", uri: sut.uri });
    await until(() => statuses(peer.received).length === 3, "three copies");
    assert.deepEqual(statuses(sut.sent), [200, 200, 200]);
  });

  test("answer() with choose picks by weight, reproducibly by seed", async () => {
    const run = async () => {
      await using sut = await mockPeer({ user: "sut", seed: 7 });
      await using peer = await mockPeer();
      sut.answer("OPTIONS", {
        choose: [{ weight: 1, respond: { status: 500 } }, { weight: 1, respond: { status: 503 } }],
      }, { times: Infinity });
      const codes: number[] = [];
      for (let i = 0; i < 16; i++) codes.push((await peer.request({ method: "OPTIONS", uri: sut.uri })).status);
      return codes;
    };
    const first = await run();
    assert.ok(first.includes(500) && first.includes(503), first.join());
    assert.deepEqual(await run(), first);
  });

  test("answer() with default lets the built-in behaviour answer, with the modifiers", async () => {
    await using sut = await mockPeer({ user: "sut" });
    await using peer = await mockPeer();
    sut.answer("INVITE", { default: true, provisional: [{ status: 183, after: 0, body: "sdp" }] });
    const call = await peer.request({ method: "INVITE", uri: sut.uriFor("busy"), sdp: true });
    // The built-in test user "busy" answers 486 even so: default means the built-in behaviour.
    assert.equal(call.status, 486);
    const ok = sut.answer("INVITE", { default: true, provisional: [{ status: 183, after: 0, body: "sdp" }] });
    const call2 = await peer.request({ method: "INVITE", uri: sut.uri, sdp: true });
    assert.equal(call2.status, 200);
    assert.deepEqual(call2.provisional.map((r) => r.status), [100, 183]);
    assert.equal(ok.requests.length, 1);
    await call2.bye();
  });

  test("answer() refuses a bad action or times, naming the problem", async () => {
    await using peer = await mockPeer();
    assert.throws(() => peer.answer("INVITE", 99), (e: unknown) => {
      assert.ok(e instanceof RulesError);
      assert.equal(e.message, "answer(): [0].respond.status: must be an integer 100..699, got 99");
      return true;
    });
    assert.throws(() => peer.answer("INVITE", { respond: { status: 200 }, silent: true }), RulesError);
    assert.throws(() => peer.answer("INVITE", 200, { times: 0 }), RangeError);
    assert.throws(() => peer.answer("INVITE", { match: {} } as never), TypeError);
  });

  test("reset() forgets answers, traffic and registrations, and rejects whoever waits", async () => {
    await using sut = await mockPeer({ user: "sut" });
    await using peer = await mockPeer();
    sut.answer("OPTIONS", 500, { times: Infinity });
    await peer.request({
      method: "REGISTER",
      uri: sut.uri,
      headers: { To: `<${sut.uriFor("alice")}>`, Contact: "<sip:alice@127.0.0.1:5999>", Expires: "60" },
    });
    assert.equal(sut.server.peer.bindings().length, 1);
    const waiting = sut.waitFor("BYE");
    sut.reset();
    await assert.rejects(waiting, /reset\(\) while waiting/);
    assert.deepEqual(sut.traffic, []);
    assert.equal(sut.server.peer.bindings().length, 0);
    assert.equal((await peer.request({ method: "OPTIONS", uri: sut.uri })).status, 200);
  });
});

describe("MockPeer.request()", () => {
  test("request() retransmits a non-INVITE on UDP by Timer E until the response (RFC 3261 §17.1.2.2)", async () => {
    const sut = await rawUdp();
    try {
      await using peer = await mockPeer({ timers: FAST });
      const pending = peer.request({ method: "OPTIONS", uri: sut.uri("sut") });
      await until(() => sut.requests("OPTIONS").length >= 4, "four copies");
      const copies = sut.requests("OPTIONS");
      const gaps = copies.slice(1, 4).map((c, i) => c.at - copies[i].at);
      // T1, 2*T1, 4*T1 (capped at T2 = 40 ms); timers may fire late, never early
      assert.ok(gaps[0] >= 9 && gaps[1] >= 19 && gaps[2] >= 38, gaps.join());
      assert.ok(copies.every((c) => c.message.via[0].branch === copies[0].message.via[0].branch));
      const request = copies[0].message;
      assert.match(request.via[0].branch!, /^z9hG4bK/);
      assert.equal(request.via[0].rport, null);
      sut.send(reply(request, 200, "OK", "t1"), copies[0].from);
      const result = await pending;
      assert.equal(result.status, 200);
      const count = sut.requests("OPTIONS").length;
      await sleep(50);
      assert.equal(sut.requests("OPTIONS").length, count, "no retransmission after the final response");
    } finally {
      await sut.close();
    }
  });

  test("request() retransmits an INVITE by Timer A until a 1xx, then ACKs a non-2xx in its transaction", async () => {
    const sut = await rawUdp();
    try {
      await using peer = await mockPeer({ timers: FAST });
      const pending = peer.request({ method: "INVITE", uri: sut.uri("sut"), sdp: true });
      await until(() => sut.requests("INVITE").length >= 3, "three copies");
      const invite = sut.requests("INVITE")[0];
      sut.send(reply(invite.message, 100, "Trying"), invite.from);
      await until(() => statuses(peer.received).includes(100), "the 100 at the mock");
      const after100 = sut.requests("INVITE").length;
      await sleep(60);
      assert.equal(sut.requests("INVITE").length, after100, "RFC 3261 §17.1.1.2: no retransmission in Proceeding");
      sut.send(reply(invite.message, 486, "Busy Here", "callee"), invite.from);
      const result = await pending;
      assert.equal(result.status, 486);
      assert.deepEqual(result.provisional.map((r) => r.status), [100]);
      await until(() => sut.requests("ACK").length === 1, "the ACK");
      // RFC 3261 §17.1.1.3: same branch, Request-URI, Call-ID, CSeq number; To from the response.
      const ack = sut.requests("ACK")[0].message;
      assert.equal(ack.uri, invite.message.uri);
      assert.equal(ack.via.length, 1);
      assert.equal(ack.via[0].branch, invite.message.via[0].branch);
      assert.equal(ack.cseq.seq, invite.message.cseq.seq);
      assert.equal(ack.cseq.method, "ACK");
      assert.equal(ack.to.tag, "callee");
      assert.equal(ack.callId, invite.message.callId);
      // A retransmitted final response gets the ACK again (Timer D keeps the transaction).
      sut.send(reply(invite.message, 486, "Busy Here", "callee"), invite.from);
      await until(() => sut.requests("ACK").length === 2, "the second ACK");
      assert.throws(() => result.ack(), /only a 2xx to an INVITE makes a dialog/);
    } finally {
      await sut.close();
    }
  });

  test("request() resolves a 2xx to an INVITE; ack() and bye() follow the dialog (RFC 3261 §12, §13.2.2.4)", async () => {
    const sut = await rawUdp();
    try {
      await using peer = await mockPeer({ timers: FAST });
      const pending = peer.request({ method: "INVITE", uri: sut.uri("sut"), headers: { Subject: "call" } });
      await until(() => sut.requests("INVITE").length >= 1, "the INVITE");
      const invite = sut.requests("INVITE")[0];
      const offer =
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5004 RTP/AVP 0\r\n";
      const ok = reply(
        invite.message,
        200,
        "OK",
        "callee",
        `Contact: <sip:target@127.0.0.1:${sut.port}>\r\nRecord-Route: <sip:p1@127.0.0.1;lr>, <sip:p2@127.0.0.1;lr>\r\n` +
          `Content-Type: application/sdp\r\n`,
      ).replace("Content-Length: 0\r\n\r\n", `Content-Length: ${offer.length}\r\n\r\n${offer}`);
      sut.send(ok, invite.from);
      const call = await pending;
      assert.equal(call.status, 200);
      assert.equal(call.request.headers.get("Subject"), "call");
      const ack = call.ack();
      assert.equal(call.ack(), ack, "one ACK per 2xx");
      await until(() => sut.requests("ACK").length === 1, "the ACK");
      const wireAck = sut.requests("ACK")[0].message;
      assert.equal(wireAck.uri, `sip:target@127.0.0.1:${sut.port}`);
      assert.notEqual(wireAck.via[0].branch, invite.message.via[0].branch);
      assert.equal(wireAck.cseq.seq, invite.message.cseq.seq);
      assert.deepEqual(wireAck.headers.getAll("Route"), ["<sip:p2@127.0.0.1;lr>", "<sip:p1@127.0.0.1;lr>"]);
      // The INVITE had no offer and the 2xx had one: the answer goes in the ACK (RFC 3261 §13.2.1).
      assert.equal(wireAck.contentType?.mediaType, "application/sdp");
      assert.match(wireAck.bodyText, /^m=audio \d+ RTP\/AVP 0/m);
      // A retransmitted 2xx gets the same ACK again.
      sut.send(ok, invite.from);
      await until(() => sut.requests("ACK").length === 2, "the ACK again");
      assert.equal(sut.requests("ACK")[1].message.via[0].branch, wireAck.via[0].branch);
      const bye = call.bye();
      await until(() => sut.requests("BYE").length >= 1, "the BYE");
      const wireBye = sut.requests("BYE")[0].message;
      assert.equal(wireBye.uri, `sip:target@127.0.0.1:${sut.port}`);
      assert.equal(wireBye.cseq.seq, invite.message.cseq.seq + 1);
      assert.equal(wireBye.to.tag, "callee");
      assert.equal(wireBye.from.tag, invite.message.from.tag);
      sut.send(reply(wireBye, 200, "OK"), invite.from);
      assert.equal((await bye).status, 200);
    } finally {
      await sut.close();
    }
  });

  test("request() goes over a TCP connection the other side opened", async () => {
    await using peer = await mockPeer({ transport: ["udp", "tcp"] });
    const tcp = peer.addresses[1];
    const socket = net.connect(tcp.port, "127.0.0.1");
    const framer = new StreamFramer();
    const inbox: SipMessage[] = [];
    socket.on("data", (chunk) => {
      for (const ev of framer.push(new Uint8Array(chunk))) {
        if (ev.type === "message") inbox.push(parseMessage(ev.bytes, { stream: true }));
      }
    });
    try {
      await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
      const local = { address: "127.0.0.1", port: socket.localPort! };
      socket.write(
        `REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:${local.port};branch=z9hG4bKreg\r\n` +
          `From: <sip:bob@127.0.0.1>;tag=b\r\nTo: <sip:bob@127.0.0.1>\r\nCall-ID: reg1\r\nCSeq: 1 REGISTER\r\n` +
          `Contact: <sip:bob@127.0.0.1:${local.port};transport=tcp>\r\nContent-Length: 0\r\n\r\n`,
      );
      const register = await peer.waitFor({ method: "REGISTER", transport: "tcp" });
      assert.equal(register.callId, "reg1");
      const pending = peer.request({
        method: "OPTIONS",
        uri: `sip:bob@127.0.0.1:${local.port};transport=tcp`,
      });
      await until(() => inbox.some((m) => m.type === "request"), "the OPTIONS over TCP");
      const options = inbox.find((m) => m.type === "request") as SipRequest;
      assert.equal(options.via[0].transport, "TCP");
      socket.write(reply(options, 200, "OK", "b2"));
      const result = await pending;
      assert.equal(result.status, 200);
      assert.equal(peer.received.at(-1)?.transport, "tcp");
      await assert.rejects(
        peer.request({ method: "OPTIONS", uri: "sip:bob@127.0.0.1:1;transport=tcp" }),
        /not sent: send\(\): cannot open a tcp connection to 127\.0\.0\.1:1: /,
      );
    } finally {
      socket.destroy();
    }
  });

  test("request() refuses what it cannot send", async () => {
    await using peer = await mockPeer();
    await assert.rejects(peer.request({ method: "OPTIONS", uri: "sip:x@example.com" }), /host names are not resolved/);
    await assert.rejects(
      peer.request({ method: "OPTIONS", uri: peer.uri, headers: { Via: "SIP/2.0/UDP x" } }),
      /Via is written by the UAC/,
    );
    await assert.rejects(peer.request({ method: "ACK", uri: peer.uri }), TypeError);
    await assert.rejects(
      peer.request({ method: "OPTIONS", uri: peer.uri, transport: "tcp" }),
      /does not listen on tcp/,
    );
  });

  test("request() takes From and To from headers, adding a From tag", async () => {
    await using sut = await mockPeer({ user: "sut" });
    await using peer = await mockPeer();
    const result = await peer.request({
      method: "MESSAGE",
      uri: sut.uri,
      headers: { From: '"Alice" <sip:alice@example.com>', To: "<sip:bob@example.com>" },
      body: "hi",
    });
    assert.equal(result.request.from.uri, "sip:alice@example.com");
    assert.match(result.request.from.tag ?? "", /^[0-9a-f]{8}$/);
    assert.equal(result.request.to.uri, "sip:bob@example.com");
    assert.equal(result.request.contentType?.mediaType, "text/plain");
    const got = await sut.waitFor("MESSAGE");
    assert.equal(got.from.displayName, "Alice");
  });

  test("request() gives up at its timeout with the ladder", async () => {
    await using sut = await mockPeer({ user: "sut" });
    await using peer = await mockPeer();
    sut.answer("INVITE", { respond: { status: 180 } });
    await assert.rejects(peer.request({ method: "INVITE", uri: sut.uri, timeout: 50 }), (e: unknown) => {
      assert.ok(e instanceof MockTimeoutError);
      assert.match(e.message, /^INVITE sip:sut@[^ ]+: no final response within 50 ms\. Traffic at sip:mock@/);
      assert.match(e.message, /\|<-- SIP\/2\.0 180 Ringing/);
      return true;
    });
  });
});

describe("the hooks the mock peer uses", () => {
  const options = (branch: string) =>
    encoder.encode(
      `OPTIONS sip:echo@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK${branch}\r\n` +
        "From: <sip:a@192.0.2.9>;tag=1\r\nTo: <sip:echo@192.0.2.1>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n\r\n",
    );
  const remote = { address: "192.0.2.9", port: 5060, transport: "udp" as const };

  test("SipPeer selectRule answers ahead of rules, and is asked only for new requests", () => {
    const asked: string[] = [];
    const [rule] = parseRules('[{ "respond": { "status": 299 } }]');
    const peer = new SipPeer({
      rules: parseRules('[{ "respond": { "status": 488 } }]'),
      selectRule: (request) => {
        asked.push(request.via[0].branch!);
        return asked.length === 1 ? rule : undefined;
      },
    });
    assert.equal(peer.receive(options("a"), remote, 0)[0].message.status, 299);
    assert.equal(peer.receive(options("a"), remote, 1)[0].message.status, 299); // a retransmission
    assert.equal(peer.receive(options("b"), remote, 2)[0].message.status, 488);
    assert.deepEqual(asked, ["z9hG4bKa", "z9hG4bKb"]);
  });

  test("SipPeer onResponse takes responses that would be dropped", () => {
    const events: string[] = [];
    const responses: SipResponse[] = [];
    const response = encoder.encode(
      decoder.decode(options("x")).replace("OPTIONS sip:echo@192.0.2.1 SIP/2.0", "SIP/2.0 200 OK"),
    );
    new SipPeer({ onEvent: (e) => events.push(e.kind) }).receive(response, remote, 0);
    assert.deepEqual(events, ["dropped"]);
    events.length = 0;
    new SipPeer({ onEvent: (e) => events.push(e.kind), onResponse: (r) => responses.push(r) }).receive(
      response,
      remote,
      0,
    );
    assert.deepEqual(events, []);
    assert.equal(responses[0].status, 200);
  });

  test("serve() send() sends raw bytes from the bound UDP socket", async () => {
    const sut = await rawUdp();
    try {
      await using server = await serve({ listen: [{ transport: "udp", hostname: "127.0.0.1", port: 0 }] });
      // Sent at once: the promise only reports how it went.
      const sent = server.send(options("raw"), { address: "127.0.0.1", port: sut.port });
      await until(() => sut.inbox.length === 1, "the datagram");
      await sent;
      assert.equal(sut.inbox[0].from.port, server.addresses[0].port);
      // Nothing listens on TCP there: the connection send() opens is refused.
      await assert.rejects(
        server.send(options("raw"), { address: "127.0.0.1", port: sut.port }, "tcp"),
        /send\(\): cannot open a tcp connection to 127\.0\.0\.1:\d+: /,
      );
      await server.close();
      await assert.rejects(server.send(options("raw"), { address: "127.0.0.1", port: sut.port }), /closed/);
    } finally {
      await sut.close();
    }
  });

  test("formatLadder() keeps the last lines and says how many it left out", () => {
    const message = parseMessage(decoder.decode(options("l")));
    const entries = Array.from({ length: 5 }, (_, i) => ({
      time: 1000 + i * 10,
      direction: "in" as const,
      transport: "udp" as const,
      remote: { address: "::1", port: 5062 },
      message,
    }));
    const lines = formatLadder(entries, { limit: 2, local: "me" }).split("\n");
    assert.equal(lines.length, 4);
    assert.match(lines[0], /time {2}me +remote$/);
    assert.match(lines[1], /\.\.\. 3 earlier/);
    assert.match(lines[3], /^ +0\.040 {2}\|<-- OPTIONS .*\| \[::1\]:5062 udp +Call-ID: c1$/);
  });
});
