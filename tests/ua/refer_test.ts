// Transfer (RFC 3515) of the SipPeer, on a fake clock: REFER in a call answered 202, the
// implicit subscription's NOTIFYs (RFC 6665, message/sipfrag RFC 3420), Refer-Sub: false
// (RFC 4488), Replaces (RFC 3891) and Referred-By (RFC 3892), the onRefer hook, the limits.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { PeerEvent, PeerRequest, Remote } from "../../src/ua/peer.ts";
import type { SipPeer } from "../../src/ua/peer.ts";
import { MAX_REFER_SUBSCRIPTIONS, type ReferRequest } from "../../src/ua/refer.ts";
import { encoder, offerFrom, peer, requestsFrom, runUntil, statuses } from "./_peer.ts";

const UDP: Remote = { address: "192.0.2.9", port: 5070, transport: "udp" };
const OFFER = offerFrom("192.0.2.9");
const request = requestsFrom("192.0.2.9:5070");

/** Calls echo@ and ACKs the 200; returns the peer's tag. */
function call(p: SipPeer, at = 0): string {
  const ok = p.receive(request("INVITE", { body: OFFER }), UDP, at).at(-1)!;
  assert.equal(ok.message.status, 200);
  const tag = ok.message.to.tag!;
  p.receive(request("ACK", { toTag: tag, branch: "z9hG4bK-ack" }), UDP, at + 10);
  return tag;
}

/** A REFER in the call (CSeq `cseq`) with `extra` header fields. */
function refer(tag: string, cseq: number, extra: string[]): Uint8Array {
  return request("REFER", { toTag: tag, cseq, branch: `z9hG4bK-refer${cseq}`, extra });
}

/** The caller's response to a request of the peer's (copying Via, From, To, Call-ID, CSeq). */
function answer(req: PeerRequest, status: number, reason = "OK"): Uint8Array {
  const m = req.message;
  const copy = ["Via", "From", "To", "Call-ID", "CSeq"].map((name) => `${name}: ${m.headers.get(name)}`);
  return encoder.encode(`SIP/2.0 ${status} ${reason}\r\n${copy.join("\r\n")}\r\nContent-Length: 0\r\n\r\n`);
}

