/**
 * How the bytes that arrive on a stream connection become items to handle: whole SIP messages
 * (RFC 3261 §18.3 on TCP, RFC 7118 §5 on WebSocket), bytes to write back (RFC 5626 §4.4.1 pongs,
 * a WebSocket handshake answer, pong or close frame), and the end of the connection.
 *
 * @module
 */

import { _join } from "./bytes.ts";
import type { StreamFramer } from "../sip/framer.ts";
import type { WebSocketSession } from "./websocket.ts";

/** What a connection's framing makes of the bytes that arrived. */
export interface _Item {
  /**
   * A whole SIP message; bytes to write back (an RFC 5626 pong, a WebSocket handshake answer,
   * pong or close frame); or the end of the connection once what is before it is written.
   */
  kind: "message" | "write" | "end";
  /** The message, or the bytes to write. */
  bytes: Uint8Array;
  /** Why it ends (a log line), if not a normal close. */
  reason?: string;
}

const CRLF = new Uint8Array([13, 10]);

/** Cuts a chunk read on a WebSocket connection into items, after those in `items`. */
export function _frameWebSocket(session: WebSocketSession, data: Uint8Array, items: _Item[]): void {
  const out = session.push(data);
  // One write for all this chunk made (pongs, a close frame): a flood of pings must not cost
  // a write (a system call) each.
  if (out.write.length > 0) items.push({ kind: "write", bytes: _join(out.write) });
  // Messages before a protocol error are whole and valid: they are answered (RFC 7118 §5).
  for (const bytes of out.messages) items.push({ kind: "message", bytes });
  if (out.end) items.push({ kind: "end", bytes: CRLF, reason: out.reason });
}

/**
 * Cuts a chunk read on a TCP connection into items, after those in `items`.
 *
 * @throws {SipParseError} What the framer throws: the stream cannot be resynchronised.
 */
export function _frameStream(framer: StreamFramer, data: Uint8Array, items: _Item[]): void {
  const events = framer.push(data);
  // RFC 5626 §4.4.1: a double-CRLF ping gets a single-CRLF pong. The pongs of pings in a row
  // go out in one write: a flood of pings must not cost a write (a system call) each.
  let pongs = 0;
  for (const ev of events) {
    if (ev.type === "keepalive") {
      pongs++;
      continue;
    }
    if (pongs > 0) items.push({ kind: "write", bytes: _pongs(pongs) });
    pongs = 0;
    items.push({ kind: "message", bytes: ev.bytes });
  }
  if (pongs > 0) items.push({ kind: "write", bytes: _pongs(pongs) });
}

/** `count` single-CRLF pongs in one buffer. */
function _pongs(count: number): Uint8Array {
  if (count === 1) return CRLF;
  const out = new Uint8Array(2 * count);
  for (let i = 0; i < out.length; i += 2) {
    out[i] = 13;
    out[i + 1] = 10;
  }
  return out;
}
