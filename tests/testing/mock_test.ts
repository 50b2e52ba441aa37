// The mock peer on real loopback sockets: the same tests on Deno and on Bun. Its UAC (request())
// is tested in uac_test.ts and uac_connect_test.ts.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { formatLadder } from "../../src/testing/mod.ts";
import {
  MockPeer,
  mockPeer,
  MockTimeoutError,
  parseMessage,
  parseRules,
  RulesError,
  serve,
  SipPeer,
  type SipResponse,
} from "../../mod.ts";
import { until } from "../_wait.ts";
import { FAST, methods, rawUdp, statuses } from "./_sut.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

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
      assert.equal(lines[0], `waitFor({ method: "BYE", "Call-ID": "nope" }): no matching request within 30 ms.`);
      // The closest request and why it missed come first (diagnostics_test.ts), then the ladder.
      lines.splice(0, lines.indexOf(`Traffic at ${sut.uri}:`));
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
      ["INVITE", 180, 200, "ACK", "BYE", 200],
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
    assert.deepEqual(call.provisional.map((r) => r.status), [180, 183]);
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
    assert.deepEqual(call2.provisional.map((r) => r.status), [183]);
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
