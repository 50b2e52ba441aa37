import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Remote } from "../../src/ua/peer.ts";
import { EDGE_PUBLIC, SourceGuard } from "../../src/ua/guard.ts";
import { PeerCounters, RESPONSE_TIME_BUCKETS, STAT_METHODS, STAT_TRANSPORTS } from "../../src/ua/counters.ts";
import { encoder, offerFrom, peer, requestsFrom, runUntil, statuses } from "./_peer.ts";

const UDP: Remote = { address: "192.0.2.9", port: 5070, transport: "udp" };
const TCP: Remote = { address: "192.0.2.9", port: 40001, transport: "tcp" };
const request = requestsFrom("192.0.2.9:5070");
const OFFER = offerFrom("192.0.2.9");

describe("SipPeer.stats()", () => {
  test("SipPeer.stats() counts requests by method and transport, responses by code and class", () => {
    const p = peer();
    p.receive(request("OPTIONS"), UDP, 0);
    p.receive(request("OPTIONS", { branch: "z9hG4bK-o2", callId: "c2" }), TCP, 0);
    p.receive(request("FOO", { branch: "z9hG4bK-f" }), UDP, 0);
    p.receive(request("INVITE", { body: OFFER, callId: "c3", branch: "z9hG4bK-i" }), UDP, 0);
    const s = p.stats();
    assert.equal(s.requests.OPTIONS.udp, 1);
    assert.equal(s.requests.OPTIONS.tcp, 1);
    assert.equal(s.requests.other.udp, 1);
    assert.equal(s.requests.INVITE.udp, 1);
    assert.equal(s.requests.BYE.udp, 0);
    assert.deepEqual(Object.keys(s.requests), [...STAT_METHODS]);
    assert.deepEqual(Object.keys(s.requests.ACK), [...STAT_TRANSPORTS]);
    // OPTIONS x2 200, FOO 501, INVITE 180 200.
    assert.deepEqual(s.responses, { 180: 1, 200: 3, 501: 1 });
    assert.deepEqual(s.responseClasses, { "1xx": 1, "2xx": 3, "3xx": 0, "4xx": 0, "5xx": 1, "6xx": 0 });
  });

  test("SipPeer.stats() tells the tables against their limits", () => {
    const p = peer({ limits: { dialogs: 7 } });
    p.receive(request("INVITE", { body: OFFER }), UDP, 0);
    const s = p.stats();
    assert.deepEqual(s.active, { transactions: 1, pending: 1, dialogs: 1, bindings: 0 });
    assert.equal(s.limits.dialogs, 7);
    assert.equal(s.limits.transactions, 100_000);
  });

  test("SipPeer.stats() puts a delayed final in its response-time bucket, on the peer's clock", () => {
    const p = peer();
    // slow@: 200 after 3 s.
    p.receive(request("INVITE", { user: "slow", body: OFFER }), UDP, 1000);
    assert.equal(p.stats().responseTime.count, 0);
    assert.ok(statuses(runUntil(p, 4000)).includes(200));
    const t = p.stats().responseTime;
    assert.equal(t.count, 1);
    assert.equal(t.sum, 3);
    assert.equal(t.buckets.length, RESPONSE_TIME_BUCKETS.length + 1);
    assert.equal(t.buckets[RESPONSE_TIME_BUCKETS.indexOf(5)], 1); // 3 s: in the bucket up to 5 s
    assert.equal(t.buckets.reduce((a, b) => a + b), 1);
  });

  test("SipPeer.stats() counts retransmitted requests absorbed and responses sent again", () => {
    const p = peer();
    p.receive(request("OPTIONS"), UDP, 0);
    p.receive(request("OPTIONS"), UDP, 100); // Completed: the 200 again
    p.receive(request("INVITE", { user: "busy", branch: "z9hG4bK-b", callId: "b" }), UDP, 0);
    runUntil(p, 600); // Timer G: the 486 again after T1
    const s = p.stats();
    assert.equal(s.retransmissions.absorbed, 1);
    assert.equal(s.retransmissions.sent, 2);
    assert.equal(s.responses[486], 2);
  });

  test("SipPeer.stats() counts parse errors, bytes that are not SIP, stray ACKs and responses", () => {
    const p = peer();
    p.receive(encoder.encode("\x16\x03\x01 hello"), UDP, 0);
    p.receive(encoder.encode("OPTIONS sip:echo@192.0.2.1 SIP/2.0\r\nVia: nonsense\r\n\r\n"), UDP, 0);
    p.receive(request("ACK", { toTag: "nobody" }), UDP, 0);
    p.receive(
      encoder.encode(
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx\r\nFrom: <sip:a@h>;tag=1\r\n" +
          "To: <sip:b@h>;tag=2\r\nCall-ID: x\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n",
      ),
      UDP,
      0,
    );
    const s = p.stats();
    assert.equal(s.parseErrors, 2);
    assert.equal(s.drops.not_sip, 1);
    assert.equal(s.drops.stray, 2);
  });

  test("SipPeer.stats() counts what a source over its rate sends as dropped (rate)", () => {
    const guard = new SourceGuard({ ...EDGE_PUBLIC, rate: 1, burst: 1 });
    const p = peer({ guard });
    for (let i = 0; i < 5; i++) p.receive(request("OPTIONS", { branch: `z9hG4bK-r${i}` }), UDP, 0);
    const s = p.stats();
    assert.equal(s.drops.rate, 4); // one answered 503 as it crossed the rate, three ignored
    assert.equal(s.requests.OPTIONS.udp, 1);
  });
});

describe("PeerCounters", () => {
  test("PeerCounters.answered() puts a time on a bucket's bound in that bucket, past the last in +Inf", () => {
    const c = new PeerCounters();
    c.answered(0);
    c.answered(1);
    c.answered(1.5);
    c.answered(120_000);
    const t = c.snapshot().responseTime;
    assert.equal(t.buckets[0], 2);
    assert.equal(t.buckets[1], 1);
    assert.equal(t.buckets.at(-1), 1);
    assert.equal(t.count, 4);
    assert.equal(t.sum, 120.0025);
  });

  test("PeerCounters.response() counts a status out of 100..699 under none of the codes", () => {
    const c = new PeerCounters();
    c.response(99);
    c.response(700);
    c.response(699, 2);
    assert.deepEqual(c.snapshot().responses, { 699: 2 });
  });
});
