/**
 * Address blocks: parsing CIDR notation (RFC 4632, RFC 4291 §2.3) and telling whether a source
 * address lies in a block, as a rule's `match.source` does.
 *
 * @module
 */

/**
 * An address block (RFC 4632 for IPv4, RFC 4291 §2.3 for IPv6) with the host bits cleared.
 * IPv4-mapped IPv6 blocks (`::ffff:192.0.2.0/120`) are stored as IPv4.
 *
 * @example
 * ```ts
 * import { type Cidr, parseCidr } from "@sipecho/sipecho/rules";
 * import assert from "node:assert/strict";
 *
 * const cidr: Cidr = parseCidr("192.0.2.77/24");
 * assert.deepEqual(cidr, { family: 4, bytes: [192, 0, 2, 0], prefix: 24 });
 * ```
 */
export interface Cidr {
  /** 4 or 6. */
  readonly family: 4 | 6;
  /** The network address: 4 or 16 bytes, host bits zero. */
  readonly bytes: readonly number[];
  /** The prefix length: 0..32 or 0..128. */
  readonly prefix: number;
}

/**
 * Parses a CIDR block (RFC 4632 for IPv4, RFC 4291 §2.3 for IPv6): `192.0.2.0/24`,
 * `2001:db8::/32`; a bare address means /32 or /128. Host bits are cleared
 * (`192.0.2.7/24` is `192.0.2.0/24`). IPv4-mapped blocks (`::ffff:192.0.2.0/120`) become
 * IPv4 blocks. IPv4 parts with leading zeros are refused.
 *
 * @param text The block.
 * @returns The block, normalised.
 * @throws {SyntaxError} If `text` is not a CIDR block.
 *
 * @example
 * ```ts
 * import { parseCidr } from "@sipecho/sipecho/rules";
 * import assert from "node:assert/strict";
 *
 * assert.equal(parseCidr("2001:db8::1").prefix, 128);
 * assert.deepEqual(parseCidr("::ffff:10.1.2.3/104"), { family: 4, bytes: [10, 0, 0, 0], prefix: 8 });
 * assert.throws(() => parseCidr("10.0.0.0/33"), SyntaxError);
 * ```
 */
export function parseCidr(text: string): Cidr {
  const cidr = _parseCidr(text);
  if (typeof cidr === "string") throw new SyntaxError(`Cannot parse CIDR ${JSON.stringify(text)}: ${cidr}`);
  return cidr;
}

/**
 * Tells whether an address lies in a CIDR block. The address may be IPv4 or IPv6, with or
 * without brackets and zone (`fe80::1%eth0`); an IPv4-mapped IPv6 address (`::ffff:192.0.2.1`,
 * as dual-stack sockets report IPv4 peers) is compared as IPv4. An address that cannot be
 * parsed lies in no block.
 *
 * @param cidr A block from {@linkcode parseCidr}, or its text.
 * @param address The address to test.
 * @returns `true` if the address lies in the block.
 * @throws {SyntaxError} If `cidr` is text that is not a CIDR block.
 *
 * @example
 * ```ts
 * import { cidrContains } from "@sipecho/sipecho/rules";
 * import assert from "node:assert/strict";
 *
 * assert.ok(cidrContains("192.0.2.0/24", "192.0.2.200"));
 * assert.ok(cidrContains("192.0.2.0/24", "::ffff:192.0.2.1"));
 * assert.ok(!cidrContains("2001:db8::/32", "2001:db9::1"));
 * ```
 */
export function cidrContains(cidr: Cidr | string, address: string): boolean {
  const block = typeof cidr === "string" ? parseCidr(cidr) : cidr;
  const parsed = _parseSource(address);
  return parsed !== undefined && _contains(block, parsed);
}

/**
 * @internal Parses a CIDR block as {@linkcode parseCidr} does, but returns the problem instead
 * of throwing (the rules loader adds the JSON path).
 *
 * @param text The block.
 * @returns The block, normalised, or the problem as text.
 *
 * @example
 * ```ts
 * import { _parseCidr } from "./cidr.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(_parseCidr("10.1.2.3/8"), { family: 4, bytes: [10, 0, 0, 0], prefix: 8 });
 * assert.equal(_parseCidr("10.0.0.0/33"), "prefix length must be an integer 0..32");
 * ```
 */
export function _parseCidr(text: string): Cidr | string {
  const slash = text.indexOf("/");
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const v6 = addressText.includes(":");
  let bytes = v6 ? _parseIpv6(addressText) : _parseIpv4(addressText);
  if (bytes === undefined) return `not an ${v6 ? "IPv6" : "IPv4"} address`;
  const max = bytes.length * 8;
  let prefix = max;
  if (slash >= 0) {
    const prefixText = text.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(prefixText) || Number(prefixText) > max) {
      return `prefix length must be an integer 0..${max}`;
    }
    prefix = Number(prefixText);
  }
  let family: 4 | 6 = v6 ? 6 : 4;
  if (family === 6 && prefix >= 96 && _isMapped(bytes)) {
    family = 4;
    bytes = bytes.slice(12);
    prefix -= 96;
  }
  return { family, bytes: bytes.map((b, i) => b & _maskByte(prefix, i)), prefix };
}

