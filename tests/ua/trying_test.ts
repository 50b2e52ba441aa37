import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Remote } from "../../src/ua/peer.ts";
import { parseRules } from "../../src/rules/rules.ts";
import { offerFrom, peer, requestsFrom, runUntil, statuses } from "./_peer.ts";

const UDP: Remote = { address: "192.0.2.9", port: 5070, transport: "udp" };
const OFFER = offerFrom("192.0.2.9");
const request = requestsFrom("192.0.2.9:5070");

/** A peer whose rule answers INVITE to `u` with `status` after `after` ms, and the given provisionals. */
function ruled(after: number, provisional: { status: number; after: number }[] = [], status = 486) {
  return peer({
    rules: parseRules(JSON.stringify([{ match: { user: "u" }, provisional, respond: { status, after } }])),
  });
}

describe("100 Trying only when the answer is not soon (RFC 3261 §17.2.1)", () => {
  test("the default answer (180 and 200 at once) and an answer at once go without a 100", () => {
    assert.deepEqual(statuses(peer().receive(request("INVITE", { body: OFFER }), UDP, 0)), [180, 200]);
    assert.deepEqual(statuses(ruled(0).receive(request("INVITE", { user: "u" }), UDP, 0)), [486]);
  });

  test("a final answer within 200 ms goes without a 100; one later gets a 100 at once", () => {
    const soon = ruled(200);
    assert.deepEqual(statuses(soon.receive(request("INVITE", { user: "u" }), UDP, 0)), []);
    assert.deepEqual(runUntil(soon, 200).map((o) => [o.at, o.message.status]), [[200, 486]]);
    const late = ruled(201);
    const out = late.receive(request("INVITE", { user: "u" }), UDP, 0);
    assert.deepEqual(out.map((o) => [o.at, o.message.status, o.message.reason]), [[0, 100, "Trying"]]);
    assert.equal(out[0].message.to.tag, undefined);
    assert.deepEqual(runUntil(late, 201).map((o) => [o.at, o.message.status]), [[201, 486]]);
  });

  test("a provisional within 200 ms stands for the 100; one later does not", () => {
    const soon = ruled(5000, [{ status: 183, after: 150 }]);
    assert.deepEqual(statuses(soon.receive(request("INVITE", { user: "u" }), UDP, 0)), []);
    assert.deepEqual(runUntil(soon, 150).map((o) => [o.at, o.message.status]), [[150, 183]]);
    const late = ruled(5000, [{ status: 183, after: 1000 }]);
    assert.deepEqual(statuses(late.receive(request("INVITE", { user: "u" }), UDP, 0)), [100]);
  });

  test("the test users: slow and noanswer ring at once, so no 100", () => {
    for (const user of ["slow", "noanswer"]) {
      assert.deepEqual(statuses(peer().receive(request("INVITE", { user, body: OFFER }), UDP, 0)), [180], user);
    }
  });

  test("a retransmitted INVITE before the late answer gets the 100 again", () => {
    const p = ruled(3000);
    const [trying] = p.receive(request("INVITE", { user: "u" }), UDP, 0);
    const again = p.receive(request("INVITE", { user: "u" }), UDP, 500);
    assert.deepEqual(again.map((o) => o.data), [trying.data]);
  });

  test("non-INVITE requests never get a 100 (only the INVITE server transaction sends one)", () => {
    const p = peer({
      rules: parseRules(`[{ "match": { "method": "MESSAGE" }, "respond": { "status": 200, "after": 1000 } }]`),
    });
    assert.deepEqual(statuses(p.receive(request("MESSAGE", { body: "hi", contentType: "text/plain" }), UDP, 0)), []);
  });
});
