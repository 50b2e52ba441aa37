// parseCidr() and cidrContains(): address blocks for match.source.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cidrContains, parseCidr } from "../../src/rules/cidr.ts";

test("cidrContains() handles prefix edges, families and mapped addresses", () => {
  assert.ok(cidrContains("0.0.0.0/0", "255.255.255.255"));
  assert.ok(!cidrContains("0.0.0.0/0", "::1"), "an IPv4 block holds no IPv6 address");
  assert.ok(cidrContains("::/0", "2001:db8::1"));
  assert.ok(!cidrContains("::/0", "192.0.2.1"), "an IPv6 block holds no IPv4 address");
  assert.ok(cidrContains("10.0.0.0/8", "10.255.255.255"));
  assert.ok(!cidrContains("10.0.0.0/8", "11.0.0.0"));
  assert.ok(cidrContains("192.0.2.128/25", "192.0.2.128"));
  assert.ok(!cidrContains("192.0.2.128/25", "192.0.2.127"));
  assert.ok(cidrContains("192.0.2.64/26", "192.0.2.127"));
  assert.ok(!cidrContains("192.0.2.64/26", "192.0.2.128"));
  assert.ok(cidrContains("2001:db8::/127", "2001:db8::1"));
  assert.ok(!cidrContains("2001:db8::/127", "2001:db8::2"));
  assert.ok(cidrContains("fe80::/10", "febf::1"));
  assert.ok(!cidrContains("fe80::/10", "fec0::1"));
  assert.ok(cidrContains("::1", "0:0:0:0:0:0:0:1"));
  assert.ok(cidrContains("::ffff:192.0.2.0/120", "192.0.2.9"), "an IPv4-mapped block holds IPv4 addresses");
  assert.ok(cidrContains("::ffff:192.0.2.0/120", "::ffff:192.0.2.9"));
  assert.ok(cidrContains("::ffff:0:0/96", "198.51.100.1"));
  assert.ok(cidrContains("2001:db8::1.2.3.4", "2001:db8::102:304"), "embedded IPv4 notation");
  assert.ok(cidrContains(parseCidr("192.0.2.0/24"), "192.0.2.1"));
});

test("parseCidr() normalises blocks and refuses malformed ones", () => {
  assert.deepEqual(parseCidr("192.0.2.77/24"), { family: 4, bytes: [192, 0, 2, 0], prefix: 24 });
  assert.deepEqual(parseCidr("10.1.2.3"), { family: 4, bytes: [10, 1, 2, 3], prefix: 32 });
  assert.deepEqual(parseCidr("2001:db8:1:2:3:4:5:6/33"), {
    family: 6,
    bytes: [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    prefix: 33,
  });
  assert.deepEqual(parseCidr("2001:db8:8000::/33").bytes.slice(0, 5), [0x20, 0x01, 0x0d, 0xb8, 0x80]);
  assert.deepEqual(parseCidr("::ffff:10.1.2.3/104"), { family: 4, bytes: [10, 0, 0, 0], prefix: 8 });
  assert.equal(parseCidr("::ffff:0:0/95").family, 6, "a block wider than the mapped range stays IPv6");
  assert.deepEqual(parseCidr("::").bytes, new Array(16).fill(0));
  assert.deepEqual(parseCidr("1::").bytes, [0, 1, ...new Array(14).fill(0)]);

  const bad: [text: string, problem: string][] = [
    ["", "not an IPv4 address"],
    ["192.0.2", "not an IPv4 address"],
    ["192.0.2.1.1", "not an IPv4 address"],
    ["192.0.2.256", "not an IPv4 address"],
    ["192.0.2.01", "not an IPv4 address"],
    ["192.0.2.-1", "not an IPv4 address"],
    [" 192.0.2.1", "not an IPv4 address"],
    ["192.0.2.0/33", "prefix length must be an integer 0..32"],
    ["192.0.2.0/", "prefix length must be an integer 0..32"],
    ["192.0.2.0/-1", "prefix length must be an integer 0..32"],
    ["192.0.2.0/8/8", "prefix length must be an integer 0..32"],
    ["2001:db8::/129", "prefix length must be an integer 0..128"],
    ["1::2::3", "not an IPv6 address"],
    [":::", "not an IPv6 address"],
    ["1:2:3:4:5:6:7:8:9", "not an IPv6 address"],
    ["1:2:3:4:5:6:7", "not an IPv6 address"],
    ["1:2:3:4:5:6:7::8", "not an IPv6 address"],
    ["12345::", "not an IPv6 address"],
    ["g::", "not an IPv6 address"],
    [":1:2:3:4:5:6:7", "not an IPv6 address"],
    ["1.2.3.4::", "not an IPv6 address"],
    ["::1.2.3", "not an IPv6 address"],
    ["fe80::1%eth0", "not an IPv6 address"],
  ];
  for (const [text, problem] of bad) {
    assert.throws(() => parseCidr(text), {
      name: "SyntaxError",
      message: `Cannot parse CIDR ${JSON.stringify(text)}: ${problem}`,
    }, text);
  }
});
