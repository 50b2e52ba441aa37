// md5(), sha256(), sha512_256(): the hashes of digest authentication (RFC 7616 §3.2), checked
// against the RFC 1321 and FIPS 180-4 example vectors, and against node:crypto at every
// padding edge: the same tests on Deno and on Bun.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { md5 } from "../../src/hash/md5.ts";
import { sha256 } from "../../src/hash/sha256.ts";
import { sha512_256 } from "../../src/hash/sha512_256.ts";
import { MD5, SHA_256, SHA_512_256, toHex } from "../../src/hash/hash_function.ts";

const encoder = new TextEncoder();
const M448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
const M896 =
  "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
const MILLION_A = new Uint8Array(1_000_000).fill(0x61);

function hexOf(hash: (data: Uint8Array) => Uint8Array, text: string): string {
  return toHex(hash(encoder.encode(text)));
}

describe("md5()", () => {
  test("md5() gives the RFC 1321 §A.5 test suite digests", () => {
    assert.equal(hexOf(md5, ""), "d41d8cd98f00b204e9800998ecf8427e");
    assert.equal(hexOf(md5, "a"), "0cc175b9c0f1b6a831c399e269772661");
    assert.equal(hexOf(md5, "abc"), "900150983cd24fb0d6963f7d28e17f72");
    assert.equal(hexOf(md5, "message digest"), "f96b697d7cb7938d525a2f31aaf161d0");
    assert.equal(hexOf(md5, "abcdefghijklmnopqrstuvwxyz"), "c3fcd3d76192e4007dfb496cca67e13b");
    assert.equal(
      hexOf(md5, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
      "d174ab98d277d9f5a5611c2c9f419d9f",
    );
    assert.equal(hexOf(md5, "1234567890".repeat(8)), "57edf4a22be3c955ac49da2e2107b67a");
  });

  test("md5() hashes the 448-bit and 896-bit messages and 1,000,000 'a'", () => {
    assert.equal(hexOf(md5, M448), "8215ef0796a20bcaaae116d3876c664a");
    assert.equal(hexOf(md5, M896), "03dd8807a93175fb062dfb55dc7d359c");
    assert.equal(toHex(md5(MILLION_A)), "7707d6ae4e027c70eea2a935c2296f21");
  });
});

describe("sha256()", () => {
  test("sha256() gives the FIPS 180-4 example digests", () => {
    assert.equal(hexOf(sha256, ""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert.equal(hexOf(sha256, "abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert.equal(hexOf(sha256, M448), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    assert.equal(hexOf(sha256, M896), "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  });

  test("sha256() hashes 1,000,000 repetitions of 'a'", () => {
    assert.equal(toHex(sha256(MILLION_A)), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  });
});

describe("sha512_256()", () => {
  test("sha512_256() gives the FIPS 180-4 example digests", () => {
    assert.equal(hexOf(sha512_256, ""), "c672b8d1ef56ed28ab87c3622c5114069bdd3ad7b8f9737498d0c01ecef0967a");
    assert.equal(hexOf(sha512_256, "abc"), "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23");
    assert.equal(hexOf(sha512_256, M448), "bde8e1f9f19bb9fd3406c90ec6bc47bd36d8ada9f11880dbc8a22a7078b6a461");
    assert.equal(hexOf(sha512_256, M896), "3928e184fb8690f840da3988121d31be65cb9d3ef83ee6146feac861e19b563a");
  });

  test("sha512_256() hashes 1,000,000 repetitions of 'a'", () => {
    assert.equal(toHex(sha512_256(MILLION_A)), "9a59a052930187a97038cae692f30708aa6491923ef5194394dc68d56c74fb21");
  });
});

describe("the hashes at the padding edges", () => {
  // 55/56/64 bytes are MD5's and SHA-256's edges (one or two padding blocks), 111/112/128 SHA-512's.
  const cases = [
    { hash: MD5, node: "md5" },
    { hash: SHA_256, node: "sha256" },
    { hash: SHA_512_256, node: "sha512-256" },
  ];
  for (const { hash, node } of cases) {
    test(`${hash.name} agrees with node:crypto for every length 0 to 300 bytes`, () => {
      const data = new Uint8Array(300).map((_, i) => (i * 131 + 7) & 0xff);
      for (let n = 0; n <= data.length; n++) {
        const expected = createHash(node).update(data.subarray(0, n)).digest("hex");
        assert.equal(toHex(hash.digest(data.subarray(0, n))), expected, `${n} bytes`);
      }
    });

    test(`${hash.name} agrees with node:crypto on random messages up to 5000 bytes`, () => {
      for (let k = 0; k < 40; k++) {
        const data = crypto.getRandomValues(new Uint8Array(Math.floor(Math.random() * 5000)));
        const expected = createHash(node).update(data).digest("hex");
        assert.equal(toHex(hash.digest(data)), expected, `${data.length} random bytes`);
      }
    });
  }

  test("the hashes read a subarray without its neighbours", () => {
    const buffer = encoder.encode("xxabcxx");
    assert.equal(toHex(sha256(buffer.subarray(2, 5))), hexOf(sha256, "abc"));
    assert.equal(toHex(md5(buffer.subarray(2, 5))), hexOf(md5, "abc"));
    assert.equal(toHex(sha512_256(buffer.subarray(2, 5))), hexOf(sha512_256, "abc"));
  });
});
