// src/sip/ip.ts: the one reader of IP address text and writer of IPv6 text (RFC 4291 §2.2,
// RFC 5952), used by the edge guard and the Deno UDP shim.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { formatIpv6, parseIpv4, parseIpv6 } from "../../src/sip/ip.ts";

describe("parseIpv4()", () => {
  test("parseIpv4() reads four decimal octets and nothing else", () => {
    assert.deepEqual(parseIpv4("0.0.0.0"), [0, 0, 0, 0]);
    assert.deepEqual(parseIpv4("255.255.255.255"), [255, 255, 255, 255]);
    assert.deepEqual(parseIpv4("010.1.1.1"), [10, 1, 1, 1]);
    for (
      const text of ["", "1.2.3", "1.2.3.4.5", "1.2.3.256", "1..2.3", "1.2.3.+4", "1.2.3.0x4", "1.2.3.0004", " 1.2.3.4"]
    ) {
      assert.equal(parseIpv4(text), undefined, text);
    }
  });
});

describe("parseIpv6()", () => {
  test("parseIpv6() reads the three text forms of RFC 4291 §2.2", () => {
    assert.deepEqual(parseIpv6("2001:0DB8:0000:0000:0008:0800:200C:417A"), [
      0x2001,
      0xdb8,
      0,
      0,
      8,
      0x800,
      0x200c,
      0x417a,
    ]);
    assert.deepEqual(parseIpv6("FF01::101"), [0xff01, 0, 0, 0, 0, 0, 0, 0x101]);
    assert.deepEqual(parseIpv6("::"), [0, 0, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(parseIpv6("1::"), [1, 0, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(parseIpv6("0:0:0:0:0:0:13.1.68.3"), [0, 0, 0, 0, 0, 0, 0x0d01, 0x4403]);
    assert.deepEqual(parseIpv6("::FFFF:129.144.52.38"), [0, 0, 0, 0, 0, 0xffff, 0x8190, 0x3426]);
  });

  test("parseIpv6() refuses what is not an IPv6 address", () => {
    const bad = [
      "",
      "1",
      "1.2.3.4",
      ":",
      ":::",
      "1:2:3",
      "1::2::3",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4::5:6:7:8",
      "12345::1",
    ]
      .concat([
        "::g",
        "1g::",
        "fe80::1%eth0",
        "::1.2.3",
        "1.2.3.4::1",
        "::1.2.3.4:1",
        "1:2:3:4:5:6:7:1.2.3.4",
        "[::1]",
      ]);
    for (const text of bad) assert.equal(parseIpv6(text), undefined, text);
  });
});

describe("formatIpv6()", () => {
  test("formatIpv6() writes RFC 5952 text", () => {
    for (
      const [text, expected] of [
        ["2001:0DB8:0:0:0:0:0:1", "2001:db8::1"], // §4.1 no leading zeros, §4.3 lower case
        ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], // §4.2.3 the first of equal runs
        ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"], // §4.2.2 one zero group is not shortened
        ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"], // §4.2.3 the longest run
        ["::", "::"],
        ["::1", "::1"],
        ["1::", "1::"],
        ["::ffff:c000:201", "::ffff:192.0.2.1"], // §5 IPv4-mapped in dotted decimal
        ["::1:c000:201", "::1:c000:201"],
        ["64:ff9b::192.0.2.1", "64:ff9b::c000:201"], // only the mapped prefix is written dotted
      ]
    ) {
      assert.equal(formatIpv6(parseIpv6(text)!), expected, text);
    }
  });

  test("formatIpv6() gives back what parseIpv6() reads, for every run of zero groups", () => {
    for (let mask = 0; mask < 256; mask++) {
      const groups = Array.from({ length: 8 }, (_, i) => (mask >> i) & 1 ? 0xa0 + i : 0);
      if (groups[5] === 0xffff) continue;
      assert.deepEqual(parseIpv6(formatIpv6(groups)), groups, groups.join(":"));
    }
  });
});
