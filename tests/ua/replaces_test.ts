// Replaces (RFC 3891 §3) at the SipPeer as UAS, on a fake clock: a confirmed dialog replaced
// (the new INVITE 200, a BYE of ours in the old dialog), no match 481, an early dialog 481,
// early-only 486, two Replaces or one in another request 400, Supported: replaces.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { PeerEvent, Remote, SipPeer } from "../../src/ua/peer.ts";
import { offerFrom, peer, requestsFrom, statuses } from "./_peer.ts";

const ALICE: Remote = { address: "192.0.2.9", port: 5070, transport: "udp" };
const CAROL: Remote = { address: "192.0.2.7", port: 5080, transport: "udp" };
const fromAlice = requestsFrom("192.0.2.9:5070");
const fromCarol = requestsFrom("192.0.2.7:5080");

/** Alice calls echo@ (Call-ID call-1@example.com, her tag a1) and ACKs the 200; returns our tag. */
function call(p: SipPeer): string {
  const ok = p.receive(fromAlice("INVITE", { body: offerFrom("192.0.2.9") }), ALICE, 0).at(-1)!;
  assert.equal(ok.message.status, 200);
  const tag = ok.message.to.tag!;
  p.receive(fromAlice("ACK", { toTag: tag, branch: "z9hG4bK-ack" }), ALICE, 10);
  return tag;
}

/** Carol's INVITE (Call-ID call-2, her tag c1) with these Replaces values. */
function replacing(values: string[], user = "echo", method = "INVITE"): Uint8Array {
  return fromCarol(method, {
    user,
    callId: "call-2@example.com",
    fromTag: "c1",
    branch: "z9hG4bK-carol",
    body: method === "INVITE" ? offerFrom("192.0.2.7") : "",
    extra: values.map((v) => `Replaces: ${v}`),
  });
}

describe("SipPeer Replaces (RFC 3891)", () => {
  test("a confirmed dialog named with our tag as to-tag is replaced: 200 to the new INVITE, BYE in the old", () => {
    const events: PeerEvent[] = [];
    const p = peer({}, events);
    const tag = call(p);
    const out = p.receive(replacing([`call-1@example.com;to-tag=${tag};from-tag=a1`]), CAROL, 100);
    assert.equal(out.at(-1)!.message.status, 200);
    const [bye, ...more] = p.takeRequests();
    assert.equal(more.length, 0);
    assert.equal(bye.message.method, "BYE");
    assert.equal(bye.message.callId, "call-1@example.com");
    assert.equal(bye.message.from.tag, tag);
    assert.equal(bye.message.to.tag, "a1");
    assert.deepEqual(bye.remote, ALICE);
    const said = events.find((e) => e.message.startsWith("replaces:"));
    assert.ok(said, "an event says the dialog was replaced");
    assert.equal(said.message, `replaces: dialog call-1@example.com|${tag}|a1 replaced by call call-2@example.com`);
    assert.equal(said.callId, "call-1@example.com");
    // The old dialog is gone (a request in it gets 481), the new one stays.
    const late = fromAlice("INFO", { toTag: tag, cseq: 2, branch: "z9hG4bK-info" });
    assert.deepEqual(statuses(p.receive(late, ALICE, 200)), [481]);
    assert.equal(p.stats().active.dialogs, 1);
  });

  test("the tags the other way round, or another Call-ID, match nothing: 481, and no BYE", () => {
    const p = peer();
    const tag = call(p);
    for (const value of [`call-1@example.com;to-tag=a1;from-tag=${tag}`, `nope;to-tag=${tag};from-tag=a1`]) {
      const out = p.receive(replacing([value]), CAROL, 100);
      assert.deepEqual(statuses(out), [481], value);
      assert.deepEqual(p.takeRequests(), []);
    }
    assert.equal(p.stats().active.dialogs, 1);
  });

  test("an early dialog whose UAS we are gets 481 (RFC 3891 §3), and rings on", () => {
    const p = peer();
    const ringing = p.receive(fromAlice("INVITE", { user: "noanswer", body: offerFrom("192.0.2.9") }), ALICE, 0);
    assert.deepEqual(statuses(ringing), [180]);
    const tag = ringing[0].message.to.tag!;
    const out = p.receive(replacing([`call-1@example.com;to-tag=${tag};from-tag=a1`]), CAROL, 100);
    assert.deepEqual(statuses(out), [481]);
    assert.match(out[0].message.reason, /early dialog/);
    assert.deepEqual(p.takeRequests(), []);
  });

  test("early-only and a confirmed dialog: 486, the dialog stays", () => {
    const p = peer();
    const tag = call(p);
    const out = p.receive(replacing([`call-1@example.com;to-tag=${tag};from-tag=a1;early-only`]), CAROL, 100);
    assert.deepEqual(statuses(out), [486]);
    assert.deepEqual(p.takeRequests(), []);
  });

  test("two Replaces, a Replaces without its tags, or one in an OPTIONS: 400", () => {
    const p = peer();
    const tag = call(p);
    const value = `call-1@example.com;to-tag=${tag};from-tag=a1`;
    const two = p.receive(replacing([value, value]), CAROL, 100);
    assert.deepEqual(statuses(two), [400]);
    assert.match(two[0].message.reason, /more than one Replaces/);
    const bad = p.receive(replacing(["call-1@example.com;to-tag=x"], "echo", "INVITE"), CAROL, 200);
    assert.deepEqual(statuses(bad), [400]);
    const options = p.receive(replacing([value], "echo", "OPTIONS"), CAROL, 300);
    assert.deepEqual(statuses(options), [400]);
    assert.deepEqual(p.takeRequests(), []);
    assert.equal(p.stats().active.dialogs, 1);
  });

  test("a rule that rejects the new INVITE leaves the old dialog alone", () => {
    const p = peer();
    const tag = call(p);
    const out = p.receive(replacing([`call-1@example.com;to-tag=${tag};from-tag=a1`], "busy"), CAROL, 100);
    assert.deepEqual(statuses(out), [486]);
    assert.deepEqual(p.takeRequests(), []);
  });

  test("Supported lists replaces by default; a stateless peer leaves it out", () => {
    const supported = (p: SipPeer) => p.receive(fromAlice("OPTIONS"), ALICE, 0)[0].message.headers.get("Supported");
    assert.match(supported(peer()) ?? "", /\breplaces\b/);
    assert.doesNotMatch(supported(peer({ stateless: true })) ?? "", /\breplaces\b/);
  });
});
