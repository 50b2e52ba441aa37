// DigestChallenger: challenges (RFC 8760 §2.4), and verification of credentials (RFC 7616 §3.4,
// RFC 3261 §22.4) with every refusal reason, nonce expiry as stale (RFC 7616 §3.3), nc replays
// and the bounded nonce-count window; round trips with DigestClient for every algorithm and qop.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  DigestChallenger,
  type DigestChallengerOptions,
  type DigestRefused,
  type DigestVerdict,
} from "../../src/auth/digest_challenger.ts";
import { DigestClient, type DigestClientOptions } from "../../src/auth/digest_client.ts";
import { DIGEST_ALGORITHMS } from "../../src/auth/algorithm.ts";
import { parseChallenge, parseCredentials } from "../../src/auth/parse_digest.ts";
import { formatCredentials } from "../../src/auth/format_digest.ts";
import { digestHA1, digestResponse } from "../../src/auth/digest_response.ts";

const REALM = "atlanta.example.com";
const T0 = 1_767_225_600_000;
const REQUEST = { method: "REGISTER", uri: "sip:atlanta.example.com" };

/** A challenger on a clock the test moves, and a client for alice. */
function setup(options: Partial<DigestChallengerOptions> = {}, client: Partial<DigestClientOptions> = {}) {
  const clock = { now: T0 };
  let n = 0;
  const server = new DigestChallenger({
    realm: REALM,
    users: { alice: { password: "wonderland" } },
    secret: new Uint8Array(32).fill(42),
    now: () => clock.now,
    ...options,
  });
  const alice = new DigestClient({
    username: "alice",
    password: "wonderland",
    random: (size) => new Uint8Array(size).fill(n++),
    ...client,
  });
  /** The client's Authorization for the server's fresh challenges. */
  const answer = (request: { method: string; uri: string; body?: string } = REQUEST, source?: string) =>
    alice.authorize({ ...request, challenges: server.challenge({ source }), header: server.challengeHeader }).value;
  return { clock, server, alice, answer };
}

function refused(verdict: DigestVerdict): DigestRefused {
  assert.equal(verdict.ok, false, "refused");
  return verdict as DigestRefused;
}

describe("DigestChallenger.challenge()", () => {
  test("challenge() gives one challenge per algorithm, most preferred first, sharing one fresh nonce", () => {
    const { server } = setup({ algorithms: ["SHA-512-256", "SHA-256", "MD5"], qop: ["auth", "auth-int"] });
    const values = server.challenge();
    const parsed = values.map((v) => parseChallenge(v));
    assert.deepEqual(parsed.map((c) => c.algorithm), ["SHA-512-256", "SHA-256", "MD5"]);
    assert.ok(parsed.every((c) => c.realm === REALM && c.nonce === parsed[0].nonce && c.stale === undefined));
    assert.deepEqual(parsed[0].qop, ["auth", "auth-int"]);
    assert.notEqual(parseChallenge(server.challenge()[0]).nonce, parsed[0].nonce, "each call, a new nonce");
    assert.match(server.challenge({ stale: true })[0], /, stale=true, /);
  });

  test("the default offers SHA-256 then MD5, qop auth, 401 with WWW-Authenticate; a proxy 407 with Proxy-Authenticate", () => {
    const { server } = setup();
    assert.deepEqual(server.algorithms, ["SHA-256", "MD5"]);
    assert.deepEqual(server.qop, ["auth"]);
    assert.equal(server.nonceLifetime, 300);
    assert.equal(server.maxNonces, 4096);
    assert.deepEqual([server.status, server.challengeHeader, server.credentialsHeader], [
      401,
      "WWW-Authenticate",
      "Authorization",
    ]);
    const proxy = setup({ proxy: true }).server;
    assert.deepEqual([proxy.status, proxy.challengeHeader, proxy.credentialsHeader], [
      407,
      "Proxy-Authenticate",
      "Proxy-Authorization",
    ]);
  });

  test("new DigestChallenger() refuses a short secret, no algorithm, a lifetime not above 0, a window of 0", () => {
    assert.throws(() => setup({ secret: new Uint8Array(15) }), /the secret has 15 bytes; it needs 16 or more/);
    assert.throws(() => setup({ algorithms: [] }), /algorithms is empty/);
    assert.throws(() => setup({ nonceLifetime: 0 }), /nonceLifetime 0 is not a positive number/);
    assert.throws(() => setup({ maxNonces: 0 }), /limit 0 is not a positive integer/);
    assert.throws(() => setup({ realm: "a\r\nb" }), /realm holds a line break/);
  });
});

