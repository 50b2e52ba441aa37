// hmac() (RFC 2104) over SHA-256, MD5 and SHA-512/256: the RFC 4231 and RFC 2104 test vectors,
// and node:crypto's createHmac for random keys and messages.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { hmac } from "../../src/hash/hmac.ts";
import { MD5, SHA_256, SHA_512_256, toHex } from "../../src/hash/hash_function.ts";

const encoder = new TextEncoder();
const bytes = (length: number, value: number) => new Uint8Array(length).fill(value);

describe("hmac()", () => {
  // RFC 4231 §4.2-§4.8: HMAC-SHA-256 of test cases 1 to 7.
  const rfc4231 = [
    {
      key: bytes(20, 0x0b),
      data: encoder.encode("Hi There"),
      mac: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
    },
    {
      key: encoder.encode("Jefe"),
      data: encoder.encode("what do ya want for nothing?"),
      mac: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    },
    {
      key: bytes(20, 0xaa),
      data: bytes(50, 0xdd),
      mac: "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
    },
    {
      key: new Uint8Array(25).map((_, i) => i + 1),
      data: bytes(50, 0xcd),
      mac: "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
    },
    {
      key: bytes(131, 0xaa),
      data: encoder.encode("Test Using Larger Than Block-Size Key - Hash Key First"),
      mac: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    },
    {
      key: bytes(131, 0xaa),
      data: encoder.encode(
        "This is a test using a larger than block-size key and a larger than block-size data. " +
          "The key needs to be hashed before being used by the HMAC algorithm.",
      ),
      mac: "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    },
  ];

  test("hmac() over SHA-256 gives the RFC 4231 test vectors", () => {
    rfc4231.forEach(({ key, data, mac }, i) => assert.equal(toHex(hmac(SHA_256, key, data)), mac, `case ${i}`));
  });

  test("hmac() over SHA-256 truncated to 128 bits gives RFC 4231 §4.6 test case 5", () => {
    const mac = hmac(SHA_256, bytes(20, 0x0c), encoder.encode("Test With Truncation"));
    assert.equal(toHex(mac.subarray(0, 16)), "a3b6167473100ee06e0c796c2955552b");
  });

  test("hmac() over MD5 gives the RFC 2104 appendix test vectors", () => {
    assert.equal(toHex(hmac(MD5, bytes(16, 0x0b), encoder.encode("Hi There"))), "9294727a3638bb1c13f48ef8158bfc9d");
    assert.equal(
      toHex(hmac(MD5, encoder.encode("Jefe"), encoder.encode("what do ya want for nothing?"))),
      "750c783e6ab0b503eaa86e310a5db738",
    );
    assert.equal(toHex(hmac(MD5, bytes(16, 0xaa), bytes(50, 0xdd))), "56be34521d144c88dbb8c733f0e8b3f6");
  });

  for (const [hash, node] of [[MD5, "md5"], [SHA_256, "sha256"], [SHA_512_256, "sha512-256"]] as const) {
    test(`hmac() over ${hash.name} agrees with node:crypto around the block size`, () => {
      // Keys shorter than, equal to and longer than the block; messages of random lengths.
      for (const keyLength of [0, 1, hash.blockSize - 1, hash.blockSize, hash.blockSize + 1, 300]) {
        const key = crypto.getRandomValues(new Uint8Array(keyLength));
        const data = crypto.getRandomValues(new Uint8Array(Math.floor(Math.random() * 1000)));
        const expected = createHmac(node, key).update(data).digest("hex");
        assert.equal(toHex(hmac(hash, key, data)), expected, `key ${keyLength} bytes, data ${data.length}`);
      }
    });
  }
});
