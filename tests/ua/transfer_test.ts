// Call flows of the rules on a SipPeer with a fake clock: `transfer` (sipecho sends REFER in the
// call after N s, answers the NOTIFYs 200, hangs up on a 2xx sipfrag; RFC 3515, RFC 5589 §6),
// and `refer` (whether a REFER taken is handed to onRefer, "call", or reported 200 at once).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { loadRules } from "../../src/rules/load.ts";
import { parseRules } from "../../src/rules/rules.ts";
import type { PeerEvent, PeerRequest, Remote, SipPeer } from "../../src/ua/peer.ts";
import type { ReferRequest } from "../../src/ua/refer.ts";
import { encoder, offerFrom, peer, requestsFrom, runUntil, statuses } from "./_peer.ts";

const UDP: Remote = { address: "192.0.2.9", port: 5070, transport: "udp" };
const request = requestsFrom("192.0.2.9:5070");
const TRANSFER = loadRules([{
  match: { method: "INVITE", user: "transfer" },
  default: true,
  transfer: { after: 2, to: "sip:echo@192.0.2.1" },
}]);

/** Calls `user`@ and ACKs the 200 at `at + 10`; returns the peer's tag. */
function call(p: SipPeer, user = "transfer", at = 0): string {
  const ok = p.receive(request("INVITE", { user, body: offerFrom("192.0.2.9") }), UDP, at).at(-1)!;
  assert.equal(ok.message.status, 200);
  const tag = ok.message.to.tag!;
  p.receive(request("ACK", { user, toTag: tag, branch: "z9hG4bK-ack" }), UDP, at + 10);
  return tag;
}

/** The caller's response to a request of the peer's. */
function answer(req: PeerRequest, status: number, reason = "OK"): Uint8Array {
  const m = req.message;
  const copy = ["Via", "From", "To", "Call-ID", "CSeq"].map((name) => `${name}: ${m.headers.get(name)}`);
  return encoder.encode(`SIP/2.0 ${status} ${reason}\r\n${copy.join("\r\n")}\r\nContent-Length: 0\r\n\r\n`);
}

/** The caller's NOTIFY of its `refer` subscription, with `line` as the sipfrag. */
function notify(tag: string, cseq: number, line: string, state: string): Uint8Array {
  return request("NOTIFY", {
    user: "transfer",
    toTag: tag,
    cseq,
    branch: `z9hG4bK-notify${cseq}`,
    extra: ["Event: refer", `Subscription-State: ${state}`],
    contentType: "message/sipfrag;version=2.0",
    body: `${line}\r\n`,
  });
}

