/**
 * The pieces of the SDP grammar (RFC 4566 §5, §9) that reading, writing and the attribute
 * readers share: the order of the lines, tokens and numbers, and splitting a value into its
 * fields.
 *
 * @module
 */

import type { SdpLine } from "./sdp_types.ts";

// RFC 4566 §5: the order of the lines in a session and in a media description. Type letters
// not in them (unknown to RFC 4566) are kept and written just before the a= lines (_rank).
/** The order of the lines at session level (RFC 4566 §5). */
export const _SESSION_ORDER = "vosiuepcbtrzka";
/** The order of the lines in a media description (RFC 4566 §5). */
export const _MEDIA_ORDER = "micbka";
/** RFC 4566 §9: token (used by attribute names and bandwidth types). */
export const _TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`{|}~-]+$/;
/** A string of decimal digits. */
export const _DIGITS = /^[0-9]+$/;

/** The fields of a value: trimmed, split at runs of spaces and tabs. */
export function _fields(value: string): string[] {
  const trimmed = value.trim();
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i < trimmed.length; i++) {
    const c = trimmed.charCodeAt(i);
    if (c === 0x20 || c === 0x09) {
      if (start >= 0) out.push(trimmed.slice(start, i));
      start = -1;
    } else if (start < 0) {
      start = i;
    }
  }
  if (start >= 0) out.push(trimmed.slice(start));
  return out;
}

/** Whether the first field of a value (see {@linkcode _fields}) is `format`. */
export function _firstFieldIs(value: string, format: string): boolean {
  const trimmed = value.trim();
  if (format.length === 0 || !trimmed.startsWith(format)) return false;
  const next = trimmed.charCodeAt(format.length);
  return trimmed.length === format.length || next === 0x20 || next === 0x09;
}

/** Where a line of type `type` goes in `order`; an unknown type just before the a= lines. */
export function _rank(order: string, type: string): number {
  const index = order.indexOf(type);
  return index >= 0 ? index : order.indexOf("a") - 0.5;
}

/** Sorts lines in place into `order` (RFC 4566 §5). */
export function _sortOtherLines(lines: SdpLine[], order: string): void {
  if (lines.length < 2) return;
  // Array.prototype.sort is stable, so lines of one type keep their order.
  lines.sort((x, y) => _rank(order, x.type) - _rank(order, y.type));
}
