/**
 * A SIP server tested with the mock peer as the caller, with `bun test` (it also runs under
 * `deno test` and `node --test`: node:test is in all three).
 *
 *     bun test examples/mock_bun_test.ts
 *
 * The system under test is sipecho's own `serve()` with the rules of
 * examples/silent-timeout.json; in a real project it is your proxy, PBX or B2BUA, started
 * before the tests. The mock peer calls it from its own UDP socket, with short SIP timers so
 * that retransmissions and timeouts take milliseconds.
 */
import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { type MockPeer, mockPeer, MockTimeoutError, parseRules, serve, type SipServer } from "../mod.ts"; // in your project: from "@sipecho/sipecho"

describe("a SIP server, called by the mock peer", () => {
  let sut: SipServer;
  let caller: MockPeer;

  before(async () => {
    const file = new URL("./silent-timeout.json", import.meta.url);
    sut = await serve({
      listen: [{ transport: "udp", hostname: "127.0.0.1", port: 0 }],
      rules: parseRules(readFileSync(file, "utf8"), "silent-timeout.json"),
      timers: { T1: 10 },
    });
    caller = await mockPeer({ user: "alice", timers: { T1: 10, T2: 40, T4: 50 } });
  });

  after(async () => {
    await caller.close();
    await sut.close();
  });

  beforeEach(() => caller.reset());

  it("answers OPTIONS with what it allows", async () => {
    const result = await caller.request({ method: "OPTIONS", uri: sut.uri("echo") });
    assert.equal(result.status, 200);
    assert.match(result.response.headers.get("Allow") ?? "", /\bINVITE\b/);
  });

  it("takes a call: 180, 200 with an SDP answer, ACK, BYE", async () => {
    const call = await caller.request({ method: "INVITE", uri: sut.uri("echo"), sdp: true });
    assert.deepEqual(call.provisional.map((r) => r.status), [180]);
    assert.equal(call.status, 200);
    assert.equal(call.response.contentType?.mediaType, "application/sdp");
    assert.match(call.response.bodyText, /^m=audio \d+ RTP\/AVP/m);
    call.ack();
    const bye = await call.bye();
    assert.equal(bye.status, 200);
    assert.equal(sut.peer.dialogs.length, 0);
  });

  it("turns a call to a busy user down; the caller's transaction ACKs the 486", async () => {
    const call = await caller.request({ method: "INVITE", uri: sut.uri("busy"), sdp: true });
    assert.equal(call.status, 486);
    // RFC 3261 §17.1.1.3: the ACK went out with the INVITE's branch.
    const ack = caller.sent.find((e) => e.message.type === "request" && e.message.method === "ACK");
    assert.ok(ack?.message.type === "request");
    assert.equal(ack.message.via[0].branch, call.request.via[0].branch);
  });

  it("never answers the black hole: the caller gives up by Timer F", async () => {
    await assert.rejects(caller.request({ method: "OPTIONS", uri: sut.uri("blackhole") }), (e) => {
      assert.ok(e instanceof MockTimeoutError);
      assert.match(e.message, /Timer F/);
      // The ladder shows the request and its retransmissions, all unanswered.
      assert.match(e.message, /\|--- OPTIONS sip:blackhole@/);
      return true;
    });
  });

  it("rings forever until the caller CANCELs: 487", async () => {
    const hangUp = new AbortController();
    const pending = caller.request({ method: "INVITE", uri: sut.uri("forever"), sdp: true, signal: hangUp.signal });
    setTimeout(() => hangUp.abort(), 30);
    const call = await pending;
    assert.equal(call.status, 487);
    assert.ok(call.provisional.some((r) => r.status === 183));
  });
});
