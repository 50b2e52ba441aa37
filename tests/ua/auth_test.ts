// Digest authentication in SipPeer (RFC 3261 §22): what is challenged, the challenges, the
// credentials accepted or refused, stale nonces, throttled failures, the test user auth@.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { DigestClient } from "../../src/auth/digest_client.ts";
import { loadRules } from "../../src/rules/load.ts";
import { SourceGuard } from "../../src/ua/guard.ts";
import type { Output, PeerEvent, PeerOptions } from "../../src/ua/peer.ts";
import { decoder, encoder, offerFrom, peer, requestsFrom, statuses } from "./_peer.ts";

const UDP = { address: "192.0.2.9", port: 5070, transport: "udp" as const };
const OTHER = { address: "192.0.2.77", port: 5070, transport: "udp" as const };
const request = requestsFrom("192.0.2.9:5070");
const SECRET = new Uint8Array(32).fill(7);
const ALICE = { users: { alice: { password: "secret" } }, secret: SECRET };

function client(username = "alice", password = "secret"): DigestClient {
  return new DigestClient({ username, password, random: (n) => new Uint8Array(n).fill(3) });
}

/** The challenge values of a response, by header. */
function challenges(out: Output, header = "WWW-Authenticate"): string[] {
  return out.message.headers.getFields(header);
}

/** The credentials header line that answers the challenges of `out` for `method` to `user@`. */
function answer(c: DigestClient, out: Output, method: string, user = "echo", proxy = false): string {
  const a = c.authorize({
    method,
    uri: `sip:${user}@192.0.2.1`,
    challenges: challenges(out, proxy ? "Proxy-Authenticate" : "WWW-Authenticate"),
    header: proxy ? "Proxy-Authenticate" : "WWW-Authenticate",
  });
  return `${a.header}: ${a.value}`;
}

