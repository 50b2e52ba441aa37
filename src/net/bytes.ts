/**
 * Byte buffers: chunks joined into one ({@linkcode _join}), for the framing of connections and
 * WebSocket messages and for the writes of the socket shims.
 *
 * @module
 */

/** Chunks in one buffer (the one chunk itself, not a copy, when there is one). */
export function _join(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  let length = 0;
  for (const c of chunks) length += c.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
