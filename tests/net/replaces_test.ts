// Replaces (RFC 3891 §3) on real sockets (loopback UDP): alice calls sipecho, carol's INVITE
// with Replaces naming that call (to-tag: sipecho's tag, from-tag: alice's) is answered 200, and
// sipecho sends alice a BYE in the replaced call; a Replaces naming no call gets 481. On Deno
// and on Bun.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { serve } from "../../src/net/serve.ts";
import { MockPeer } from "../../src/testing/mock.ts";
import type { PeerEvent } from "../../src/ua/peer.ts";
import { within } from "../_wait.ts";

describe("serve(): an INVITE with Replaces (RFC 3891)", () => {
  test("replaces alice's call: 200 to carol, a BYE to alice in the old call; no such call: 481", async () => {
    const events: PeerEvent[] = [];
    const server = await serve({
      listen: [{ transport: "udp", hostname: "127.0.0.1", port: 0 }],
      onEvent: (e) => void events.push(e),
    });
    const alice = await MockPeer.start({ user: "alice" });
    const carol = await MockPeer.start({ user: "carol" });
    try {
      alice.answer("BYE", 200);
      const first = await alice.request({ method: "INVITE", uri: server.uri("echo"), sdp: true });
      assert.equal(first.status, 200);
      first.ack();
      const { callId, to, from } = first.response;
      const nowhere = await carol.request({
        method: "INVITE",
        uri: server.uri("echo"),
        sdp: true,
        headers: { Replaces: `${callId};to-tag=${from.tag};from-tag=${to.tag}` },
      });
      assert.equal(nowhere.status, 481, "the tags the wrong way round name no call");
      const second = await carol.request({
        method: "INVITE",
        uri: server.uri("echo"),
        sdp: true,
        headers: { Replaces: `${callId};to-tag=${to.tag};from-tag=${from.tag}` },
      });
      assert.equal(second.status, 200);
      second.ack();
      const bye = await alice.waitFor("BYE", { timeout: 5000 });
      assert.equal(bye.callId, callId);
      assert.equal(bye.from.tag, to.tag);
      assert.equal(bye.to.tag, from.tag);
      assert.ok(events.some((e) => e.message.startsWith(`replaces: dialog ${callId}|`)));
      const done = await second.bye();
      assert.equal(done.status, 200, "carol's call goes on until she hangs up");
    } finally {
      await within(alice.close(), "alice.close()");
      await within(carol.close(), "carol.close()");
      await within(server.close(), "server.close()");
    }
  });
});