describe("DigestChallenger.verify() accepts", () => {
  for (const algorithm of DIGEST_ALGORITHMS) {
    for (const qop of ["auth", "auth-int", undefined] as const) {
      const sess = algorithm.endsWith("-sess");
      if (qop === undefined && sess) continue; // -sess needs a cnonce, which needs qop: below
      test(`a round trip with ${algorithm}, ${qop === undefined ? "no qop (RFC 2069)" : `qop=${qop}`}`, () => {
        const { server, answer } = setup(
          { algorithms: [algorithm], qop: qop === undefined ? [] : [qop] },
          { qop: qop === undefined ? undefined : [qop] },
        );
        const request = { method: "INVITE", uri: "sip:alice@atlanta.example.com", body: "v=0\r\n" };
        const credentials = answer(request);
        const verdict = server.verify({ ...request, credentials });
        assert.deepEqual(verdict, { ok: true, username: "alice", algorithm, ...(qop ? { qop } : {}) });
      });
    }
  }

  test("a user stored as H(A1) per hash, and users looked up by a function", () => {
    const ha1 = { "SHA-256": digestHA1("SHA-256", "alice", REALM, "wonderland") };
    const byTable = setup({ users: { alice: { ha1 } } });
    assert.equal(byTable.server.verify({ ...REQUEST, credentials: byTable.answer() }).ok, true);
    const byFunction = setup({ users: (name) => name === "alice" ? { ha1 } : undefined });
    assert.equal(byFunction.server.verify({ ...REQUEST, credentials: byFunction.answer() }).ok, true);
  });

  test("later requests on the same nonce with rising nc, and a nonce at the very end of its lifetime", () => {
    const { server, alice, clock } = setup({ nonceLifetime: 10 });
    const challenges = server.challenge();
    for (let i = 0; i < 3; i++) {
      const credentials = alice.authorize({ ...REQUEST, challenges }).value;
      assert.equal(server.verify({ ...REQUEST, credentials }).ok, true, `request ${i + 1}`);
    }
    clock.now += 10_000;
    assert.equal(
      server.verify({ ...REQUEST, credentials: alice.authorize({ ...REQUEST, challenges }).value }).ok,
      true,
    );
  });

  test("the credentials for its realm among several, and a nonce bound to the source it came from", () => {
    const { server, answer } = setup();
    const other = 'Digest username="x", realm="biloxi.example.com", nonce="n", uri="sip:x", response="00"';
    const credentials = answer(REQUEST, "192.0.2.7");
    assert.equal(server.verify({ ...REQUEST, credentials: [other, credentials], source: "192.0.2.7" }).ok, true);
  });
});

