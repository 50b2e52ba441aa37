// DigestClient: answers to the challenges of a 401 or 407 (RFC 7616 §3.4, RFC 3261 §22.2,
// RFC 8760 §2.4), its cnonces from an injected random source, nc counted per nonce.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { DigestClient } from "../../src/auth/digest_client.ts";
import { parseCredentials } from "../../src/auth/parse_digest.ts";
import { digestHA1, digestResponse } from "../../src/auth/digest_response.ts";
import { HeaderError } from "../../src/sip/header_values.ts";

const ones = (size: number) => new Uint8Array(size).fill(1);
const REQUEST = { method: "INVITE", uri: "sip:bob@biloxi.example.com" };

describe("DigestClient", () => {
  test("authorize() gives the RFC 2617 §3.5 Authorization for Mufasa", () => {
    const client = new DigestClient({
      username: "Mufasa",
      password: "Circle Of Life",
      random: () => Uint8Array.of(0x0a, 0x4f, 0x11, 0x3b), // the example's cnonce
    });
    const answer = client.authorize({
      method: "GET",
      uri: "/dir/index.html",
      challenges: 'Digest realm="testrealm@host.com", qop="auth,auth-int", ' +
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
    });
    assert.equal(answer.header, "Authorization");
    assert.equal(
      answer.value,
      'Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", ' +
        'uri="/dir/index.html", response="6629fae49393a05397450978507c4ef1", cnonce="0a4f113b", ' +
        'opaque="5ccc069c403ebaf9f0171e9517f40e41", qop=auth, nc=00000001',
    );
  });

  test("authorize() counts nc per nonce: 1, 2, 3, and 1 again for a new nonce", () => {
    const client = new DigestClient({ username: "alice", password: "pw", random: ones });
    const challenge = (nonce: string) => `Digest realm="r", nonce="${nonce}", qop="auth"`;
    const ncs = [
      client.authorize({ ...REQUEST, challenges: challenge("n1") }).nc,
      client.authorize({ ...REQUEST, challenges: challenge("n1") }).nc,
      client.authorize({ ...REQUEST, challenges: challenge("n2") }).nc,
      client.authorize({ ...REQUEST, challenges: challenge("n1") }).nc,
    ];
    assert.deepEqual(ncs, ["00000001", "00000002", "00000001", "00000003"]);
  });

  test("authorize() answers the first challenge, in the server's order, whose algorithm it takes (RFC 8760 §2.4)", () => {
    const client = new DigestClient({
      username: "alice",
      password: "pw",
      random: ones,
      algorithms: ["MD5", "SHA-256"],
    });
    const answer = client.authorize({
      ...REQUEST,
      challenges: [
        'Digest realm="r", nonce="n", algorithm=SHA-512-256, qop="auth"',
        'Digest realm="r", nonce="n", algorithm=SHA-256, qop="auth"',
        'Digest realm="r", nonce="n", algorithm=MD5, qop="auth"',
      ],
    });
    assert.equal(answer.algorithm, "SHA-256");
    assert.match(answer.value, /algorithm=SHA-256/);
    assert.match(answer.value, /response="[0-9a-f]{64}"/);
  });

  test("authorize() computes a response that digestResponse() agrees with, for auth-int and a body", () => {
    const client = new DigestClient({ username: "alice", password: "pw", random: ones, qop: ["auth-int", "auth"] });
    const body = "v=0\r\n";
    const answer = client.authorize({
      ...REQUEST,
      body,
      challenges: 'Digest realm="r", nonce="n", algorithm=SHA-256-sess, qop="auth,auth-int"',
      header: "Proxy-Authenticate",
    });
    assert.equal(answer.header, "Proxy-Authorization");
    assert.equal(answer.qop, "auth-int");
    const sent = parseCredentials(answer.value, "Proxy-Authorization");
    assert.equal(
      sent.response,
      digestResponse({
        algorithm: "SHA-256-sess",
        ha1: digestHA1("SHA-256", "alice", "r", "pw"),
        ...REQUEST,
        nonce: "n",
        qop: "auth-int",
        nc: "00000001",
        cnonce: "01010101010101010101010101010101",
        body,
      }),
    );
  });

  test("authorize() answers a challenge without qop or algorithm as RFC 2069 does, with neither", () => {
    const client = new DigestClient({ username: "bob", password: "zanzibar", random: ones });
    const answer = client.authorize({ ...REQUEST, challenges: 'Digest realm="biloxi.com", nonce="dcd98b"' });
    const sent = parseCredentials(answer.value);
    assert.equal(sent.algorithm, undefined);
    assert.equal(sent.qop, undefined);
    assert.equal(sent.nc, undefined);
    assert.equal(sent.cnonce, undefined);
    assert.equal(
      sent.response,
      digestResponse({
        algorithm: "MD5",
        ha1: digestHA1("MD5", "bob", "biloxi.com", "zanzibar"),
        ...REQUEST,
        nonce: "dcd98b",
      }),
    );
  });

  test("authorize() skips a challenge of another realm, a -sess one without qop, and one that does not parse", () => {
    const client = new DigestClient({ username: "alice", password: "pw", realm: "atlanta.example.com", random: ones });
    const answer = client.authorize({
      ...REQUEST,
      challenges: [
        'Digest realm="biloxi.example.com", nonce="n1", qop="auth"',
        'Digest realm="atlanta.example.com", nonce="n2", algorithm=MD5-sess',
        "Digest realm=broken",
        'Digest realm="atlanta.example.com", nonce="n3", algorithm=MD5, qop="auth"',
      ],
    });
    assert.equal(answer.nonce, "n3");
  });

  test("authorize() says what was offered when it takes none of it", () => {
    const client = new DigestClient({ username: "alice", password: "pw", random: ones, algorithms: ["SHA-256"] });
    assert.throws(
      () =>
        client.authorize({
          ...REQUEST,
          challenges: [
            'Digest realm="r", nonce="n", algorithm=MD5, qop="auth"',
            'Digest realm="r", nonce="n", algorithm=SHA-256, qop="auth-conf"',
          ],
        }),
      {
        name: "RangeError",
        message: 'Cannot answer WWW-Authenticate: no challenge this client takes (offered: MD5 qop=auth realm "r"; ' +
          'SHA-256 qop=auth-conf realm "r")',
      },
    );
  });

  test("authorize() throws the HeaderError when no challenge parses", () => {
    const client = new DigestClient({ username: "alice", password: "pw", random: ones });
    assert.throws(
      () => client.authorize({ ...REQUEST, challenges: ['Basic realm="r"'], header: "Proxy-Authenticate" }),
      (e: unknown) => e instanceof HeaderError && e.header === "Proxy-Authenticate" && /not Digest/.test(e.message),
    );
  });
});
