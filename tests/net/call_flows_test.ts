// The call flows of the rules on real sockets (loopback UDP), with mock peers as callers and
// targets: "refer": "call" (sipecho calls the Refer-To target itself and reports its real
// outcome in the NOTIFY sipfrag, RFC 3515 §2.4.5; the safety check of the public profile), and
// "transfer" (sipecho sends REFER in the call after N s, answers the NOTIFYs, and hangs up on a
// 2xx sipfrag; RFC 5589 §6). On Deno and on Bun.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { serve, type SipServer } from "../../src/net/serve.ts";
import { MockPeer } from "../../src/testing/mock.ts";
import type { PeerEvent } from "../../src/ua/peer.ts";
import type { SipResponse } from "../../src/sip/message.ts";
import { loadRules } from "../../src/rules/rules.ts";
import { until, within } from "../_wait.ts";

/** sipecho on 127.0.0.1 UDP with `rules`, on the public edge profile unless told. */
async function sipecho(rules: unknown[], events: PeerEvent[] = []): Promise<SipServer> {
  return await serve({
    listen: [{ transport: "udp", hostname: "127.0.0.1", port: 0 }],
    rules: loadRules(rules),
    onEvent: (e) => void events.push(e),
  });
}

/** The NOTIFY whose sipfrag starts with `line`, received by `mock`. */
function notified(mock: MockPeer, line: string) {
  return mock.waitFor((r) => r.method === "NOTIFY" && r.bodyText.startsWith(line), { timeout: 5000 });
}

describe('serve(): "refer": "call" (sipecho calls the Refer-To target, RFC 3515 §2.4.5)', () => {
  test("the NOTIFYs carry the target's real answer: 486 from busy@, 200 from a mock (ACKed, then BYE)", async () => {
    const events: PeerEvent[] = [];
    const server = await sipecho([{ match: { method: "REFER" }, default: true, refer: "call" }], events);
    const caller = await MockPeer.start({ user: "alice" });
    const target = await MockPeer.start({ user: "carol" });
    try {
      caller.answer("NOTIFY", 200, { times: Infinity });
      const call = await caller.request({ method: "INVITE", uri: server.uri("echo"), sdp: true });
      assert.equal(call.status, 200);
      call.ack();

      // sipecho itself (its own address and port): busy@ answers 486.
      const busy = await call.inDialog("REFER", { headers: { "Refer-To": `<${server.uri("busy")}>` } });
      assert.equal(busy.status, 202);
      await notified(caller, "SIP/2.0 100 Trying");
      await notified(caller, "SIP/2.0 486 Busy Here");

      // A target at the caller's own address (127.0.0.1): it answers 200; sipecho ACKs and hangs up.
      const ok = await call.inDialog("REFER", { headers: { "Refer-To": `<${target.uri}>` } });
      assert.equal(ok.status, 202);
      await notified(caller, "SIP/2.0 200 OK");
      const invite = await target.waitFor("INVITE");
      assert.equal(invite.uri, target.uri);
      const bye = await target.waitFor("BYE", { timeout: 5000 });
      assert.equal(bye.callId, invite.callId);
      assert.ok(events.some((e) => e.message.includes(`${target.uri} answered 200`)));
      await call.bye();
    } finally {
      await within(caller.close(), "caller.close()");
      await within(target.close(), "target.close()");
      await within(server.close(), "server.close()");
    }
  });

  test("on the public profile another address is not called: 403 in the NOTIFY; without the rule: 200, nobody called", async () => {
    const events: PeerEvent[] = [];
    const server = await sipecho([{ match: { method: "REFER", user: "call*" }, default: true, refer: "call" }], events);
    const caller = await MockPeer.start({ user: "alice" });
    try {
      caller.answer("NOTIFY", 200, { times: Infinity });
      const call = await caller.request({ method: "INVITE", uri: server.uri("callme"), sdp: true });
      call.ack();
      const refused = await call.inDialog("REFER", { headers: { "Refer-To": "<sip:victim@192.0.2.55>" } });
      assert.equal(refused.status, 202);
      await notified(caller, "SIP/2.0 403 Forbidden");
      assert.ok(events.some((e) => /not calling sip:victim@192\.0\.2\.55: on the public edge profile/.test(e.message)));
      await call.bye();

      // The default (no "refer": "call"): 200 at once, and nobody is called.
      const other = await caller.request({ method: "INVITE", uri: server.uri("echo"), sdp: true });
      other.ack();
      caller.clear();
      assert.equal((await other.inDialog("REFER", { headers: { "Refer-To": "<sip:x@127.0.0.1:9>" } })).status, 202);
      await notified(caller, "SIP/2.0 200 OK");
      assert.ok(!events.some((e) => e.message.includes("calling sip:x@127.0.0.1:9")));
      await other.bye();
    } finally {
      await within(caller.close(), "caller.close()");
      await within(server.close(), "server.close()");
    }
  });
});

describe('serve(): "transfer" (sipecho transfers the caller, RFC 3515, RFC 5589 §6)', () => {
  test("REFER after 1 s, 202 from the mock, NOTIFY 200 answered 200, then sipecho's BYE", async () => {
    const server = await sipecho([{
      match: { method: "INVITE", user: "transfer" },
      default: true,
      transfer: { after: 1, to: "sip:echo@127.0.0.1" },
    }]);
    const caller = await MockPeer.start({ user: "alice" });
    try {
      // No script: the mock answers a REFER in its own call 202, and the BYE 200 (own_calls.ts).
      const call = await caller.request({ method: "INVITE", uri: server.uri("transfer"), sdp: true });
      assert.equal(call.status, 200);
      call.ack();
      const started = performance.now();
      const refer = await caller.waitFor("REFER", { timeout: 5000 });
      assert.ok(performance.now() - started >= 900, "not before about 1 s");
      assert.equal(refer.headers.get("Refer-To"), "<sip:echo@127.0.0.1>");
      assert.equal(refer.callId, call.response.callId);
      const trying = await call.inDialog("NOTIFY", {
        headers: { Event: "refer", "Subscription-State": "active;expires=60" },
        body: "SIP/2.0 100 Trying\r\n",
        contentType: "message/sipfrag;version=2.0",
      });
      assert.equal(trying.status, 200);
      const done = await call.inDialog("NOTIFY", {
        headers: { Event: "refer", "Subscription-State": "terminated;reason=noresource" },
        body: "SIP/2.0 200 OK\r\n",
        contentType: "message/sipfrag;version=2.0",
      });
      assert.equal(done.status, 200);
      const bye = await caller.waitFor("BYE", { timeout: 5000 });
      assert.equal(bye.callId, call.response.callId);
      const answered = (method: string) =>
        caller.sent.map((e) => e.message).find((m): m is SipResponse =>
          m.type === "response" && m.cseq.method === method
        );
      await until(() => answered("BYE") !== undefined, "the mock's answer to the BYE");
      assert.equal(answered("REFER")?.status, 202);
      assert.equal(answered("BYE")?.status, 200);
    } finally {
      await within(caller.close(), "caller.close()");
      await within(server.close(), "server.close()");
    }
  });
});