describe("DigestChallenger.verify() refuses, always with fresh challenges", () => {
  /** The refusal, checked for its reason and for challenges with a nonce other than the old one. */
  function expectRefusal(verdict: DigestVerdict, reason: string, oldCredentials?: string): DigestRefused {
    const r = refused(verdict);
    assert.equal(r.reason, reason, r.detail);
    assert.ok(r.challenges.length > 0 && r.challenges.every((c) => parseChallenge(c).realm === REALM));
    if (oldCredentials !== undefined) {
      assert.notEqual(parseChallenge(r.challenges[0]).nonce, parseCredentials(oldCredentials).nonce);
    }
    assert.equal(parseChallenge(r.challenges[0]).stale, reason === "stale-nonce" ? true : undefined);
    return r;
  }

  test("missing: no credentials, or none at all in a list", () => {
    const { server } = setup();
    const r = expectRefusal(server.verify({ ...REQUEST, credentials: undefined }), "missing");
    assert.equal(r.detail, "no Authorization");
    assert.equal(r.username, undefined);
    expectRefusal(server.verify({ ...REQUEST, credentials: [] }), "missing");
  });

  test("malformed: credentials that do not parse, another scheme, -sess without qop", () => {
    const { server } = setup({ algorithms: ["MD5-sess"] });
    const r = expectRefusal(server.verify({ ...REQUEST, credentials: 'Digest username="a"' }), "malformed");
    assert.equal(r.detail, "Cannot parse Authorization: realm parameter is missing");
    expectRefusal(server.verify({ ...REQUEST, credentials: "Basic YWxpY2U6d29uZGVybGFuZA==" }), "malformed");
    const nonce = parseChallenge(server.challenge()[0]).nonce;
    const credentials = formatCredentials({
      username: "alice",
      realm: REALM,
      nonce,
      uri: REQUEST.uri,
      response: "00",
      algorithm: "MD5-sess",
      params: {},
    });
    assert.match(
      expectRefusal(server.verify({ ...REQUEST, credentials }), "malformed").detail,
      /MD5-sess needs a cnonce/,
    );
  });

  test("wrong-realm: Digest credentials, none for this realm", () => {
    const { server } = setup();
    const credentials = 'Digest username="alice", realm="biloxi.example.com", nonce="n", uri="sip:x", response="00"';
    const r = expectRefusal(server.verify({ ...REQUEST, credentials }), "wrong-realm");
    assert.equal(r.detail, 'credentials for realm "biloxi.example.com", not "atlanta.example.com"');
  });

  test("unsupported-algorithm: one not offered, an unknown one, or one the user has no H(A1) for", () => {
    const { server, answer } = setup({ algorithms: ["SHA-256"] });
    const md5 = answer().replace("algorithm=SHA-256", "algorithm=MD5");
    const r = expectRefusal(server.verify({ ...REQUEST, credentials: md5 }), "unsupported-algorithm");
    assert.equal(r.username, "alice");
    const noAlgorithm = answer().replace(", algorithm=SHA-256", "");
    assert.match(
      expectRefusal(server.verify({ ...REQUEST, credentials: noAlgorithm }), "unsupported-algorithm").detail,
      /MD5 \(by default\)/,
    );
    const unknown = answer().replace("algorithm=SHA-256", "algorithm=SHA-1");
    expectRefusal(server.verify({ ...REQUEST, credentials: unknown }), "unsupported-algorithm");
    const md5Only = setup({ users: { alice: { ha1: { MD5: digestHA1("MD5", "alice", REALM, "wonderland") } } } });
    const r2 = expectRefusal(
      md5Only.server.verify({ ...REQUEST, credentials: md5Only.answer() }),
      "unsupported-algorithm",
    );
    assert.equal(r2.detail, 'user "alice" has no H(A1) for SHA-256');
  });

  test("unsupported-qop: a qop not offered", () => {
    const { server, alice } = setup({ qop: ["auth"] });
    const challenges = server.challenge().map((c) => c.replace('qop="auth"', 'qop="auth-int"'));
    const credentials = alice.authorize({ ...REQUEST, challenges }).value;
    expectRefusal(server.verify({ ...REQUEST, credentials }), "unsupported-qop");
  });

  test("bad-nonce: a nonce it did not issue, one of another secret, one bound to another source", () => {
    const { server, answer } = setup();
    const forged = answer().replace(/nonce="[^"]*"/, 'nonce="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"');
    expectRefusal(server.verify({ ...REQUEST, credentials: forged }), "bad-nonce");
    const otherSecret = setup({ secret: new Uint8Array(32).fill(1) });
    expectRefusal(server.verify({ ...REQUEST, credentials: otherSecret.answer() }), "bad-nonce");
    const bound = answer(REQUEST, "192.0.2.7");
    expectRefusal(server.verify({ ...REQUEST, credentials: bound, source: "192.0.2.8" }), "bad-nonce", bound);
    expectRefusal(server.verify({ ...REQUEST, credentials: bound }), "bad-nonce");
  });

  test("uri-mismatch: credentials for another Request-URI", () => {
    const { server, answer } = setup();
    const credentials = answer({ method: "REGISTER", uri: "sip:biloxi.example.com" });
    const r = expectRefusal(server.verify({ ...REQUEST, credentials }), "uri-mismatch", credentials);
    assert.equal(r.detail, 'uri "sip:biloxi.example.com" is not the Request-URI "sip:atlanta.example.com"');
  });

  test("unknown-user: a name it does not know, Object.prototype's names included", () => {
    for (const username of ["mallory", "constructor", "__proto__", "toString"]) {
      const { server, answer } = setup({}, { username });
      const r = expectRefusal(server.verify({ ...REQUEST, credentials: answer() }), "unknown-user");
      assert.equal(r.username, username);
    }
  });

  test("wrong-response: a wrong password, another method, a changed auth-int body", () => {
    const wrong = setup({}, { password: "looking-glass" });
    const r = expectRefusal(wrong.server.verify({ ...REQUEST, credentials: wrong.answer() }), "wrong-response");
    assert.equal(r.username, "alice");
    const { server, answer } = setup({ qop: ["auth-int"] });
    expectRefusal(server.verify({ ...REQUEST, method: "INVITE", credentials: answer() }), "wrong-response");
    const credentials = answer({ ...REQUEST, body: "v=0\r\n" });
    expectRefusal(server.verify({ ...REQUEST, body: "v=1\r\n", credentials }), "wrong-response");
  });

  test("stale-nonce: a right response with an expired nonce, and the client's retry then succeeds", () => {
    const { server, alice, clock } = setup({ nonceLifetime: 10 });
    const challenges = server.challenge();
    clock.now += 10_001;
    const credentials = alice.authorize({ ...REQUEST, challenges }).value;
    const r = expectRefusal(server.verify({ ...REQUEST, credentials }), "stale-nonce", credentials);
    assert.match(r.detail, /issued 10 s ago, past 10 s/);
    const retry = alice.authorize({ ...REQUEST, challenges: r.challenges }).value;
    assert.equal(server.verify({ ...REQUEST, credentials: retry }).ok, true);
  });

  test("an expired nonce with a wrong response is wrong-response, not stale", () => {
    const { server, alice, clock } = setup({}, { password: "guess" });
    const challenges = server.challenge();
    clock.now += 3_600_000;
    expectRefusal(
      server.verify({ ...REQUEST, credentials: alice.authorize({ ...REQUEST, challenges }).value }),
      "wrong-response",
    );
  });

  test("replay: the same credentials twice, an nc below the highest, an RFC 2069 nonce reused", () => {
    const { server, alice } = setup();
    const challenges = server.challenge();
    const first = alice.authorize({ ...REQUEST, challenges }).value;
    const second = alice.authorize({ ...REQUEST, challenges }).value;
    assert.equal(server.verify({ ...REQUEST, credentials: second }).ok, true);
    const r = expectRefusal(server.verify({ ...REQUEST, credentials: second }), "replay");
    assert.equal(r.detail, "nc 00000002 is not new");
    expectRefusal(server.verify({ ...REQUEST, credentials: first }), "replay");
    const legacy = setup({ qop: [] });
    const credentials = legacy.answer();
    assert.equal(legacy.server.verify({ ...REQUEST, credentials }).ok, true);
    const r2 = expectRefusal(legacy.server.verify({ ...REQUEST, credentials }), "replay");
    assert.equal(r2.detail, "the nonce was already used without qop");
  });

  test("a replay is refused even after the window evicted its nonce: stale-nonce, within the bound", () => {
    const { server, alice, clock } = setup({ maxNonces: 2 });
    const used: string[] = [];
    for (let i = 0; i < 3; i++) {
      const credentials = alice.authorize({ ...REQUEST, challenges: server.challenge() }).value;
      assert.equal(server.verify({ ...REQUEST, credentials }).ok, true);
      used.push(credentials);
      clock.now += 1;
    }
    // The first nonce was evicted when the third was recorded: its replay is not accepted.
    expectRefusal(server.verify({ ...REQUEST, credentials: used[0] }), "stale-nonce");
    expectRefusal(server.verify({ ...REQUEST, credentials: used[2] }), "replay");
  });

  test("a refusal carries the username for throttling, and the detail for logs", () => {
    const { server } = setup();
    const nonce = parseChallenge(server.challenge()[0]).nonce;
    const response = digestResponse({
      algorithm: "SHA-256",
      ha1: digestHA1("SHA-256", "alice", REALM, "nope"),
      ...REQUEST,
      nonce,
      qop: "auth",
      nc: "00000001",
      cnonce: "c",
    });
    const credentials = formatCredentials({
      username: "alice",
      realm: REALM,
      nonce,
      uri: REQUEST.uri,
      response: response.toUpperCase(),
      algorithm: "SHA-256",
      cnonce: "c",
      qop: "auth",
      nc: "00000001",
      params: {},
    });
    const r = refused(server.verify({ ...REQUEST, credentials }));
    assert.deepEqual([r.reason, r.username, r.detail], [
      "wrong-response",
      "alice",
      'the response for "alice" is wrong',
    ]);
  });

  test("a right response in upper-case hex is accepted", () => {
    const { server, answer } = setup();
    const credentials = answer().replace(
      /response="([0-9a-f]+)"/,
      (_, hex: string) => `response="${hex.toUpperCase()}"`,
    );
    assert.equal(server.verify({ ...REQUEST, credentials }).ok, true);
  });
});