describe("SipPeer with global auth", () => {
  test("by default one challenge, MD5 (what every tested client reads)", () => {
    const p = peer({ auth: { ...ALICE, realm: "lab" } }, []);
    const [challenge] = p.receive(request("REGISTER", { user: "alice" }), UDP, 0);
    assert.deepEqual(challenges(challenge).map((v) => /algorithm=([\w-]+)/.exec(v)![1]), ["MD5"]);
  });

  test("REGISTER gets 401 with one WWW-Authenticate per algorithm, then 200 with the right credentials", () => {
    const events: PeerEvent[] = [];
    const p = peer({ auth: { ...ALICE, realm: "lab", algorithms: ["MD5", "SHA-256"] } }, events);
    const [challenge] = p.receive(request("REGISTER", { user: "alice" }), UDP, 0);
    assert.equal(challenge.message.status, 401);
    const values = challenges(challenge);
    assert.equal(values.length, 2);
    // In the configured order: MD5 first, for the clients that read only the first challenge (sipsak, SIPp).

    assert.match(values[0], /^Digest realm="lab", nonce="[A-Za-z0-9_-]{35}", algorithm=MD5, qop="auth"$/);
    assert.match(values[1], /algorithm=SHA-256/);
    assert.deepEqual(events.map((e) => [e.kind, e.reason]), [["auth", "missing"]]);
    assert.match(events[0].message, /^REGISTER sip:alice@192\.0\.2\.1: challenged: 401, realm "lab"$/);
    // RFC 3261 §22.2: the request again, CSeq one more, a new branch, the credentials added.
    const again = request("REGISTER", {
      user: "alice",
      cseq: 2,
      branch: "z9hG4bK-2",
      extra: [answer(client(), challenge, "REGISTER", "alice")],
    });
    const [ok] = p.receive(again, UDP, 10);
    assert.equal(ok.message.status, 200);
    assert.equal(p.bindings().length, 1);
    assert.deepEqual(events.at(-1), {
      at: 10,
      kind: "auth",
      message: 'REGISTER sip:alice@192.0.2.1: "alice" authenticated (MD5, realm "lab")',
      remote: UDP,
      callId: "call-1@example.com",
      reason: "ok",
      user: "alice",
    });
  });

  test("INVITE is challenged (401, its ACK absorbed); OPTIONS, MESSAGE and requests in a dialog are not", () => {
    const p = peer({ auth: ALICE });
    assert.deepEqual(statuses(p.receive(request("OPTIONS"), UDP, 0)), [200]);
    assert.deepEqual(statuses(p.receive(request("MESSAGE", { body: "hi", contentType: "text/plain" }), UDP, 0)), [200]);
    const first = p.receive(request("INVITE", { body: offerFrom("192.0.2.9") }), UDP, 0);
    assert.deepEqual(statuses(first), [401]);
    const tag = first[0].message.to.tag;
    assert.deepEqual(statuses(p.receive(request("ACK", { toTag: tag }), UDP, 5)), []);
    const call = p.receive(
      request("INVITE", {
        cseq: 2,
        branch: "z9hG4bK-inv2",
        body: offerFrom("192.0.2.9"),
        extra: [answer(client(), first[0], "INVITE")],
      }),
      UDP,
      10,
    );
    assert.deepEqual(statuses(call), [180, 200]);
    const ok = call[1].message.to.tag!;
    p.receive(request("ACK", { cseq: 2, toTag: ok, branch: "z9hG4bK-ack2" }), UDP, 20);
    // RFC 3261 §22: the global settings ask outside dialogs only: the BYE needs no credentials.
    assert.deepEqual(statuses(p.receive(request("BYE", { cseq: 3, toTag: ok }), UDP, 30)), [200]);
  });

  test("methods choose what is challenged; CANCEL never is (RFC 3261 §22.1)", () => {
    const p = peer({ auth: { ...ALICE, methods: ["INVITE", "OPTIONS"] } });
    assert.deepEqual(statuses(p.receive(request("OPTIONS"), UDP, 0)), [401]);
    assert.deepEqual(statuses(p.receive(request("REGISTER", { user: "alice" }), UDP, 0)), [200]);
    const first = p.receive(request("INVITE", { user: "noanswer" }), UDP, 0);
    const ringing = p.receive(
      request("INVITE", {
        user: "noanswer",
        cseq: 2,
        branch: "z9hG4bK-2",
        extra: [answer(client(), first[0], "INVITE", "noanswer")],
      }),
      UDP,
      10,
    );
    assert.deepEqual(statuses(ringing), [180]);
    assert.deepEqual(statuses(p.receive(request("CANCEL", { cseq: 2, branch: "z9hG4bK-2" }), UDP, 20)), [200, 487]);
  });

  test("a wrong password gets a fresh challenge and an auth event with the reason", () => {
    const events: PeerEvent[] = [];
    const p = peer({ auth: ALICE }, events);
    const [challenge] = p.receive(request("REGISTER"), UDP, 0);
    const [refused] = p.receive(
      request("REGISTER", {
        cseq: 2,
        branch: "z9hG4bK-2",
        extra: [answer(client("alice", "guess"), challenge, "REGISTER")],
      }),
      UDP,
      10,
    );
    assert.equal(refused.message.status, 401);
    assert.notDeepEqual(challenges(refused), challenges(challenge));
    const last = events.at(-1)!;
    assert.equal(last.kind, "auth");
    assert.equal(last.reason, "wrong-response");
    assert.equal(last.user, "alice");
    assert.match(last.message, /refused \(wrong-response: the response for "alice" is wrong\): 401/);
  });

  test("an expired nonce with the right password gets stale=true, and the retry passes", () => {
    const p = peer({ auth: { ...ALICE, nonceLifetime: 60 } });
    const [challenge] = p.receive(request("REGISTER"), UDP, 0);
    const c = client();
    const [stale] = p.receive(
      request("REGISTER", { cseq: 2, branch: "z9hG4bK-2", extra: [answer(c, challenge, "REGISTER")] }),
      UDP,
      61_000,
    );
    assert.equal(stale.message.status, 401);
    for (const value of challenges(stale)) assert.match(value, /stale=true/);
    const [ok] = p.receive(
      request("REGISTER", { cseq: 3, branch: "z9hG4bK-3", extra: [answer(c, stale, "REGISTER")] }),
      UDP,
      61_010,
    );
    assert.equal(ok.message.status, 200);
  });

  test("failures from one source are throttled: 403 for the window, one limit event; others go on", () => {
    const events: PeerEvent[] = [];
    const p = peer({ auth: { ...ALICE, throttle: { failures: 3, window: 10_000 } } }, events);
    const bad = (n: number, at: number, from = UDP) => {
      const [challenge] = p.receive(request("REGISTER", { branch: `z9hG4bK-c${n}`, callId: `c${n}` }), from, at);
      return p.receive(
        request("REGISTER", {
          cseq: 2,
          branch: `z9hG4bK-b${n}`,
          callId: `c${n}`,
          extra: [answer(client("alice", "guess"), challenge, "REGISTER")],
        }),
        from,
        at,
      )[0].message.status;
    };
    assert.deepEqual([bad(1, 0), bad(2, 100)], [401, 401]);
    assert.equal(bad(3, 200), 403);
    assert.deepEqual(
      events.filter((e) => e.kind === "limit").map((e) => e.message),
      ["auth: 192.0.2.9 failed 3 times within 10 s: 403 for 10 s"],
    );
    // Blocked: not even challenged, and no more events.
    const [blocked] = p.receive(request("REGISTER", { branch: "z9hG4bK-x", callId: "x" }), UDP, 5000);
    assert.equal(blocked.message.status, 403);
    assert.equal(blocked.message.reason, "Forbidden: too many failed authentications from this source");
    assert.equal(bad(4, 5000, OTHER), 401);
    // The window over, the right password passes.
    const [challenge] = p.receive(request("REGISTER", { branch: "z9hG4bK-y", callId: "y" }), UDP, 10_300);
    assert.equal(challenge.message.status, 401);
    const [ok] = p.receive(
      request("REGISTER", {
        cseq: 2,
        branch: "z9hG4bK-y2",
        callId: "y",
        extra: [answer(client(), challenge, "REGISTER")],
      }),
      UDP,
      10_400,
    );
    assert.equal(ok.message.status, 200);
    assert.equal(p.receive(request("REGISTER"), UDP, 10_500)[0].message.status, 401);
  });

  test("users given as H(A1) pass without the password being stored", async () => {
    const { digestHA1 } = await import("../../src/auth/digest_response.ts");
    const ha1 = digestHA1("MD5", "bob", "sipecho", "pw");
    const p = peer({ auth: { users: { bob: { ha1: { MD5: ha1 } } }, algorithms: ["MD5"], secret: SECRET } });
    const [challenge] = p.receive(request("REGISTER"), UDP, 0);
    assert.equal(challenges(challenge).length, 1);
    const [ok] = p.receive(
      request("REGISTER", {
        cseq: 2,
        branch: "z9hG4bK-2",
        extra: [answer(client("bob", "pw"), challenge, "REGISTER")],
      }),
      UDP,
      10,
    );
    assert.equal(ok.message.status, 200);
  });

  test("SipPeer refuses settings that nobody could pass, naming where", () => {
    assert.throws(() => peer({ auth: { realm: "x" } }), {
      name: "TypeError",
      message: /^SipPeer: auth: no users, so REGISTER and INVITE could never pass/,
    });
    assert.doesNotThrow(() => peer({ auth: { realm: "x", methods: [] } }));
    const rules = loadRules([{ match: { user: "pbx" }, auth: true, default: true }], "r.json");
    assert.throws(() => peer({ rules }), { name: "TypeError", message: /^SipPeer: r\.json: \[0\]\.auth: no users/ });
    assert.throws(() => peer({ auth: { ...ALICE, secret: new Uint8Array(8) } }), RangeError);
  });
});

