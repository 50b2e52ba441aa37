// Reliable provisional responses (RFC 3262) of the SipPeer, on a fake clock.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Output, PeerEvent, Remote } from "../../src/ua/peer.ts";
import { readFileSync } from "node:fs";
import { parseRules } from "../../src/rules/rules.ts";
import { offerFrom, peer, requestsFrom, runUntil, statuses } from "./_peer.ts";

const UDP: Remote = { address: "192.0.2.9", port: 5070, transport: "udp" };
const TCP: Remote = { address: "192.0.2.9", port: 40001, transport: "tcp" };
const OFFER = offerFrom("192.0.2.9");
const request = requestsFrom("192.0.2.9:5070");

/** A PRACK for a reliable provisional response `o` of an INVITE with CSeq 1. */
function prack(o: Output, extra: { cseq?: number; rack?: string; body?: string; branch?: string } = {}): Uint8Array {
  const rseq = o.message.headers.get("RSeq");
  return request("PRACK", {
    toTag: o.message.to.tag,
    cseq: extra.cseq ?? 2,
    branch: extra.branch ?? `z9hG4bK-prack-${rseq}`,
    extra: [`RAck: ${extra.rack ?? `${rseq} 1 INVITE`}`],
    body: extra.body,
  });
}

describe("SipPeer reliable provisional responses (RFC 3262)", () => {
  test("with Supported: 100rel the 180 goes reliably (Require, RSeq) and the 200 waits for its PRACK", () => {
    const p = peer();
    const out = p.receive(request("INVITE", { body: OFFER, extra: ["Supported: 100rel"] }), UDP, 0);
    assert.deepEqual(statuses(out), [180]);
    const ringing = out[0].message;
    assert.equal(ringing.headers.get("Require"), "100rel");
    assert.match(ringing.headers.get("RSeq") ?? "", /^[1-9][0-9]*$/);
    assert.ok(Number(ringing.headers.get("RSeq")) <= 2 ** 31 - 1);
    assert.equal(ringing.headers.get("Supported"), "path, 100rel, timer, replaces");
    assert.equal(p.dialogs.length, 0);
    const acked = p.receive(prack(out[0]), UDP, 100);
    assert.deepEqual(statuses(acked), [200, 200]);
    assert.equal(acked[0].message.cseq.method, "PRACK");
    assert.equal(acked[1].message.cseq.method, "INVITE");
    assert.equal(acked[1].message.to.tag, ringing.to.tag);
    assert.equal(acked[1].message.headers.get("Content-Type"), "application/sdp");
    assert.equal(p.dialogs.length, 1);
  });

  test("a plain INVITE gets an unreliable 180 as before (no RSeq)", () => {
    const out = peer().receive(request("INVITE", { body: OFFER }), UDP, 0);
    assert.deepEqual(statuses(out), [180, 200]);
    assert.equal(out[0].message.headers.get("RSeq"), undefined);
    assert.equal(out[0].message.headers.get("Supported"), undefined);
  });

  test("the reliable 180 is retransmitted from T1 doubling, over TCP too, and the INVITE gets 500 after 64*T1", () => {
    const events: PeerEvent[] = [];
    const p = peer({ timers: { T1: 100 } }, events);
    const out = p.receive(request("INVITE", { body: OFFER, extra: ["Require: 100rel"] }), TCP, 0);
    assert.deepEqual(statuses(out), [180]);
    const later = runUntil(p, 6400);
    assert.deepEqual(later.map((o) => [o.at, o.message.status]), [
      [100, 180],
      [300, 180],
      [700, 180],
      [1500, 180],
      [3100, 180],
      [6300, 180],
      [6400, 500],
    ]);
    assert.ok(later.slice(0, 6).every((o) => o.data === out[0].data));
    assert.equal(p.dialogs.length, 0);
    assert.ok(events.some((e) => e.kind === "timeout" && /no PRACK for the reliable 180/.test(e.message)));
    // A PRACK after that matches nothing.
    assert.deepEqual(statuses(p.receive(prack(out[0]), TCP, 6500)), [481]);
  });

  test("a PRACK whose RAck matches nothing gets 481, and the 180 keeps going until the right one", () => {
    const p = peer();
    const out = p.receive(request("INVITE", { body: OFFER, extra: ["Supported: 100rel"] }), UDP, 0);
    const rseq = Number(out[0].message.headers.get("RSeq"));
    assert.deepEqual(
      statuses(p.receive(prack(out[0], { rack: `${rseq + 1} 1 INVITE`, branch: "z9hG4bK-b1" }), UDP, 10)),
      [
        481,
      ],
    );
    assert.deepEqual(statuses(p.receive(prack(out[0], { rack: `${rseq} 2 INVITE`, branch: "z9hG4bK-b2" }), UDP, 20)), [
      481,
    ]);
    assert.deepEqual(statuses(p.receive(prack(out[0], { rack: `${rseq} 1 BYE`, branch: "z9hG4bK-b3" }), UDP, 30)), [
      481,
    ]);
    assert.deepEqual(statuses(p.receive(prack(out[0], { rack: "x", branch: "z9hG4bK-b4" }), UDP, 40)), [400]);
    assert.deepEqual(statuses(runUntil(p, 500)), [180]);
    assert.deepEqual(statuses(p.receive(prack(out[0]), UDP, 600)), [200, 200]);
    // Its retransmission gets the same 200; a new PRACK for it, 481.
    assert.deepEqual(statuses(p.receive(prack(out[0]), UDP, 700)), [200]);
    assert.deepEqual(statuses(p.receive(prack(out[0], { branch: "z9hG4bK-again", cseq: 3 }), UDP, 800)), [481]);
  });

  test("a PRACK in no early dialog gets 481 (outside a dialog, and in a confirmed one)", () => {
    const p = peer();
    assert.deepEqual(statuses(p.receive(request("PRACK", { extra: ["RAck: 1 1 INVITE"] }), UDP, 0)), [481]);
    const ok = p.receive(request("INVITE", { body: OFFER, callId: "c2", branch: "z9hG4bK-i2" }), UDP, 0)[1];
    const tag = ok.message.to.tag;
    p.receive(request("ACK", { callId: "c2", toTag: tag, branch: "z9hG4bK-a2" }), UDP, 10);
    const late = p.receive(
      request("PRACK", { callId: "c2", toTag: tag, cseq: 2, branch: "z9hG4bK-p2", extra: ["RAck: 1 1 INVITE"] }),
      UDP,
      20,
    );
    assert.deepEqual(statuses(late), [481]);
  });

  test("two reliable provisionals: RSeq +1, the second waits for the first's PRACK, the 200 for the second's", () => {
    const rules = parseRules(`[{ "match": { "user": "two" },
      "provisional": [{ "status": 180, "after": 0 }, { "status": 183, "after": 0, "body": "sdp" }],
      "respond": { "status": 200, "body": "sdp" } }]`);
    const p = peer({ rules });
    const out = p.receive(request("INVITE", { user: "two", body: OFFER, extra: ["Supported: 100rel"] }), UDP, 0);
    assert.deepEqual(statuses(out), [180]);
    const first = Number(out[0].message.headers.get("RSeq"));
    const second = p.receive(prack(out[0]), UDP, 50);
    assert.deepEqual(statuses(second), [200, 183]);
    assert.equal(Number(second[1].message.headers.get("RSeq")), first + 1);
    assert.equal(second[1].message.headers.get("Content-Type"), "application/sdp");
    const final = p.receive(prack(second[1], { cseq: 3 }), UDP, 100);
    assert.deepEqual(statuses(final), [200, 200]);
    // RFC 3262 §5: the answer went in the reliable 183; the 200 carries no SDP.
    assert.equal(final[1].message.body.length, 0);
    assert.equal(final[1].message.cseq.method, "INVITE");
  });

  test("a CANCEL ends the retransmissions: 487, and the held 200 is never sent", () => {
    const p = peer();
    const out = p.receive(request("INVITE", { body: OFFER, extra: ["Supported: 100rel"] }), UDP, 0);
    const cancelled = p.receive(request("CANCEL", { branch: "z9hG4bK-INVITE" }), UDP, 100);
    assert.deepEqual(statuses(cancelled), [200, 487]);
    p.receive(request("ACK", { toTag: out[0].message.to.tag, branch: "z9hG4bK-INVITE" }), UDP, 150);
    assert.deepEqual(runUntil(p, 40000), []);
    assert.deepEqual(statuses(p.receive(prack(out[0]), UDP, 40000)), [481]);
  });

  test("a non-2xx final goes at once, without waiting for the PRACK", () => {
    const rules = parseRules(`[{ "match": { "user": "late-busy" }, "provisional": [{ "status": 180, "after": 0 }],
      "respond": { "status": 486, "after": 100 } }]`);
    const p = peer({ rules });
    p.receive(request("INVITE", { user: "late-busy", extra: ["Supported: 100rel"] }), UDP, 0);
    assert.deepEqual(statuses(runUntil(p, 100)), [486]);
  });

  test("PRACK with an SDP offer after the answer in a reliable 183 gets an answer with the next version (§5)", () => {
    const rules = parseRules(
      `[{ "match": { "user": "early" }, "provisional": [{ "status": 183, "after": 0, "body": "sdp" }],
      "respond": { "status": 200, "body": "sdp" } }]`,
    );
    const p = peer({ rules });
    const out = p.receive(request("INVITE", { user: "early", body: OFFER, extra: ["Supported: 100rel"] }), UDP, 0);
    assert.deepEqual(statuses(out), [183]);
    assert.match(out[0].message.bodyText, /^o=- \d+ 1 IN IP4/m);
    const acked = p.receive(prack(out[0], { body: OFFER }), UDP, 10);
    assert.deepEqual(statuses(acked), [200, 200]);
    assert.match(acked[0].message.bodyText, /^o=- \d+ 2 IN IP4/m);
    assert.equal(acked[1].message.body.length, 0);
  });

  test("an INVITE without SDP: our offer in the reliable 183, its answer in the PRACK, checked", () => {
    const events: PeerEvent[] = [];
    const rules = parseRules(
      `[{ "match": { "user": "early" }, "provisional": [{ "status": 183, "after": 0, "body": "sdp" }],
      "respond": { "status": 200, "body": "sdp" } }]`,
    );
    const p = peer({ rules }, events);
    const out = p.receive(request("INVITE", { user: "early", extra: ["Supported: 100rel"] }), UDP, 0);
    assert.match(out[0].message.bodyText, /^m=audio \d+ RTP\/AVP/m);
    const answer = OFFER.replace("0 101", "0");
    assert.deepEqual(statuses(p.receive(prack(out[0], { body: answer }), UDP, 10)), [200, 200]);
    assert.ok(events.some((e) => e.kind === "answer" && /PRACK .*: SDP answer accepted/.test(e.message)));
  });

  test('rule "reliable": "require" answers 421 with Require: 100rel to an INVITE without it', () => {
    const rules = parseRules(`[{ "match": { "user": "rel" }, "reliable": "require",
      "provisional": [{ "status": 180, "after": 0 }], "respond": { "status": 200, "body": "sdp" } }]`);
    const p = peer({ rules });
    const out = p.receive(request("INVITE", { user: "rel", body: OFFER }), UDP, 0);
    assert.deepEqual(statuses(out), [421]);
    assert.equal(out[0].message.headers.get("Require"), "100rel");
    const ok = p.receive(
      request("INVITE", { user: "rel", body: OFFER, extra: ["Supported: 100rel"], branch: "z9hG4bK-2", callId: "c2" }),
      UDP,
      0,
    );
    assert.deepEqual(statuses(ok), [180]);
    assert.equal(ok[0].message.headers.get("Require"), "100rel");
  });

  test('rule "reliable": "never" ignores Supported, and answers 420 to Require: 100rel (RFC 3262 §4)', () => {
    const rules = parseRules(`[{ "match": { "user": "unrel" }, "reliable": "never", "default": true }]`);
    const p = peer({ rules });
    const plain = p.receive(request("INVITE", { user: "unrel", body: OFFER, extra: ["Supported: 100rel"] }), UDP, 0);
    assert.deepEqual(statuses(plain), [180, 200]);
    assert.equal(plain[1].message.headers.get("RSeq"), undefined);
    const required = p.receive(
      request("INVITE", { user: "unrel", body: OFFER, extra: ["Require: 100rel"], branch: "z9hG4bK-2", callId: "c2" }),
      UDP,
      0,
    );
    assert.deepEqual(statuses(required), [420]);
    assert.equal(required[0].message.headers.get("Unsupported"), "100rel");
  });

  test("a peer whose supported tags leave out 100rel: Supported is ignored, Require gets 420", () => {
    const p = peer({ supported: ["path"] });
    assert.deepEqual(statuses(p.receive(request("INVITE", { body: OFFER, extra: ["Supported: 100rel"] }), UDP, 0)), [
      180,
      200,
    ]);
    const required = p.receive(
      request("INVITE", { body: OFFER, extra: ["Require: 100rel"], branch: "z9hG4bK-2", callId: "c2" }),
      UDP,
      0,
    );
    assert.deepEqual(statuses(required), [420]);
  });

  test("a retransmitted INVITE gets the reliable 180 again; the held 200 goes after the PRACK, then the ACK", () => {
    const p = peer();
    const out = p.receive(request("INVITE", { body: OFFER, extra: ["Supported: 100rel"] }), UDP, 0);
    const again = p.receive(request("INVITE", { body: OFFER, extra: ["Supported: 100rel"] }), UDP, 200);
    assert.deepEqual(again.map((o) => o.data), [out[0].data]);
    const ok = p.receive(prack(out[0]), UDP, 300)[1];
    p.receive(request("ACK", { toTag: ok.message.to.tag, branch: "z9hG4bK-ack" }), UDP, 400);
    assert.equal(p.dialogs[0].acked, true);
    assert.deepEqual(runUntil(p, 40000), []);
  });
});

