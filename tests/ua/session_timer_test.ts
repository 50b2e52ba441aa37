// Session timers (RFC 4028) of the SipPeer, on a fake clock.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { PeerEvent, Remote } from "../../src/ua/peer.ts";
import type { SipRequest } from "../../src/sip/message.ts";
import { SipPeer } from "../../src/ua/peer.ts";
import { parseRules } from "../../src/rules/rules.ts";
import { encoder, offerFrom, peer, requestsFrom, runUntil, statuses } from "./_peer.ts";
import { sip } from "../_data.ts";

const UDP: Remote = { address: "192.0.2.9", port: 5070, transport: "udp" };
const OFFER = offerFrom("192.0.2.9");
const request = requestsFrom("192.0.2.9:5070");

/** Calls with `extra` header fields, ACKs the 200; returns the peer's tag. */
function call(p: SipPeer, extra: string[], at = 0, user = "echo"): string {
  const out = p.receive(request("INVITE", { user, body: OFFER, extra }), UDP, at);
  const ok = out.at(-1)!;
  assert.equal(ok.message.status, 200);
  const tag = ok.message.to.tag!;
  p.receive(request("ACK", { user, toTag: tag, branch: "z9hG4bK-ack" }), UDP, at + 10);
  return tag;
}

describe("SipPeer session timers (RFC 4028)", () => {
  test("Session-Expires under 90 s gets 422 with Min-SE: 90; at 90 it is taken", () => {
    const p = peer();
    const out = p.receive(
      request("INVITE", { body: OFFER, extra: ["Session-Expires: 60", "Supported: timer"] }),
      UDP,
      0,
    );
    assert.deepEqual(statuses(out), [422]);
    assert.equal(out[0].message.headers.get("Min-SE"), "90");
    assert.equal(p.dialogs.length, 0);
    const ok = p.receive(
      request("INVITE", { body: OFFER, extra: ["Session-Expires: 90"], branch: "z9hG4bK-2", callId: "c2" }),
      UDP,
      0,
    );
    assert.deepEqual(statuses(ok), [180, 200]);
  });

  test("a peer with minSE 300 answers 422 Min-SE: 300; minSE under 90 is refused", () => {
    const out = peer({ sessionTimer: { minSE: 300 } }).receive(
      request("INVITE", { body: OFFER, extra: ["Session-Expires: 200"] }),
      UDP,
      0,
    );
    assert.deepEqual(statuses(out), [422]);
    assert.equal(out[0].message.headers.get("Min-SE"), "300");
    assert.throws(() => new SipPeer({ sessionTimer: { minSE: 30 } }), RangeError);
    assert.throws(() => new SipPeer({ sessionTimer: { minSE: 300, maxSE: 200 } }), RangeError);
  });

  test("the 2xx says Session-Expires with refresher=uac and Require: timer when the caller supports timer", () => {
    const p = peer();
    const ok = p.receive(
      request("INVITE", { body: OFFER, extra: ["Session-Expires: 1800", "Supported: timer"] }),
      UDP,
      0,
    ).at(-1)!.message;
    assert.equal(ok.headers.get("Session-Expires"), "1800;refresher=uac");
    assert.equal(ok.headers.get("Require"), "timer");
    assert.equal(ok.headers.get("Supported"), "path, 100rel, timer, replaces");
    assert.deepEqual(p.dialogs[0].sessionTimer, { expires: 1800, refresher: "uac" });
  });

  test("a refresher the caller names is kept; a caller without timer makes sipecho the refresher, no Require", () => {
    const p = peer();
    const uas = p.receive(
      request("INVITE", { body: OFFER, extra: ["Session-Expires: 600;refresher=uas", "Supported: timer"] }),
      UDP,
      0,
    ).at(-1)!.message;
    assert.equal(uas.headers.get("Session-Expires"), "600;refresher=uas");
    const plain = p.receive(
      request("INVITE", { body: OFFER, extra: ["Session-Expires: 600"], branch: "z9hG4bK-2", callId: "c2" }),
      UDP,
      0,
    ).at(-1)!.message;
    assert.equal(plain.headers.get("Session-Expires"), "600;refresher=uas");
    assert.equal(plain.headers.get("Require"), undefined);
  });

  test("Session-Expires over 7200 s is lowered to 7200; a Min-SE over it is refused with 400", () => {
    const p = peer();
    const ok = p.receive(request("INVITE", { body: OFFER, extra: ["Session-Expires: 100000"] }), UDP, 0).at(-1)!;
    assert.equal(ok.message.headers.get("Session-Expires"), "7200;refresher=uas");
    const bad = p.receive(
      request("INVITE", {
        body: OFFER,
        extra: ["Session-Expires: 100000", "Min-SE: 10000"],
        branch: "z9hG4bK-2",
        callId: "c2",
      }),
      UDP,
      0,
    );
    assert.deepEqual(statuses(bad), [400]);
    assert.match(bad[0].message.reason, /Min-SE 10000 is over the longest session interval taken \(7200 s\)/);
  });

  test("a Session-Expires or Min-SE that cannot be read gets 400 naming it", () => {
    const p = peer();
    const bad = p.receive(request("INVITE", { body: OFFER, extra: ["Session-Expires: soon"] }), UDP, 0);
    assert.deepEqual(statuses(bad), [400]);
    assert.match(bad[0].message.reason, /Session-Expires/);
    const min = p.receive(
      request("INVITE", { body: OFFER, extra: ["Session-Expires: 90", "Min-SE: x"], branch: "z9hG4bK-2" }),
      UDP,
      0,
    );
    assert.deepEqual(statuses(min), [400]);
  });

  test("no refresh from the caller (refresher uac): BYE at SE - min(32, SE/3), i.e. 60 s into a 90 s session", () => {
    const events: PeerEvent[] = [];
    const p = peer({}, events);
    call(p, ["Session-Expires: 90", "Supported: timer"]);
    runUntil(p, 59_999);
    assert.deepEqual(p.takeRequests(), []);
    runUntil(p, 60_000);
    const [bye] = p.takeRequests();
    assert.equal(bye.message.method, "BYE");
    assert.equal(bye.at, 60_000);
    assert.equal(p.dialogs.length, 0);
    assert.ok(events.some((e) => e.kind === "timeout" && /no session refresh within 90 s/.test(e.message)));
  });

  test("a refresh by UPDATE restarts the session timer; its 200 carries Session-Expires", () => {
    const p = peer();
    const tag = call(p, ["Session-Expires: 90", "Supported: timer"]);
    runUntil(p, 50_000);
    const update = p.receive(
      request("UPDATE", {
        toTag: tag,
        cseq: 2,
        branch: "z9hG4bK-up",
        extra: ["Session-Expires: 90;refresher=uac", "Supported: timer"],
      }),
      UDP,
      50_000,
    );
    assert.deepEqual(statuses(update), [200]);
    assert.equal(update[0].message.headers.get("Session-Expires"), "90;refresher=uac");
    assert.equal(update[0].message.headers.get("Require"), "timer");
    runUntil(p, 109_999);
    assert.deepEqual(p.takeRequests(), []);
    runUntil(p, 110_000);
    assert.equal(p.takeRequests()[0]?.message.method, "BYE");
  });

  test("a re-INVITE refreshes too; one without Session-Expires turns the timer off", () => {
    const p = peer();
    const tag = call(p, ["Session-Expires: 90", "Supported: timer"]);
    const re = p.receive(
      request("INVITE", { toTag: tag, cseq: 2, body: OFFER, branch: "z9hG4bK-re", extra: ["Session-Expires: 120"] }),
      UDP,
      30_000,
    );
    assert.equal(re.at(-1)!.message.headers.get("Session-Expires"), "120;refresher=uas");
    p.receive(request("ACK", { toTag: tag, cseq: 2, branch: "z9hG4bK-ack2" }), UDP, 30_010);
    assert.deepEqual(p.dialogs[0].sessionTimer, { expires: 120, refresher: "uas" });
    p.receive(request("UPDATE", { toTag: tag, cseq: 3, branch: "z9hG4bK-up" }), UDP, 40_000);
    assert.equal(p.dialogs[0].sessionTimer, undefined);
    runUntil(p, 400_000);
    assert.deepEqual(p.takeRequests(), []);
  });

  test("UPDATE under the minimum gets 422 and the session timer is left as it was", () => {
    const p = peer();
    const tag = call(p, ["Session-Expires: 90", "Supported: timer"]);
    const update = p.receive(
      request("UPDATE", { toTag: tag, cseq: 2, branch: "z9hG4bK-up", extra: ["Session-Expires: 30"] }),
      UDP,
      1000,
    );
    assert.deepEqual(statuses(update), [422]);
    assert.deepEqual(p.dialogs[0].sessionTimer, { expires: 90, refresher: "uac" });
  });

  test('rule timer { refresher: "uas", expires: 90 }: sipecho asks for 90 s and refreshes with UPDATE at 45 s', () => {
    const events: PeerEvent[] = [];
    const rules = parseRules(`[{ "match": { "user": "t" }, "timer": { "refresher": "uas", "expires": 90 },
      "respond": { "status": 200, "body": "sdp" } }]`);
    const p = peer({ rules }, events);
    const out = p.receive(request("INVITE", { user: "t", body: OFFER, extra: ["Supported: timer"] }), UDP, 0);
    assert.equal(out.at(-1)!.message.headers.get("Session-Expires"), "90;refresher=uas");
    assert.equal(out.at(-1)!.message.headers.get("Require"), "timer");
    p.receive(request("ACK", { user: "t", toTag: out.at(-1)!.message.to.tag, branch: "z9hG4bK-ack" }), UDP, 10);
    runUntil(p, 44_999);
    assert.deepEqual(p.takeRequests(), []);
    runUntil(p, 45_000);
    const [update] = p.takeRequests();
    const m = update.message;
    assert.equal(m.method, "UPDATE");
    assert.equal(m.uri, "sip:alice@192.0.2.9:5070");
    assert.equal(m.headers.get("Session-Expires"), "90;refresher=uas");
    assert.equal(m.headers.get("Contact"), "<sip:t@192.0.2.1:5060>");
    assert.equal(m.cseq.seq, 1);
    assert.equal(m.body.length, 0);
    // UDP: Timer E resends it until its 200.
    runUntil(p, 45_500);
    assert.deepEqual(p.takeRequests().map((r) => r.message.method), ["UPDATE"]);
    const ok = sip([
      "SIP/2.0 200 OK",
      `Via: ${m.headers.get("Via")}`,
      `From: ${m.headers.get("From")}`,
      `To: ${m.headers.get("To")}`,
      `Call-ID: ${m.callId}`,
      "CSeq: 1 UPDATE",
      "Session-Expires: 90;refresher=uas",
      "Content-Length: 0",
    ]);
    p.receive(encoder.encode(ok), UDP, 45_600);
    // The next refresh 45 s after the 200; no BYE.
    runUntil(p, 90_599);
    assert.deepEqual(p.takeRequests().map((r) => r.message.method), []);
    runUntil(p, 90_600);
    const [next] = p.takeRequests();
    assert.equal(next.message.method, "UPDATE");
    assert.equal(next.message.cseq.seq, 2);
    assert.equal(p.dialogs.length, 1);
    // Logged as refreshes (kind "refresh"), not as BYEs.
    const refreshes = events.filter((e) => e.kind === "refresh").map((e) => e.message);
    assert.ok(refreshes.length >= 3, refreshes.join("\n"));
    assert.match(refreshes[0], /UPDATE .*: the peer refreshes the session \(RFC 4028 §7\.4\)/);
    assert.ok(refreshes.some((m) => /the session refresh got 200: 90 s more/.test(m)));
    assert.ok(!events.some((e) => e.kind === "bye"));
  });

  test("a refresh answered 481 (or never answered) ends the session with BYE", () => {
    const rules = parseRules(`[{ "match": { "user": "t" }, "timer": { "refresher": "uas", "expires": 90 },
      "respond": { "status": 200, "body": "sdp" } }]`);
    const p = peer({ rules, timers: { T1: 100 } });
    call(p, ["Supported: timer"], 0, "t");
    runUntil(p, 45_000);
    const [update] = p.takeRequests();
    const m = update.message;
    const gone = sip([
      "SIP/2.0 481 Call/Transaction Does Not Exist",
      `Via: ${m.headers.get("Via")}`,
      `From: ${m.headers.get("From")}`,
      `To: ${m.headers.get("To")}`,
      `Call-ID: ${m.callId}`,
      "CSeq: 1 UPDATE",
      "Content-Length: 0",
    ]);
    p.takeRequests();
    p.receive(encoder.encode(gone), UDP, 45_050);
    assert.deepEqual(p.takeRequests().map((r) => r.message.method), ["BYE"]);
    assert.equal(p.dialogs.length, 0);
    // Never answered: Timer F (64*T1 = 6.4 s), then BYE.
    const q = peer({ rules, timers: { T1: 100 } });
    call(q, ["Supported: timer"], 0, "t");
    runUntil(q, 45_000 + 6_400);
    const sent = q.takeRequests().map((r) => r.message.method);
    assert.equal(sent.at(-1), "BYE");
    assert.ok(sent.filter((s) => s === "UPDATE").length > 1);
  });

  test("a stateless peer runs no session timer and refuses Require: timer", () => {
    const p = peer({ stateless: true });
    const out = p.receive(request("INVITE", { body: OFFER, extra: ["Session-Expires: 90"] }), UDP, 0);
    assert.equal(out.at(-1)!.message.headers.get("Session-Expires"), undefined);
    const req = p.receive(request("INVITE", { body: OFFER, extra: ["Require: timer"], callId: "c2" }), UDP, 0);
    assert.deepEqual(statuses(req), [420]);
  });
});

