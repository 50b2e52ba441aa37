/**
 * WebSocket frames (RFC 6455 §5): the opcodes, the frames a server writes ({@linkcode _frame}),
 * and the checks on what a frame carries: close codes (§7.4) and UTF-8 text (§8.1).
 *
 * @module
 */

/** RFC 6455 §5.2: the opcodes. */
export const _OP = Object.freeze({
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
});

/** No bytes. */
export const _EMPTY: Uint8Array = new Uint8Array(0);

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A final, unmasked frame (RFC 6455 §5.2) with the shortest length encoding. */
export function _frame(opcode: number, payload: Uint8Array): Uint8Array {
  const n = payload.length;
  const headerLength = n < 126 ? 2 : n < 0x10000 ? 4 : 10;
  const frame = new Uint8Array(headerLength + n);
  frame[0] = 0x80 | opcode;
  if (n < 126) {
    frame[1] = n;
  } else if (n < 0x10000) {
    frame[1] = 126;
    frame[2] = n >>> 8;
    frame[3] = n & 0xff;
  } else {
    frame[1] = 127;
    const view = new DataView(frame.buffer);
    view.setUint32(2, Math.floor(n / 0x100000000));
    view.setUint32(6, n >>> 0);
  }
  frame.set(payload, headerLength);
  return frame;
}

/** RFC 6455 §7.4: codes an endpoint may send, with 1012-1014 from the IANA registry. */
export function _isCloseCode(code: number): boolean {
  return Number.isInteger(code) &&
    ((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999));
}

/** Whether bytes are valid UTF-8 (RFC 3629). */
export function _isUtf8(bytes: Uint8Array): boolean {
  try {
    utf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/**
 * A final frame as a client writes it (RFC 6455 §5.3): masked with a fresh random key, the
 * shortest length encoding.
 */
export function _maskedFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const plain = _frame(opcode, payload);
  const headerLength = plain.length - payload.length;
  const frame = new Uint8Array(plain.length + 4);
  frame.set(plain.subarray(0, headerLength));
  frame[1] |= 0x80;
  // RFC 6455 §5.3: the key must be unpredictable, one per frame.
  const key = crypto.getRandomValues(new Uint8Array(4));
  frame.set(key, headerLength);
  const at = headerLength + 4;
  for (let i = 0; i < payload.length; i++) frame[at + i] = payload[i] ^ key[i & 3];
  return frame;
}