describe("SipPeer REFER (RFC 3515)", () => {
  test("a REFER in a call gets 202, then NOTIFY 100 Trying and, after its 200, NOTIFY 200 OK terminated", () => {
    const p = peer();
    const tag = call(p);
    const out = p.receive(refer(tag, 2, ["Refer-To: <sip:carol@192.0.2.7>"]), UDP, 100);
    assert.deepEqual(statuses(out), [202]);
    const [first, ...more] = p.takeRequests();
    assert.equal(more.length, 0, "the second NOTIFY waits for the answer to the first");
    const n1 = first.message;
    assert.equal(n1.method, "NOTIFY");
    assert.equal(n1.uri, "sip:alice@192.0.2.9:5070"); // the caller's Contact (RFC 3261 §12.2.1.1)
    assert.equal(n1.from.tag, tag);
    assert.equal(n1.to.tag, "a1");
    assert.equal(n1.callId, "call-1@example.com");
    assert.equal(n1.headers.get("Event"), "refer;id=2");
    assert.equal(n1.headers.get("Subscription-State"), "active;expires=60");
    assert.equal(n1.headers.get("Content-Type"), "message/sipfrag;version=2.0");
    assert.equal(n1.bodyText, "SIP/2.0 100 Trying\r\n");
    assert.equal(first.remote, UDP);
    assert.deepEqual(p.receive(answer(first, 200), UDP, 150), []);
    const [second, ...none] = p.takeRequests();
    assert.equal(none.length, 0);
    const n2 = second.message;
    assert.equal(n2.cseq.seq, n1.cseq.seq + 1);
    assert.equal(n2.headers.get("Subscription-State"), "terminated;reason=noresource");
    assert.equal(n2.bodyText, "SIP/2.0 200 OK\r\n");
    p.receive(answer(second, 200), UDP, 200);
    assert.deepEqual(p.takeRequests(), []);
    // The call goes on: a BYE ends it as usual.
    assert.deepEqual(statuses(p.receive(request("BYE", { toTag: tag, cseq: 3, branch: "z9hG4bK-bye" }), UDP, 300)), [
      200,
    ]);
  });

  test("OPTIONS lists REFER in Allow", () => {
    const out = peer().receive(request("OPTIONS"), UDP, 0);
    assert.match(out[0].message.headers.get("Allow") ?? "", /\bREFER\b/);
  });

  test("a REFER outside a dialog gets 403; one with no, two or an unreadable Refer-To gets 400", () => {
    const p = peer();
    const outside = p.receive(request("REFER", { extra: ["Refer-To: <sip:carol@192.0.2.7>"] }), UDP, 0);
    assert.deepEqual(statuses(outside), [403]);
    assert.match(outside[0].message.reason, /only inside a call/);
    const tag = call(p, 10);
    const none = p.receive(refer(tag, 2, []), UDP, 100);
    assert.deepEqual(statuses(none), [400]);
    assert.match(none[0].message.reason, /Refer-To: missing/);
    const two = p.receive(refer(tag, 3, ["Refer-To: <sip:c@192.0.2.7>", "Refer-To: <sip:d@192.0.2.7>"]), UDP, 110);
    assert.deepEqual(statuses(two), [400]);
    assert.match(two[0].message.reason, /more than one/);
    const bad = p.receive(refer(tag, 4, ["Refer-To: <sip:carol@192.0.2.7"]), UDP, 120);
    assert.deepEqual(statuses(bad), [400]);
    assert.deepEqual(p.takeRequests(), []);
  });

  test("Refer-Sub: false (RFC 4488) gets 202 with Refer-Sub: false and no NOTIFY", () => {
    const p = peer();
    const tag = call(p);
    const out = p.receive(refer(tag, 2, ["Refer-To: <sip:carol@192.0.2.7>", "Refer-Sub: false"]), UDP, 100);
    assert.deepEqual(statuses(out), [202]);
    assert.equal(out[0].message.headers.get("Refer-Sub"), "false");
    assert.deepEqual(p.takeRequests(), []);
  });

  test("a NOTIFY never answered is resent (Timer E) and given up at Timer F: the subscription ends", () => {
    const events: PeerEvent[] = [];
    const p = peer({}, events);
    const tag = call(p);
    p.receive(refer(tag, 2, ["Refer-To: <sip:carol@192.0.2.7>"]), UDP, 100);
    const [first] = p.takeRequests();
    runUntil(p, 100 + 64 * 500);
    const resent = p.takeRequests();
    assert.ok(resent.length >= 5, `resent ${resent.length} times`);
    assert.ok(resent.every((r) => r.message.cseq.seq === first.message.cseq.seq && r.branch === first.branch));
    assert.ok(events.some((e) => e.kind === "timeout" && /NOTIFY .*no answer: subscription ended/.test(e.message)));
    runUntil(p, 100_000);
    assert.ok(p.takeRequests().every((r) => r.message.cseq.method !== "NOTIFY" || r.branch === first.branch));
  });

  test("a NOTIFY answered 481 ends the subscription: no second NOTIFY", () => {
    const p = peer();
    const tag = call(p);
    p.receive(refer(tag, 2, ["Refer-To: <sip:carol@192.0.2.7>"]), UDP, 100);
    const [first] = p.takeRequests();
    p.receive(answer(first, 481, "Call/Transaction Does Not Exist"), UDP, 150);
    assert.deepEqual(p.takeRequests(), []);
  });

  test(`at most ${MAX_REFER_SUBSCRIPTIONS} subscriptions at once in a call: one more REFER gets 503`, () => {
    const p = peer();
    const tag = call(p);
    for (let i = 0; i < MAX_REFER_SUBSCRIPTIONS; i++) {
      assert.deepEqual(statuses(p.receive(refer(tag, 2 + i, ["Refer-To: <sip:c@192.0.2.7>"]), UDP, 100)), [202]);
    }
    const over = p.receive(refer(tag, 9, ["Refer-To: <sip:c@192.0.2.7>"]), UDP, 100);
    assert.deepEqual(statuses(over), [503]);
    assert.equal(over[0].message.headers.get("Retry-After"), "5");
    // The NOTIFYs carry each REFER's CSeq as the Event id (RFC 3515 §2.4.6).
    const ids = p.takeRequests().map((r) => r.message.headers.get("Event"));
    assert.deepEqual(ids, ["refer;id=2", "refer;id=3", "refer;id=4", "refer;id=5"]);
  });

  test("onRefer: the REFER's target, Replaces and Referred-By; the outcome reported goes in the last NOTIFY", () => {
    const refers: ReferRequest[] = [];
    const p = peer({ onRefer: (r) => void refers.push(r) });
    const tag = call(p);
    const out = p.receive(
      refer(tag, 2, [
        "Refer-To: <sip:bob@192.0.2.8?Replaces=c9%40h%3Bto-tag%3D7%3Bfrom-tag%3D6>",
        "Referred-By: <sip:alice@example.com>",
      ]),
      UDP,
      100,
    );
    assert.deepEqual(statuses(out), [202]);
    assert.equal(refers.length, 1);
    const r = refers[0];
    assert.equal(r.callId, "call-1@example.com");
    assert.equal(r.target.uri, "sip:bob@192.0.2.8?Replaces=c9%40h%3Bto-tag%3D7%3Bfrom-tag%3D6");
    assert.deepEqual(r.target.replaces, { callId: "c9@h", toTag: "7", fromTag: "6", earlyOnly: false });
    assert.equal(r.target.referredBy, "sip:alice@example.com");
    const [trying] = p.takeRequests();
    assert.equal(trying.message.bodyText, "SIP/2.0 100 Trying\r\n");
    p.receive(answer(trying, 200), UDP, 120);
    assert.deepEqual(p.takeRequests(), [], "nothing more until the outcome");
    assert.equal(p.referOutcome(r.id, 180, 200), true);
    const [ringing] = p.takeRequests();
    assert.equal(ringing.message.bodyText, "SIP/2.0 180 Ringing\r\n");
    assert.equal(ringing.message.headers.get("Subscription-State"), "active;expires=60");
    assert.equal(p.referOutcome(r.id, 486, 300), true);
    assert.deepEqual(p.takeRequests(), [], "the last NOTIFY waits for the answer to the one before");
    p.receive(answer(ringing, 200), UDP, 310);
    const [last] = p.takeRequests();
    assert.equal(last.message.bodyText, "SIP/2.0 486 Busy Here\r\n");
    assert.equal(last.message.headers.get("Subscription-State"), "terminated;reason=noresource");
    assert.equal(p.referOutcome(r.id, 200, 400), false, "the subscription is over");
    assert.throws(() => p.referOutcome(r.id, 99, 400), RangeError);
  });

  test("onRefer without an outcome within 60 s: the last NOTIFY says 408, terminated;reason=timeout", () => {
    const p = peer({ onRefer: () => {} });
    const tag = call(p);
    p.receive(refer(tag, 2, ["Refer-To: <sip:carol@192.0.2.7>"]), UDP, 100);
    const [trying] = p.takeRequests();
    p.receive(answer(trying, 200), UDP, 120);
    runUntil(p, 60_099);
    assert.deepEqual(p.takeRequests(), []);
    runUntil(p, 60_100);
    const [last] = p.takeRequests();
    assert.equal(last.message.bodyText, "SIP/2.0 408 Request Timeout\r\n");
    assert.equal(last.message.headers.get("Subscription-State"), "terminated;reason=timeout");
  });

  test("once the call ends, the NOTIFYs still to send are dropped", () => {
    const p = peer({ onRefer: () => {} });
    const tag = call(p);
    p.receive(refer(tag, 2, ["Refer-To: <sip:carol@192.0.2.7>"]), UDP, 100);
    const [trying] = p.takeRequests();
    p.receive(request("BYE", { toTag: tag, cseq: 3, branch: "z9hG4bK-bye" }), UDP, 110);
    p.receive(answer(trying, 200), UDP, 120);
    runUntil(p, 70_000);
    assert.ok(p.takeRequests().every((r) => r.branch === trying.branch));
  });
});
