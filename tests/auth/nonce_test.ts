// issueNonce(), openNonce(): nonces checked without a table (RFC 7616 §3.3), bound to a secret,
// a realm and a source.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { issueNonce, openNonce } from "../../src/auth/nonce.ts";

const key = { secret: new Uint8Array(32).map((_, i) => i), realm: "atlanta.example.com" };
const T = 1_767_225_600_123; // 2026-01-01, in milliseconds

describe("issueNonce() and openNonce()", () => {
  test("openNonce() gives back the issue time of a nonce issueNonce() made, to the millisecond", () => {
    for (const time of [0, 1, T, 2 ** 48 - 1]) assert.equal(openNonce(key, issueNonce(key, time, 7)), time);
  });

  test("issueNonce() writes 35 base64url characters, different for each sequence number", () => {
    const a = issueNonce(key, T, 1);
    const b = issueNonce(key, T, 2);
    assert.match(a, /^[A-Za-z0-9_-]{35}$/);
    assert.notEqual(a, b);
    assert.equal(issueNonce(key, T, 1), a, "the same inputs give the same nonce");
  });

  test("openNonce() refuses a nonce of another secret, realm or source", () => {
    const nonce = issueNonce({ ...key, source: "192.0.2.1" }, T, 1);
    assert.equal(openNonce({ ...key, source: "192.0.2.1" }, nonce), T);
    assert.equal(openNonce(key, nonce), undefined, "no source");
    assert.equal(openNonce({ ...key, source: "192.0.2.2" }, nonce), undefined);
    assert.equal(openNonce({ ...key, source: "192.0.2.1", realm: "biloxi.example.com" }, nonce), undefined);
    assert.equal(openNonce({ ...key, source: "192.0.2.1", secret: new Uint8Array(32) }, nonce), undefined);
  });

  test("openNonce() keeps realm and source apart (realm a, source b:c is not realm a:b, source c)", () => {
    const nonce = issueNonce({ ...key, realm: "a", source: "b:c" }, T, 1);
    assert.equal(openNonce({ ...key, realm: "a:b", source: "c" }, nonce), undefined);
  });

  test("openNonce() refuses a nonce with any one character changed", () => {
    const nonce = issueNonce(key, T, 1);
    for (let i = 0; i < nonce.length; i++) {
      const changed = nonce.slice(0, i) + (nonce[i] === "A" ? "B" : "A") + nonce.slice(i + 1);
      assert.equal(openNonce(key, changed), undefined, `character ${i}`);
    }
  });

  test("openNonce() refuses a later time written into a genuine nonce", () => {
    // The first 8 characters hold the 6 time bytes; the MAC covers them.
    const old = issueNonce(key, T, 1);
    const later = issueNonce(key, T + 3_600_000, 1);
    assert.equal(openNonce(key, later.slice(0, 8) + old.slice(8)), undefined);
  });

  test("openNonce() refuses other lengths, other characters, and a second spelling of the last character", () => {
    const nonce = issueNonce(key, T, 1);
    assert.equal(openNonce(key, ""), undefined);
    assert.equal(openNonce(key, nonce.slice(1)), undefined);
    assert.equal(openNonce(key, nonce + "A"), undefined);
    assert.equal(openNonce(key, nonce.slice(0, 34) + "="), undefined);
    assert.equal(openNonce(key, nonce.slice(0, 34) + "é"), undefined);
    // 35 characters hold 210 bits for 208: the last character's two low bits must be zero.
    const last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".indexOf(nonce[34]);
    const other = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last | 1];
    assert.equal(openNonce(key, nonce.slice(0, 34) + other), undefined);
  });

  test("issueNonce() refuses a time that is not a whole number of milliseconds in range", () => {
    for (const time of [-1, 1.5, 2 ** 48, NaN]) {
      assert.throws(() => issueNonce(key, time, 0), { name: "RangeError", message: new RegExp(`time ${time} `) });
    }
  });
});
