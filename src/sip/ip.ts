/**
 * IP addresses as text: reading dotted IPv4 and the IPv6 text forms of RFC 4291 §2.2, and
 * writing IPv6 text as RFC 5952 recommends. Shared by the edge guard (a source's /64) and the
 * Deno UDP shim (socket addresses), so that one address is always written the same way.
 *
 * @module
 */

import { isDigit, isHexDigit } from "./chars.ts";

/**
 * The four octets of a dotted-decimal IPv4 address: four decimal numbers 0..255 of one to
 * three digits each, separated by ".".
 *
 * @param text The address, e.g. `192.0.2.1`.
 * @returns The octets, or undefined if the text is not such an address.
 * @example
 * ```ts
 * import { parseIpv4 } from "./ip.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseIpv4("192.0.2.1"), [192, 0, 2, 1]);
 * assert.equal(parseIpv4("192.0.2.256"), undefined);
 * assert.equal(parseIpv4("example.com"), undefined);
 * ```
 */
export function parseIpv4(text: string): number[] | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const part of parts) {
    if (part.length === 0 || part.length > 3) return undefined;
    let n = 0;
    for (let i = 0; i < part.length; i++) {
      const c = part.charCodeAt(i);
      if (!isDigit(c)) return undefined;
      n = n * 10 + c - 0x30;
    }
    if (n > 255) return undefined;
    out.push(n);
  }
  return out;
}

/**
 * The eight 16-bit groups of an IPv6 address in any text form of RFC 4291 §2.2: full, with
 * `::` for one or more zero groups, or with a dotted IPv4 address as its last 32 bits. Groups
 * are one to four hex digits in either case. A zone (`%eth0`) is not part of an address: the
 * caller removes it first.
 *
 * @param text The address, without brackets.
 * @returns The groups, or undefined if the text is not an IPv6 address.
 * @example
 * ```ts
 * import { parseIpv6 } from "./ip.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseIpv6("2001:DB8::1"), [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]);
 * assert.deepEqual(parseIpv6("::ffff:192.0.2.1"), [0, 0, 0, 0, 0, 0xffff, 0xc000, 0x201]);
 * assert.equal(parseIpv6("1::2::3"), undefined);
 * assert.equal(parseIpv6("fe80::1%eth0"), undefined);
 * ```
 */
export function parseIpv6(text: string): number[] | undefined {
  if (text.indexOf(":") < 0) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const head = _groups(halves[0], halves.length === 1);
  const tail = halves.length === 2 ? _groups(halves[1], true) : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  // "::" stands for at least one zero group; without it there must be eight.
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = head;
  for (let i = 0; i < missing; i++) groups.push(0);
  for (const g of tail) groups.push(g);
  return groups;
}

/** The groups of one side of "::" (empty text: none); an IPv4 tail is allowed only at the end. */
function _groups(text: string, last: boolean): number[] | undefined {
  if (text === "") return [];
  const out: number[] = [];
  const parts = text.split(":");
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (last && i === parts.length - 1 && part.indexOf(".") >= 0) {
      const v4 = parseIpv4(part);
      if (v4 === undefined) return undefined;
      out.push(v4[0] << 8 | v4[1], v4[2] << 8 | v4[3]);
      continue;
    }
    if (part.length === 0 || part.length > 4) return undefined;
    let n = 0;
    for (let k = 0; k < part.length; k++) {
      const c = part.charCodeAt(k);
      if (!isHexDigit(c)) return undefined;
      n = n * 16 + (c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57);
    }
    out.push(n);
  }
  return out;
}

/**
 * The text of an IPv6 address as RFC 5952 recommends: lower-case hex without leading zeros
 * (§4.1, §4.3), the longest run of two or more zero groups as `::`, the first of equal runs
 * (§4.2), and an IPv4-mapped address (`::ffff:0:0/96`) with its last 32 bits in dotted
 * decimal (§5).
 *
 * @param groups The eight 16-bit groups.
 * @returns The text, without brackets.
 * @example
 * ```ts
 * import { formatIpv6, parseIpv6 } from "./ip.ts";
 * import assert from "node:assert/strict";
 * assert.equal(formatIpv6(parseIpv6("2001:0DB8:0:0:1:0:0:1")!), "2001:db8::1:0:0:1");
 * assert.equal(formatIpv6([0, 0, 0, 0, 0, 0, 0, 1]), "::1");
 * assert.equal(formatIpv6(parseIpv6("::ffff:c000:201")!), "::ffff:192.0.2.1");
 * ```
 */
export function formatIpv6(groups: ArrayLike<number>): string {
  const g = groups;
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${g[6] >> 8}.${g[6] & 0xff}.${g[7] >> 8}.${g[7] & 0xff}`;
  }
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLength) {
      best = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex: string[] = [];
  for (let i = 0; i < 8; i++) hex.push(g[i].toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLength).join(":")}`;
}
