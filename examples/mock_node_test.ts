/**
 * The mock peer under Node.js's own test runner (it runs under `deno test` and `bun test` too:
 * node:test is in all three).
 *
 *     node --test examples/mock_node_test.ts
 *
 * Node.js 22 strips the types of this file and of sipecho itself, but has no `await using`
 * (Node.js 24 has): each test closes its mock peers in a `finally` block instead. Here one mock stands in for
 * the system under test, a callee, and a second one calls it; in a real project the caller or
 * the callee is your code.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mockPeer } from "../mod.ts"; // in your project: from "@sipecho/sipecho"

describe("the mock peer on Node.js", () => {
  it("records a whole call: INVITE, ACK, INFO, BYE", async () => {
    const callee = await mockPeer({ user: "bob" });
    const caller = await mockPeer({ user: "alice", timers: { T1: 50 } });
    try {
      const call = await caller.request({ method: "INVITE", uri: callee.uriFor("bob"), sdp: true });
      assert.equal(call.status, 200);
      call.ack();
      const info = await call.inDialog("INFO", { body: "Signal=5\r\n", contentType: "application/dtmf-relay" });
      assert.equal(info.status, 200);
      assert.equal((await call.bye()).status, 200);

      const dialog = await callee.waitForDialog({ method: "INVITE", user: "bob" });
      assert.equal(dialog.invite.from.uri, caller.uriFor("alice"));
      assert.equal(dialog.bye.callId, dialog.callId);
      assert.ok(callee.received.some((e) => e.message.type === "request" && e.message.method === "INFO"));
    } finally {
      await Promise.all([caller.close(), callee.close()]);
    }
  });

  it("answers as scripted, and says what came when the wait fails", async () => {
    const callee = await mockPeer({ timeout: 200 });
    const caller = await mockPeer({ timers: { T1: 50 } });
    try {
      callee.answer("MESSAGE", { respond: { status: 488, reason: "Not Here" } });

      const sent = await caller.request({ method: "MESSAGE", uri: callee.uri, body: "hello" });
      assert.equal(sent.status, 488);
      assert.equal(sent.response.reason, "Not Here");
      await assert.rejects(callee.waitFor("SUBSCRIBE"), /\|<-- MESSAGE sip:mock@127\.0\.0\.1:\d+ SIP\/2\.0/);
    } finally {
      await Promise.all([caller.close(), callee.close()]);
    }
  });
});