// The users of tests/data/flows_rules.json, which the SIPp flows call too.
const FLOWS = parseRules(
  readFileSync(new URL("../data/flows_rules.json", import.meta.url), "utf8"),
  "flows_rules.json",
);

describe("the users prack@ and timer@ of tests/data/flows_rules.json", () => {
  test("prack@: 421 without 100rel; with it a reliable 180, then the 200 after the PRACK", () => {
    const p = peer({ rules: FLOWS });
    assert.deepEqual(statuses(p.receive(request("INVITE", { user: "prack", body: OFFER }), UDP, 0)), [421]);
    const out = p.receive(
      request("INVITE", {
        user: "prack",
        body: OFFER,
        extra: ["Supported: 100rel"],
        callId: "c2",
        branch: "z9hG4bK-2",
      }),
      UDP,
      0,
    );
    assert.deepEqual(statuses(out), [180]);
    const rseq = out[0].message.headers.get("RSeq");
    const acked = p.receive(
      request("PRACK", {
        user: "prack",
        callId: "c2",
        toTag: out[0].message.to.tag,
        cseq: 2,
        extra: [`RAck: ${rseq} 1 INVITE`],
      }),
      UDP,
      10,
    );
    assert.deepEqual(statuses(acked), [200, 200]);
    assert.equal(acked[1].message.headers.get("Content-Type"), "application/sdp");
  });

  test("timer@: Session-Expires: 90;refresher=uas in the 200", () => {
    const out = peer({ rules: FLOWS }).receive(
      request("INVITE", { user: "timer", body: OFFER, extra: ["Supported: timer"] }),
      UDP,
      0,
    );
    assert.equal(out.at(-1)!.message.headers.get("Session-Expires"), "90;refresher=uas");
  });
});