describe("rules: transfer (sipecho transfers the caller, RFC 3515, RFC 5589 §6)", () => {
  test("REFER after 2 s in the dialog; NOTIFYs answered 200; BYE after the NOTIFY with 200", () => {
    const events: PeerEvent[] = [];
    const p = peer({ rules: TRANSFER }, events);
    const tag = call(p);
    assert.deepEqual(runUntil(p, 1999), []);
    assert.deepEqual(p.takeRequests(), [], "nothing before 2 s after the 200");
    runUntil(p, 2000);
    const [referred, ...more] = p.takeRequests();
    assert.equal(more.length, 0);
    const r = referred.message;
    assert.equal(r.method, "REFER");
    assert.equal(r.uri, "sip:alice@192.0.2.9:5070");
    assert.equal(r.headers.get("Refer-To"), "<sip:echo@192.0.2.1>");
    assert.equal(r.headers.get("Referred-By"), "<sip:transfer@192.0.2.1>");
    assert.equal(r.from.tag, tag);
    assert.equal(r.to.tag, "a1");
    assert.deepEqual(p.receive(answer(referred, 202, "Accepted"), UDP, 2050), []);

    assert.deepEqual(statuses(p.receive(notify(tag, 2, "SIP/2.0 100 Trying", "active;expires=60"), UDP, 2100)), [
      200,
    ]);
    runUntil(p, 2200);
    assert.deepEqual(p.takeRequests(), [], "no BYE after a 100");
    assert.deepEqual(
      statuses(p.receive(notify(tag, 3, "SIP/2.0 200 OK", "terminated;reason=noresource"), UDP, 2300)),
      [200],
    );
    runUntil(p, 2300);
    const [bye] = p.takeRequests();
    assert.equal(bye?.message.method, "BYE");
    assert.equal(p.dialogs.length, 0);
    assert.ok(events.some((e) => /transfer .*: done \(200\)/.test(e.message)), "the transfer is logged");
  });

  test("a NOTIFY with 486 leaves the call up; a REFER answered 405 too", () => {
    const p = peer({ rules: TRANSFER });
    const tag = call(p);
    runUntil(p, 2010);
    const [referred] = p.takeRequests();
    p.receive(answer(referred, 202, "Accepted"), UDP, 2050);
    p.receive(notify(tag, 2, "SIP/2.0 486 Busy Here", "terminated;reason=noresource"), UDP, 2100);
    runUntil(p, 3000);
    assert.deepEqual(p.takeRequests(), []);
    assert.equal(p.dialogs.length, 1);

    const q = peer({ rules: TRANSFER });
    call(q);
    runUntil(q, 2010);
    const [again] = q.takeRequests();
    q.receive(answer(again, 405, "Method Not Allowed"), UDP, 2050);
    runUntil(q, 5000);
    assert.deepEqual(q.takeRequests(), []);
    assert.equal(q.dialogs.length, 1);
  });

  test("a call to another user is not transferred; a bad transfer rule is refused naming its path", () => {
    const p = peer({ rules: TRANSFER });
    call(p, "echo");
    runUntil(p, 10_000);
    assert.deepEqual(p.takeRequests(), []);
    assert.throws(
      () => parseRules('[{ "default": true, "transfer": { "after": 2, "to": "mailto:a@b" } }]', "r.json"),
      /r\.json: \[0\]\.transfer\.to: must be a sip: or sips: URI/,
    );
    assert.throws(
      () => parseRules('[{ "default": true, "transfer": { "after": -1, "to": "sip:a@b" } }]', "r.json"),
      /\[0\]\.transfer\.after: must be a number of seconds 0\.\.3600/,
    );
    assert.throws(
      () => parseRules('[{ "default": true, "transfer": { "to": "sip:a@b", "when": 1 } }]', "r.json"),
      /\[0\]\.transfer: unknown key "when"/,
    );
    assert.throws(() => parseRules('[{ "default": true, "refer": "dial" }]', "r.json"), /\[0\]\.refer: must be "call"/);
  });
});

describe('rules: refer ("call" or "notify")', () => {
  /** A REFER in a call; returns the ReferRequests handed to onRefer and the NOTIFY bodies sent. */
  function referIn(p: SipPeer, refers: ReferRequest[]): string[] {
    const tag = call(p, "echo");
    const out = p.receive(
      request("REFER", { toTag: tag, cseq: 2, branch: "z9hG4bK-r", extra: ["Refer-To: <sip:carol@192.0.2.7>"] }),
      UDP,
      100,
    );
    assert.deepEqual(statuses(out), [202]);
    const bodies: string[] = [];
    for (let i = 0; i < 3; i++) {
      const [n] = p.takeRequests();
      if (n === undefined) break;
      bodies.push(n.message.bodyText.trim());
      p.receive(answer(n, 200), UDP, 200 + i);
    }
    void refers;
    return bodies;
  }

  test('"refer": "call" hands the REFER to onRefer even when the peer\'s default is notify', () => {
    const refers: ReferRequest[] = [];
    const rules = loadRules([{ match: { method: "REFER" }, default: true, refer: "call" }]);
    const p = peer({ rules, refer: "notify", onRefer: (r) => void refers.push(r) });
    assert.deepEqual(referIn(p, refers), ["SIP/2.0 100 Trying"]);
    assert.equal(refers.length, 1);
    assert.equal(refers[0].target.uri, "sip:carol@192.0.2.7");
  });

  test('"refer": "notify" (or the default "notify" of a peer told so) reports 200 without onRefer', () => {
    const refers: ReferRequest[] = [];
    const rules = loadRules([{ match: { method: "REFER" }, default: true, refer: "notify" }]);
    const p = peer({ rules, onRefer: (r) => void refers.push(r) });
    assert.deepEqual(referIn(p, refers), ["SIP/2.0 100 Trying", "SIP/2.0 200 OK"]);
    const q = peer({ refer: "notify", onRefer: (r) => void refers.push(r) });
    assert.deepEqual(referIn(q, refers), ["SIP/2.0 100 Trying", "SIP/2.0 200 OK"]);
    assert.equal(refers.length, 0);
  });
});