describe("SipPeer with rules that ask", () => {
  const rules = loadRules([
    { match: { user: "open" }, auth: false, default: true },
    { match: { user: "proxy" }, auth: { proxy: true, realm: "proxy.example", users: { carol: "pw" } }, default: true },
    { match: { method: "MESSAGE", user: "inbox" }, auth: true, respond: { status: 202 } },
  ]);
  const options: PeerOptions = { rules, auth: ALICE };

  test("a rule with auth: false is not challenged, even where the global settings ask", () => {
    assert.deepEqual(statuses(peer(options).receive(request("INVITE", { user: "open" }), UDP, 0)), [180, 200]);
  });

  test("a rule with proxy: true answers 407 with Proxy-Authenticate and takes Proxy-Authorization", () => {
    const p = peer(options);
    const first = p.receive(request("INVITE", { user: "proxy" }), UDP, 0);
    assert.deepEqual(statuses(first), [407]);
    assert.equal(challenges(first[0]).length, 0);
    assert.match(challenges(first[0], "Proxy-Authenticate")[0], /^Digest realm="proxy\.example"/);
    const next = p.receive(
      request("INVITE", {
        user: "proxy",
        cseq: 2,
        branch: "z9hG4bK-2",
        extra: [answer(client("carol", "pw"), first[0], "INVITE", "proxy", true)],
      }),
      UDP,
      10,
    );
    assert.match(answer(client("carol", "pw"), first[0], "INVITE", "proxy", true), /^Proxy-Authorization: Digest /);
    assert.deepEqual(statuses(next), [180, 200]);
  });

  test("a rule with auth: true asks with the global settings for the method it matches", () => {
    const p = peer(options);
    const [challenge] = p.receive(request("MESSAGE", { user: "inbox", body: "hi", contentType: "text/plain" }), UDP, 0);
    assert.equal(challenge.message.status, 401);
    const c = client();
    const authorization = c.authorize({
      method: "MESSAGE",
      uri: "sip:inbox@192.0.2.1",
      challenges: challenges(challenge),
    });
    const [ok] = p.receive(
      request("MESSAGE", {
        user: "inbox",
        cseq: 2,
        branch: "z9hG4bK-2",
        body: "hi",
        contentType: "text/plain",
        extra: [`Authorization: ${authorization.value}`],
      }),
      UDP,
      10,
    );
    assert.equal(ok.message.status, 202);
  });
});