describe('rule timer { method: "INVITE" }: sipecho refreshes by re-INVITE (RFC 4028 §7.4)', () => {
  const rules = parseRules(
    `[{ "match": { "user": "t" }, "timer": { "refresher": "uas", "expires": 90, "method": "INVITE" },
    "respond": { "status": 200, "body": "sdp" } }]`,
  );

  /** A response of the caller to the peer's request `m`. */
  function answerTo(m: SipRequest, status: number, reason: string, extra: string[] = []): Uint8Array {
    return encoder.encode(sip([
      `SIP/2.0 ${status} ${reason}`,
      `Via: ${m.headers.get("Via")}`,
      `From: ${m.headers.get("From")}`,
      `To: ${m.headers.get("To")}`,
      `Call-ID: ${m.callId}`,
      `CSeq: ${m.cseq.seq} ${m.cseq.method}`,
      ...extra,
      "Content-Length: 0",
    ]));
  }

  test("a re-INVITE with the 200's SDP unchanged at 45 s; its 200 ACKed (again when resent); the next 45 s later", () => {
    const events: PeerEvent[] = [];
    const p = peer({ rules }, events);
    const out = p.receive(request("INVITE", { user: "t", body: OFFER, extra: ["Supported: timer"] }), UDP, 0);
    const ok = out.at(-1)!.message;
    p.receive(request("ACK", { user: "t", toTag: ok.to.tag, branch: "z9hG4bK-ack" }), UDP, 10);
    runUntil(p, 45_000);
    const [invite] = p.takeRequests();
    const m = invite.message as SipRequest;
    assert.equal(m.method, "INVITE");
    assert.equal(m.uri, "sip:alice@192.0.2.9:5070");
    assert.equal(m.headers.get("Session-Expires"), "90;refresher=uas");
    assert.equal(m.headers.get("Content-Type"), "application/sdp");
    assert.equal(m.bodyText, ok.bodyText, "the same SDP, the same o= version (RFC 3264 §8)");
    p.receive(answerTo(m, 100, "Trying"), UDP, 45_100);
    assert.deepEqual(p.takeRequests(), []);
    runUntil(p, 46_000);
    assert.deepEqual(p.takeRequests(), [], "no resend after a 1xx (Timer A stops)");
    p.receive(answerTo(m, 200, "OK", ["Session-Expires: 90;refresher=uas"]), UDP, 46_100);
    const [ack] = p.takeRequests();
    assert.equal(ack.message.method, "ACK");
    assert.equal(ack.message.cseq.seq, m.cseq.seq);
    assert.equal(ack.message.cseq.method, "ACK");
    assert.notEqual(ack.branch, invite.branch, "the ACK of a 2xx is a new transaction (RFC 3261 §13.2.2.4)");
    assert.equal(ack.message.body.length, 0);
    p.receive(answerTo(m, 200, "OK", ["Session-Expires: 90;refresher=uas"]), UDP, 46_600);
    const [again] = p.takeRequests();
    assert.equal(again.message.method, "ACK");
    assert.equal(again.branch, ack.branch);
    runUntil(p, 91_099);
    assert.deepEqual(p.takeRequests().map((r) => r.message.method), []);
    runUntil(p, 91_100);
    assert.deepEqual(p.takeRequests().map((r) => r.message.method), ["INVITE"]);
    assert.ok(events.some((e) => e.kind === "refresh" && /INVITE .*refreshes the session/.test(e.message)));
  });

  test("491 (glare): ACKed with the INVITE's branch, tried again 2 s later; 481: ACKed, then BYE", () => {
    const p = peer({ rules });
    call(p, ["Supported: timer"], 0, "t");
    runUntil(p, 45_000);
    const [first] = p.takeRequests();
    const m = first.message as SipRequest;
    p.receive(answerTo(m, 491, "Request Pending"), UDP, 45_050);
    const [ack] = p.takeRequests();
    assert.equal(ack.message.method, "ACK");
    assert.equal(ack.branch, first.branch, "the ACK of a non-2xx is in the INVITE's transaction (§17.1.1.3)");
    runUntil(p, 47_049);
    assert.deepEqual(p.takeRequests().map((r) => r.message.method), []);
    runUntil(p, 47_050);
    const [retry] = p.takeRequests();
    assert.equal(retry.message.method, "INVITE");
    p.receive(answerTo(retry.message as SipRequest, 481, "Call/Transaction Does Not Exist"), UDP, 47_100);
    assert.deepEqual(p.takeRequests().map((r) => r.message.method), ["ACK", "BYE"]);
    assert.equal(p.dialogs.length, 0);
  });

  test('"method" other than UPDATE or INVITE is refused naming its path', () => {
    assert.throws(
      () => parseRules('[{ "default": true, "timer": { "refresher": "uas", "method": "PRACK" } }]', "r.json"),
      /r\.json: \[0\]\.timer\.method: must be "UPDATE" or "INVITE", got "PRACK"/,
    );
  });
});
