/**
 * Writing a session description (RFC 4566 §5): the model of `sdp_types.ts` back to text.
 *
 * @module
 */

import type { SdpAttribute, SdpBandwidth, SdpConnection, SdpLine, SdpOrigin, SessionDescription } from "./sdp_types.ts";
import { _MEDIA_ORDER, _rank, _SESSION_ORDER, _sortOtherLines } from "./sdp_grammar.ts";

/**
 * Writes a session description: one line per field, each ending in CRLF, in the order of
 * RFC 4566 §5. `parseSdp(formatSdp(sd))` deep-equals `sd` for any `sd` that `parseSdp` returned.
 *
 * @param sd The session description.
 * @returns The SDP text.
 * @example
 * ```ts
 * import { formatSdp, parseSdp } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const text = "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 4000 RTP/AVP 0\n";
 * assert.equal(formatSdp(parseSdp(text)), text.replaceAll("\n", "\r\n"));
 * ```
 */
export function formatSdp(sd: SessionDescription): string {
  let out = `v=${sd.version}\r\no=${_formatOrigin(sd.origin)}\r\ns=${sd.sessionName}\r\n`;
  out += _formatOtherLines(sd.otherLines, _SESSION_ORDER, "before c=");
  if (sd.connection) out += `c=${_formatConnection(sd.connection)}\r\n`;
  for (const b of sd.bandwidths) out += _formatBandwidth(b) + "\r\n";
  for (const t of sd.timing) {
    out += `t=${t.start} ${t.stop}\r\n`;
    for (const r of t.repeats) out += `r=${r}\r\n`;
  }
  out += _formatOtherLines(sd.otherLines, _SESSION_ORDER, "after b=");
  for (const a of sd.attributes) out += _formatAttribute(a) + "\r\n";
  for (const m of sd.media) {
    const port = m.portCount === undefined ? `${m.port}` : `${m.port}/${m.portCount}`;
    out += `m=${m.media} ${port} ${m.proto} ${m.formats.join(" ")}\r\n`;
    out += _formatOtherLines(m.otherLines, _MEDIA_ORDER, "before c=");
    if (m.connection) out += `c=${_formatConnection(m.connection)}\r\n`;
    for (const b of m.bandwidths) out += _formatBandwidth(b) + "\r\n";
    out += _formatOtherLines(m.otherLines, _MEDIA_ORDER, "after b=");
    for (const a of m.attributes) out += _formatAttribute(a) + "\r\n";
  }
  return out;
}

/**
 * The other lines that belong before the c= line (i=, u=, e=, p=) or after the b= and t=
 * lines, each with its CRLF.
 */
function _formatOtherLines(lines: SdpLine[], order: string, place: "before c=" | "after b="): string {
  if (lines.length === 0) return "";
  const beforeConnection = place === "before c=";
  const placed = lines.filter((line) => (_rank(order, line.type) < _rank(order, "c")) === beforeConnection);
  _sortOtherLines(placed, order);
  return placed.map((line) => `${line.type}=${line.value}\r\n`).join("");
}

function _formatOrigin(o: SdpOrigin): string {
  return `${o.username} ${o.sessionId} ${o.sessionVersion} ${o.netType} ${o.addrType} ${o.address}`;
}

function _formatConnection(c: SdpConnection): string {
  let address = c.address;
  if (c.ttl !== undefined) address += `/${c.ttl}`;
  if (c.addressCount !== undefined) address += `/${c.addressCount}`;
  return `${c.netType} ${c.addrType} ${address}`;
}

function _formatBandwidth(b: SdpBandwidth): string {
  return `b=${b.type}:${b.value}`;
}

function _formatAttribute(a: SdpAttribute): string {
  return a.value === undefined ? `a=${a.name}` : `a=${a.name}:${a.value}`;
}
