/**
 * The client's side of the WebSocket opening handshake (RFC 6455 §4.1) for SIP (RFC 7118 §4):
 * the upgrade request a client writes, with a fresh Sec-WebSocket-Key and the subprotocol
 * offered, and the checks on the server's response (101, Upgrade, Connection,
 * Sec-WebSocket-Accept, the subprotocol chosen).
 *
 * @module
 */

import { sha1 } from "../hash/sha1.ts";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"; // RFC 6455 §1.3
const STATUS_LINE = /^HTTP\/1\.1 (\d{3})(?: (.*))?$/;
const FIELD_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[\t ]*(.*?)[\t ]*$/;
const encoder = new TextEncoder();

/** RFC 6455 §4.1: a nonce of 16 random bytes in base64. */
export function _newKey(): string {
  return _base64(crypto.getRandomValues(new Uint8Array(16)));
}

/** RFC 6455 §4.2.2 item 5: the Sec-WebSocket-Accept that proves a server read `key`. */
export function _acceptOf(key: string): string {
  return _base64(sha1(encoder.encode(key + GUID)));
}

/**
 * RFC 6455 §4.1: the upgrade request, offering `subprotocol` (RFC 7118 §4).
 *
 * @param host The Host field: `HOST:PORT`, IPv6 in brackets.
 * @param path The resource name, starting with `/`.
 * @param key The Sec-WebSocket-Key.
 * @param subprotocol The subprotocol offered.
 */
export function _upgradeRequest(host: string, path: string, key: string, subprotocol: string): Uint8Array {
  return encoder.encode(
    `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${subprotocol}\r\n\r\n`,
  );
}

/**
 * RFC 6455 §4.1 (the client's checks of the response), RFC 7118 §4: whether the server's
 * response head accepts the upgrade.
 *
 * @param head The response head, without its empty line.
 * @param key The Sec-WebSocket-Key sent.
 * @param subprotocol The subprotocol offered, lower case.
 * @returns Why it is refused, or undefined when it is accepted.
 */
export function _checkUpgradeResponse(head: Uint8Array, key: string, subprotocol: string): string | undefined {
  const lines = new TextDecoder().decode(head).split("\r\n");
  const status = STATUS_LINE.exec(lines[0]);
  if (!status) return `not an HTTP/1.1 response: ${JSON.stringify(lines[0].slice(0, 40))}`;
  if (status[1] !== "101") return `the server answered ${status[1]}${status[2] ? " " + status[2] : ""}, not 101`;
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const field = FIELD_LINE.exec(line);
    if (!field) return `malformed header field line ${JSON.stringify(line.slice(0, 40))}`;
    const name = field[1].toLowerCase();
    const previous = headers.get(name);
    headers.set(name, previous === undefined ? field[2] : `${previous}, ${field[2]}`);
  }
  const list = (name: string) => (headers.get(name) ?? "").split(",").map((t) => t.trim().toLowerCase());
  if (!list("upgrade").includes("websocket")) return "the 101 has no Upgrade: websocket (RFC 6455 §4.1)";
  if (!list("connection").includes("upgrade")) return "the 101 has no Connection: Upgrade (RFC 6455 §4.1)";
  if (headers.get("sec-websocket-accept") !== _acceptOf(key)) {
    return "the 101 has a wrong or no Sec-WebSocket-Accept (RFC 6455 §4.1)";
  }
  const chosen = headers.get("sec-websocket-protocol");
  if (chosen === undefined || chosen.toLowerCase() !== subprotocol) {
    return `the server did not accept the "${subprotocol}" subprotocol (RFC 7118 §4)` +
      (chosen === undefined ? "" : `: it chose "${chosen}"`);
  }
  return undefined;
}

function _base64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}
