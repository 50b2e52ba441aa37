// sha1(), the SHA-1 of the WebSocket handshake (RFC 6455 §4.2.2), checked against the FIPS 180-4
// examples and crypto.subtle: the same tests on Deno and on Bun.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { sha1 } from "../../src/hash/sha1.ts";

const encoder = new TextEncoder();

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

describe("sha1()", () => {
  test("sha1() gives the FIPS 180-4 example digests", () => {
    assert.equal(hex(sha1(encoder.encode("abc"))), "a9993e364706816aba3e25717850c26c9cd0d89d");
    assert.equal(hex(sha1(new Uint8Array(0))), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    assert.equal(
      hex(sha1(encoder.encode("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
      "84983e441c3bd26ebaae4aa1f95129e5e54670f1",
    );
    assert.equal(
      hex(sha1(encoder.encode(
        "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
      ))),
      "a49b2446a02c645bf419f995b67091253a04a259",
    );
  });

  test("sha1() hashes 1,000,000 repetitions of 'a'", () => {
    assert.equal(hex(sha1(new Uint8Array(1_000_000).fill(0x61))), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
  });

  test("sha1() agrees with crypto.subtle at every padding boundary (0 to 200 bytes)", async () => {
    const data = new Uint8Array(200).map((_, i) => (i * 131 + 7) & 0xff);
    for (let n = 0; n <= data.length; n++) {
      const expected = new Uint8Array(await crypto.subtle.digest("SHA-1", data.slice(0, n)));
      assert.equal(hex(sha1(data.subarray(0, n))), hex(expected), `${n} bytes`);
    }
  });

  test("sha1() gives the RFC 6455 §1.3 Sec-WebSocket-Accept of the example key", () => {
    const digest = sha1(encoder.encode("dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11"));
    assert.equal(btoa(String.fromCharCode(...digest)), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  });
});