/**
 * @internal Parses a source address for matching: IPv4 or IPv6, brackets and an IPv6 zone
 * (`fe80::1%eth0`) removed, IPv4-mapped IPv6 made IPv4 (as dual-stack sockets report IPv4 peers).
 *
 * @param address The address.
 * @returns Its family and bytes, or `undefined` if it is not an address.
 *
 * @example
 * ```ts
 * import { _parseSource } from "./cidr.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(_parseSource("[::ffff:192.0.2.1]"), { family: 4, bytes: [192, 0, 2, 1] });
 * assert.equal(_parseSource("example.com"), undefined);
 * ```
 */
export function _parseSource(address: string): { family: 4 | 6; bytes: number[] } | undefined {
  let text = address;
  if (text.startsWith("[") && text.endsWith("]")) text = text.slice(1, -1);
  const zone = text.indexOf("%");
  if (zone >= 0 && text.includes(":")) text = text.slice(0, zone);
  return _parseAddress(text);
}

/**
 * @internal Tells whether a parsed address lies in a block (of the same family).
 *
 * @param block The block.
 * @param address An address from {@linkcode _parseSource}.
 * @returns `true` if it lies in the block.
 *
 * @example
 * ```ts
 * import { _contains, _parseSource, parseCidr } from "./cidr.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(_contains(parseCidr("2001:db8::/32"), _parseSource("2001:db8::7")!));
 * assert.ok(!_contains(parseCidr("::/0"), _parseSource("192.0.2.1")!));
 * ```
 */
export function _contains(block: Cidr, address: { family: 4 | 6; bytes: readonly number[] }): boolean {
  if (block.family !== address.family) return false;
  for (let i = 0; i * 8 < block.prefix; i++) {
    if ((address.bytes[i] & _maskByte(block.prefix, i)) !== block.bytes[i]) return false;
  }
  return true;
}

function _parseIpv4(text: string): number[] | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes: number[] = [];
  for (const part of parts) {
    // No leading zeros: "010" is octal to some tools and decimal to others.
    if (!/^(?:0|[1-9][0-9]{0,2})$/.test(part) || Number(part) > 255) return undefined;
    bytes.push(Number(part));
  }
  return bytes;
}

/** RFC 4291 §2.2 text forms: eight groups, one "::" for a run of zeros, a trailing IPv4. */
function _parseIpv6(text: string): number[] | undefined {
  const gap = text.indexOf("::");
  if (gap !== text.lastIndexOf("::")) return undefined;
  const split = (s: string) => (s === "" ? [] : s.split(":"));
  const head = gap < 0 ? split(text) : split(text.slice(0, gap));
  const tail = gap < 0 ? [] : split(text.slice(gap + 2));
  const last = gap < 0 ? head : tail;
  if (last.length > 0 && last[last.length - 1].includes(".")) {
    const v4 = _parseIpv4(last.pop()!);
    if (v4 === undefined) return undefined;
    last.push(((v4[0] << 8) | v4[1]).toString(16), ((v4[2] << 8) | v4[3]).toString(16));
  }
  const groups = head.length + tail.length;
  if (gap < 0 ? groups !== 8 : groups > 7) return undefined;
  const words: number[] = [];
  for (const group of [...head, ...Array(8 - groups).fill("0"), ...tail]) {
    if (!/^[0-9A-Fa-f]{1,4}$/.test(group)) return undefined;
    words.push(parseInt(group, 16));
  }
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

/** An address as family and bytes, with IPv4-mapped IPv6 (RFC 4291 §2.5.5.2) made IPv4. */
function _parseAddress(text: string): { family: 4 | 6; bytes: number[] } | undefined {
  if (!text.includes(":")) {
    const v4 = _parseIpv4(text);
    return v4 && { family: 4, bytes: v4 };
  }
  const v6 = _parseIpv6(text);
  if (v6 === undefined) return undefined;
  if (_isMapped(v6)) return { family: 4, bytes: v6.slice(12) };
  return { family: 6, bytes: v6 };
}

function _isMapped(bytes: readonly number[]): boolean {
  return bytes.length === 16 && bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff &&
    bytes[11] === 0xff;
}

/** The mask for byte `i` of a prefix of length `prefix`. */
function _maskByte(prefix: number, i: number): number {
  const bits = Math.min(8, Math.max(0, prefix - i * 8));
  return (0xff << (8 - bits)) & 0xff;
}
