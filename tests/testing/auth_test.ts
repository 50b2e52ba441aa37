// The mock peer and digest authentication (RFC 3261 §22): a mock that asks (`auth`, rules with
// auth, the test user auth@) and a mock whose request() answers 401 and 407 (`credentials`).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mockPeer } from "../../src/testing/mock.ts";
import { loadRules } from "../../src/rules/load.ts";
import type { PeerEvent } from "../../src/ua/peer.ts";
import type { SipRequest } from "../../src/sip/message.ts";

const SECRET = new Uint8Array(32).fill(5);
const ALICE = { username: "alice", password: "secret" };

describe("mockPeer() with credentials, against sipecho's own challenger", () => {
  test("REGISTER: 401 answered once, with CSeq one more, a new branch and Authorization; 200", async () => {
    const events: PeerEvent[] = [];
    const registrar = await mockPeer({
      user: "registrar",
      auth: { realm: "lab", users: { alice: { password: "secret" } }, secret: SECRET },
      onEvent: (e) => void events.push(e),
    });
    const phone = await mockPeer({ user: "alice" });
    try {
      const result = await phone.request({ method: "REGISTER", uri: registrar.uri, credentials: ALICE });
      assert.equal(result.status, 200);
      const registers = (await registrar.waitFor("REGISTER"), registrar.received)
        .map((e) => e.message)
        .filter((m): m is SipRequest => m.type === "request");
      assert.equal(registers.length, 2);
      const [first, second] = registers;
      assert.equal(first.headers.get("Authorization"), undefined);
      assert.equal(second.cseq.seq, first.cseq.seq + 1);
      assert.equal(second.callId, first.callId);
      assert.notEqual(second.via[0].branch, first.via[0].branch);
      assert.match(second.headers.get("Authorization") ?? "", /^Digest username="alice", realm="lab", /);
      assert.equal(result.request.cseq.seq, second.cseq.seq);
      assert.equal(registrar.server.peer.bindings().length, 1);
      const auth = events.filter((e) => e.kind === "auth").map((e) => [e.reason, e.user]);
      assert.deepEqual(auth, [["missing", undefined], ["ok", "alice"]]);
      // The ladder shows the challenge and the credentials.
      const ladder = registrar.ladder();
      assert.match(ladder, /401 Unauthorized -+>\| .*Call-ID: \S+ {2}challenge: realm "lab" \(MD5\)/);
      assert.match(ladder, /\|<-- REGISTER .*Call-ID: \S+ {2}credentials: "alice" realm "lab"/);
    } finally {
      await phone.close();
      await registrar.close();
    }
  });

  test("a call to auth@ with the mock's default credentials: INVITE, 401, ACK, INVITE, 200; the BYE follows the dialog", async () => {
    const sut = await mockPeer({ user: "sut" });
    const caller = await mockPeer({ credentials: { username: "auth", password: "auth" } });
    try {
      const call = await caller.request({ method: "INVITE", uri: sut.uriFor("auth"), sdp: true });
      assert.equal(call.status, 200);
      assert.equal(call.request.cseq.seq, 2);
      const bye = await call.bye();
      assert.equal(bye.status, 200);
      assert.equal(bye.request.cseq.seq, 3);
      const methods = sut.received.map((e) => e.message.type === "request" ? e.message.method : e.message.status);
      assert.deepEqual(methods, ["INVITE", "ACK", "INVITE", "ACK", "BYE"]);
    } finally {
      await caller.close();
      await sut.close();
    }
  });

  test("wrong credentials: answered once, then the 401 is the result; credentials: false sends none", async () => {
    const sut = await mockPeer({ auth: { users: { alice: { password: "secret" } }, secret: SECRET } });
    const phone = await mockPeer({ credentials: { username: "alice", password: "guess" } });
    try {
      const wrong = await phone.request({ method: "REGISTER", uri: sut.uri });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.request.cseq.seq, 2);
      const none = await phone.request({ method: "REGISTER", uri: sut.uri, credentials: false });
      assert.equal(none.status, 401);
      assert.equal(none.request.headers.get("Authorization"), undefined);
      const other = await phone.request({
        method: "REGISTER",
        uri: sut.uri,
        credentials: { ...ALICE, realm: "elsewhere" },
      });
      assert.equal(other.status, 401, "a challenge of another realm is not answered");
      assert.equal(other.request.cseq.seq, 1 + none.request.cseq.seq);
    } finally {
      await phone.close();
      await sut.close();
    }
  });

  test("a scripted answer with proxy auth: 407, Proxy-Authorization, then the scripted answer", async () => {
    const sut = await mockPeer({ rules: loadRules([]) });
    const phone = await mockPeer();
    try {
      sut.answer("MESSAGE", { auth: { proxy: true, users: { bob: "pw" } }, respond: { status: 202 } }, {
        times: Infinity,
      });
      const result = await phone.request({
        method: "MESSAGE",
        uri: sut.uri,
        body: "hi",
        credentials: { username: "bob", password: "pw" },
      });
      assert.equal(result.status, 202);
      assert.match(result.request.headers.get("Proxy-Authorization") ?? "", /^Digest username="bob", realm="sipecho"/);
      assert.deepEqual(sut.sent.map((e) => e.message.type === "response" && e.message.status), [407, 202]);
    } finally {
      await phone.close();
      await sut.close();
    }
  });
});
