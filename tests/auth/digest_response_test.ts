// digestHA1(), sessionHA1(), digestResponse(): RFC 7616 §3.4 computations, checked against the
// RFC 7616 §3.9.1 and RFC 2617 §3.5 examples, and against the formulas written out with
// node:crypto for every algorithm and qop.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { DIGEST_ALGORITHMS, type DigestAlgorithm } from "../../src/auth/algorithm.ts";
import { digestHA1, digestHash, digestResponse, sessionHA1 } from "../../src/auth/digest_response.ts";

const RFC7616 = {
  method: "GET",
  uri: "/dir/index.html",
  nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
  qop: "auth",
  nc: "00000001",
  cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
};

/** The hash of node:crypto behind an algorithm. */
function nodeHash(algorithm: DigestAlgorithm): (data: string | Uint8Array) => string {
  const name = algorithm.startsWith("SHA-512-256") ? "sha512-256" : algorithm.startsWith("SHA-256") ? "sha256" : "md5";
  return (data) => createHash(name).update(data).digest("hex");
}

describe("digestResponse()", () => {
  test("digestResponse() gives the RFC 7616 §3.9.1 SHA-256 and MD5 responses for Mufasa", () => {
    for (
      const [algorithm, expected] of [
        ["SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"],
        ["MD5", "8ca523f5e9506fed4657c9700eebdbec"],
      ] as const
    ) {
      const ha1 = digestHA1(algorithm, "Mufasa", "http-auth@example.org", "Circle of Life");
      assert.equal(digestResponse({ algorithm, ha1, ...RFC7616 }), expected, algorithm);
    }
  });

  test("digestResponse() gives the RFC 2617 §3.5 response", () => {
    const ha1 = digestHA1("MD5", "Mufasa", "testrealm@host.com", "Circle Of Life");
    const response = digestResponse({
      algorithm: "MD5",
      ha1,
      method: "GET",
      uri: "/dir/index.html",
      nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
      qop: "auth",
      nc: "00000001",
      cnonce: "0a4f113b",
    });
    assert.equal(response, "6629fae49393a05397450978507c4ef1");
  });

  test("digestResponse() takes a precomputed H(A1) in upper-case hex", () => {
    const ha1 = digestHA1("MD5", "Mufasa", "http-auth@example.org", "Circle of Life").toUpperCase();
    assert.equal(digestResponse({ algorithm: "MD5", ha1, ...RFC7616 }), "8ca523f5e9506fed4657c9700eebdbec");
  });

  for (const algorithm of DIGEST_ALGORITHMS) {
    test(`digestResponse() computes ${algorithm} as RFC 7616 §3.4 writes it, for no qop, auth and auth-int`, () => {
      const H = nodeHash(algorithm);
      const base = H("alice:atlanta.example.com:pa:ss wörd");
      assert.equal(digestHA1(algorithm, "alice", "atlanta.example.com", "pa:ss wörd"), base);
      const sess = algorithm.endsWith("-sess");
      const ha1 = sess ? H(`${base}:n0nce:c/nonce`) : base;
      if (sess) assert.equal(sessionHA1(algorithm, base, "n0nce", "c/nonce"), ha1);
      const request = { algorithm, ha1: base, method: "INVITE", uri: "sip:bob@biloxi.example.com", nonce: "n0nce" };
      const body = new TextEncoder().encode("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n");
      const ha2 = H("INVITE:sip:bob@biloxi.example.com");
      const ha2int = H(`INVITE:sip:bob@biloxi.example.com:${H(body)}`);
      assert.equal(
        digestResponse({ ...request, qop: "auth", nc: "0000002a", cnonce: "c/nonce" }),
        H(`${ha1}:n0nce:0000002a:c/nonce:auth:${ha2}`),
      );
      assert.equal(
        digestResponse({ ...request, qop: "auth-int", nc: "00000001", cnonce: "c/nonce", body }),
        H(`${ha1}:n0nce:00000001:c/nonce:auth-int:${ha2int}`),
      );
      // The same body as text or as bytes.
      assert.equal(
        digestResponse({ ...request, qop: "auth-int", nc: "00000001", cnonce: "c/nonce", body }),
        digestResponse({
          ...request,
          qop: "auth-int",
          nc: "00000001",
          cnonce: "c/nonce",
          body: "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n",
        }),
      );
      if (!sess) assert.equal(digestResponse(request), H(`${ha1}:n0nce:${ha2}`));
    });
  }

  test("digestResponse() hashes a missing auth-int body as the empty string (RFC 3261 §22.4)", () => {
    const request = { algorithm: "MD5" as const, ha1: "00", method: "BYE", uri: "sip:a@b", nonce: "n" };
    const withEmpty = digestResponse({ ...request, qop: "auth-int", nc: "00000001", cnonce: "c", body: "" });
    assert.equal(digestResponse({ ...request, qop: "auth-int", nc: "00000001", cnonce: "c" }), withEmpty);
    const H = nodeHash("MD5");
    assert.equal(withEmpty, H(`00:n:00000001:c:auth-int:${H(`BYE:sip:a@b:${H("")}`)}`));
  });

  test("digestResponse() refuses an unknown qop, qop without nc or cnonce, and -sess without cnonce", () => {
    const request = { algorithm: "MD5" as const, ha1: "00", method: "BYE", uri: "sip:a@b", nonce: "n" };
    assert.throws(() => digestResponse({ ...request, qop: "auth-conf", nc: "00000001", cnonce: "c" }), {
      name: "RangeError",
      message: 'Cannot compute a response for qop "auth-conf": only auth and auth-int are known',
    });
    assert.throws(() => digestResponse({ ...request, qop: "auth", cnonce: "c" }), /qop "auth" without nc/);
    assert.throws(() => digestResponse({ ...request, qop: "auth", nc: "00000001" }), /without cnonce/);
    assert.throws(
      () => digestResponse({ ...request, algorithm: "SHA-256-sess" }),
      /Cannot compute a SHA-256-sess response without a cnonce/,
    );
  });

  test("digestHash() hashes text as UTF-8", () => {
    assert.equal(digestHash("SHA-256", "é"), createHash("sha256").update(new Uint8Array([0xc3, 0xa9])).digest("hex"));
  });
});