describe("the test user auth@", () => {
  test("asks for user auth, password auth (realm sipecho), then answers as echo@", () => {
    const p = peer();
    const first = p.receive(request("INVITE", { user: "auth", body: offerFrom("192.0.2.9") }), UDP, 0);
    assert.deepEqual(statuses(first), [401]);
    assert.match(challenges(first[0])[0], /^Digest realm="sipecho"/);
    const wrong = p.receive(
      request("INVITE", {
        user: "auth",
        cseq: 2,
        branch: "z9hG4bK-w",
        extra: [answer(client(), first[0], "INVITE", "auth")],
      }),
      UDP,
      5,
    );
    assert.deepEqual(statuses(wrong), [401]);
    const call = p.receive(
      request("INVITE", {
        user: "auth",
        cseq: 3,
        branch: "z9hG4bK-3",
        body: offerFrom("192.0.2.9"),
        extra: [answer(client("auth", "auth"), first[0], "INVITE", "auth")],
      }),
      UDP,
      10,
    );
    assert.deepEqual(statuses(call), [180, 200]);
    assert.equal(call[1].message.headers.get("Content-Type"), "application/sdp");
  });

  test("is not there with defaultRules: false; the realm is the global one when given", () => {
    assert.deepEqual(statuses(peer({ defaultRules: false }).receive(request("INVITE", { user: "auth" }), UDP, 0)), [
      180,
      200,
    ]);
    const out = peer({ auth: { ...ALICE, realm: "lab", methods: [] } }).receive(
      request("INVITE", { user: "auth" }),
      UDP,
      0,
    );
    assert.match(challenges(out[0])[0], /^Digest realm="lab"/);
  });

  test("the OPTIONS list of test users stays within 3x of sipsak's OPTIONS (the public anti-amplification budget)", () => {
    // sipsak 0.9.8's OPTIONS as it came on the wire (tests/net/interop_test.ts runs sipsak itself).
    const sipsak = encoder.encode(
      "OPTIONS sip:echo@192.0.2.1:5060 SIP/2.0\r\n" +
        "Via: SIP/2.0/UDP 192.0.2.9:46898;branch=z9hG4bK.74a9bfd2;rport;alias\r\n" +
        "From: sip:sipsak@192.0.2.9:46898;tag=5980310f\r\nTo: sip:echo@192.0.2.1:5060\r\n" +
        "Call-ID: 1501573391@192.0.2.9\r\nCSeq: 1 OPTIONS\r\nContact: sip:sipsak@192.0.2.9:46898\r\n" +
        "Content-Length: 0\r\nMax-Forwards: 70\r\nUser-Agent: sipsak 0.9.8.1\r\nAccept: text/plain\r\n\r\n",
    );
    const [out] = peer({ guard: new SourceGuard() }).receive(sipsak, { ...UDP, port: 46238 }, 0);
    assert.equal(out.message.status, 200);
    assert.match(decoder.decode(out.data), /\r\nauth: 401 /);
    // Room to spare for longer addresses and Call-IDs, and for one more short line.
    assert.ok(out.data.length <= 3 * sipsak.length - 60, `${out.data.length} bytes for ${sipsak.length}`);
  });
});

describe("AuthThrottle", () => {
  test("keeps at most `sources` records, forgetting the one that failed first", async () => {
    const { AuthThrottle } = await import("../../src/ua/auth_throttle.ts");
    const throttle = new AuthThrottle({ failures: 2, window: 1000, sources: 2 });
    throttle.fail("a", 0);
    throttle.fail("b", 0);
    throttle.fail("c", 0); // "a" is forgotten
    assert.equal(throttle.size, 2);
    assert.equal(throttle.fail("a", 1), false); // counts from 1 again
    assert.equal(throttle.fail("c", 2), true);
    assert.equal(throttle.blocked("c", 1001), true);
    assert.equal(throttle.blocked("c", 1002), false);
    throttle.succeed("c");
    assert.equal(throttle.size, 1);
    assert.throws(() => new AuthThrottle({ failures: 0 }), /failures must be a positive integer, got 0/);
    assert.throws(() => new AuthThrottle({ window: -1 }), /window must be a positive number of ms, got -1/);
  });
});

test("SipPeer offers the algorithms in the order configured: SHA-256 first for RFC 8760 clients", () => {
  const p = peer({ auth: { ...ALICE, algorithms: ["SHA-256", "MD5"] } });
  const [challenge] = p.receive(request("REGISTER"), UDP, 0);
  assert.deepEqual(challenges(challenge).map((v) => /algorithm=([\w-]+)/.exec(v)?.[1]), ["SHA-256", "MD5"]);
  const [ok] = p.receive(
    request("REGISTER", { cseq: 2, branch: "z9hG4bK-2", extra: [answer(client(), challenge, "REGISTER")] }),
    UDP,
    10,
  );
  assert.equal(ok.message.status, 200);
  assert.match(answer(client(), challenge, "REGISTER"), /algorithm=SHA-256/);
});
