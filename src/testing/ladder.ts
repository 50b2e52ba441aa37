/**
 * Ladder diagrams of recorded SIP traffic, for the messages of test failures: one line per
 * message with its time, direction, first line, the other side and its Call-ID.
 *
 * @module
 */

import type { SipMessage } from "../sip/message.ts";
import { formatMessage } from "../sip/format.ts";
import type { TrafficEntry } from "../net/serve.ts";
import { _hostPort } from "../net/uac/addresses.ts";

/**
 * Options of {@linkcode formatLadder}.
 *
 * @example
 * ```ts
 * import { formatLadder, type LadderOptions } from "@sipecho/sipecho/mock";
 * import assert from "node:assert/strict";
 *
 * const options: LadderOptions = { start: 0, local: "sip:alice@127.0.0.1:5062", limit: 20 };
 * assert.equal(formatLadder([], options), "(no messages)");
 * ```
 */
export interface LadderOptions {
  /** Time 0 of the diagram, ms since the epoch (default: the time of the first entry). */
  start?: number;
  /** The name of our side, on the left (default `mock`). */
  local?: string;
  /** Most messages shown: the last ones are kept (default 100). */
  limit?: number;
  /** Show each message whole under its arrow: start line, every header field, body (default false). */
  full?: boolean;
}

/** Width of the arrow column, characters. */
const _ARROW = 56;

/**
 * Draws recorded traffic as a ladder diagram: our side on the left, the other side on the
 * right, one arrow per message, oldest first.
 *
 * ```
 *     time  mock                                                        remote
 *    0.000  |<-- OPTIONS sip:mock@127.0.0.1:5060 SIP/2.0 ---------------| 127.0.0.1:5062 udp  Call-ID: c1
 *    0.001  |--- SIP/2.0 200 OK ---------------------------------------->| 127.0.0.1:5062 udp  Call-ID: c1
 * ```
 *
 * @param entries The traffic, oldest first (`onTraffic` entries, or a mock peer's `traffic`).
 * @param options Time 0, our name, how many lines.
 * @returns The diagram, lines joined with `\n`; `(no messages)` when there are none.
 *
 * @example
 * ```ts
 * import { formatLadder } from "@sipecho/sipecho/mock";
 * import { parseMessage, type TrafficEntry } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const message = parseMessage(
 *   "OPTIONS sip:mock@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK1\r\n" +
 *     "From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:mock@127.0.0.1>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n\r\n",
 * );
 * const entry: TrafficEntry = {
 *   time: 1000, direction: "in", transport: "udp", remote: { address: "127.0.0.1", port: 5062 }, message,
 * };
 * const ladder = formatLadder([entry]);
 * assert.match(ladder, /0\.000 +\|<-- OPTIONS sip:mock@127\.0\.0\.1 SIP\/2\.0 -+\| 127\.0\.0\.1:5062 udp +Call-ID: c1/);
 * ```
 */
export function formatLadder(entries: readonly TrafficEntry[], options: LadderOptions = {}): string {
  if (entries.length === 0) return "(no messages)";
  const start = options.start ?? entries[0].time;
  const limit = options.limit ?? 100;
  const shown = entries.length > limit ? entries.slice(entries.length - limit) : entries;
  const local = options.local ?? "mock";
  const lines = [`${"time".padStart(9)}  ${local.padEnd(_ARROW + 1)} remote`];
  if (shown.length < entries.length) lines.push(`${"".padStart(9)}  ... ${entries.length - shown.length} earlier`);
  for (const e of shown) {
    const time = ((e.time - start) / 1000).toFixed(3).padStart(9);
    const remote = `${_hostPort(e.remote.address, e.remote.port)} ${e.transport}`;
    lines.push(
      `${time}  ${_arrow(e.direction, _firstLine(e.message))}| ${remote.padEnd(24)} ${_callId(e.message)}` +
        _authNote(e.message),
    );
    if (options.full) lines.push(_messageText(e.message, " ".repeat(13)), "");
  }
  return lines.join("\n");
}

/** Most lines of one message shown whole: a long body is cut, not the diagram. */
const _MAX_LINES = 80;

/**
 * A message as text, as sent on the wire (start line, header fields, empty line, body), each
 * line after `indent`; a body that is not UTF-8 shows with replacement characters.
 */
export function _messageText(message: SipMessage, indent: string): string {
  const text = new TextDecoder().decode(formatMessage(message)).replace(/\r\n$/, "");
  const lines = text.split(/\r?\n/);
  const shown = lines.length > _MAX_LINES
    ? [...lines.slice(0, _MAX_LINES), `... ${lines.length - _MAX_LINES} more lines`]
    : lines;
  return shown.map((line) => line === "" ? "" : indent + line).join("\n");
}

/** The first line of a message, for one-line lists. */
/** `|<-- text ----` or `|--- text --->`, `_ARROW + 1` characters. */
function _arrow(direction: "in" | "out", text: string): string {
  const room = _ARROW - 6;
  const label = ` ${text.length > room ? text.slice(0, room - 3) + "..." : text} `;
  const fill = "-".repeat(Math.max(0, _ARROW - 4 - label.length));
  return direction === "in" ? `|<--${label}${fill}-` : `|---${label}${fill}>`;
}

/** The first line of a message, for one-line lists. */
export function _firstLine(message: SipMessage): string {
  return message.type === "request"
    ? `${message.method} ${message.uri} ${message.version}`
    : `${message.version} ${message.status} ${message.reason}`;
}

/**
 * Digest authentication at a glance (RFC 3261 §22): after a 401 or 407 its realm and
 * algorithms, after a request with credentials the user and realm they name.
 */
function _authNote(message: SipMessage): string {
  if (message.type === "response") {
    if (message.status !== 401 && message.status !== 407) return "";
    const values = message.headers.getFields(message.status === 401 ? "WWW-Authenticate" : "Proxy-Authenticate");
    if (values.length === 0) return "";
    const realm = _param(values[0], "realm");
    const algorithms = values.map((v) => _param(v, "algorithm") ?? "MD5").join(", ");
    return `  challenge: realm "${realm ?? "?"}" (${algorithms})${/stale\s*=\s*true/i.test(values[0]) ? " stale" : ""}`;
  }
  const credentials = [
    ...message.headers.getFields("Authorization"),
    ...message.headers.getFields("Proxy-Authorization"),
  ];
  if (credentials.length === 0) return "";
  return `  credentials: ${
    credentials.map((c) => `"${_param(c, "username") ?? "?"}" realm "${_param(c, "realm") ?? "?"}"`).join(", ")
  }`;
}

/** A parameter of a Digest header value, quoted or not (enough for a diagram). */
function _param(value: string, name: string): string | undefined {
  const m = new RegExp(`(?:^|[\\s,])${name}\\s*=\\s*(?:"([^"]*)"|([^\\s,]+))`, "i").exec(value);
  return m === null ? undefined : m[1] ?? m[2];
}

function _callId(message: SipMessage): string {
  const value = message.headers.get("Call-ID");
  return value === undefined ? "(no Call-ID)" : `Call-ID: ${value}`;
}

/** Gives a site made by {@linkcode _callSite} the message and traffic of the error that came. */
let _adopt: (site: MockTimeoutError, error: MockTimeoutError) => MockTimeoutError;

/**
 * A mock peer gave up waiting: for a request (`waitFor`), a call (`waitForDialog`) or the
 * final response to its own request (`request`). The message ends with a ladder diagram of
 * the traffic so far ({@linkcode formatLadder}); `traffic` holds the same entries.
 *
 * @example
 * ```ts
 * import { MockTimeoutError } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * const e = new MockTimeoutError('waitFor("BYE"): no matching request within 50 ms', 50, []);
 * assert.equal(e.name, "MockTimeoutError");
 * assert.equal(e.message, 'waitFor("BYE"): no matching request within 50 ms\n(no messages)');
 * ```
 */
export class MockTimeoutError extends Error {
  #timeout: number;
  #traffic: readonly TrafficEntry[];

  /**
   * Creates the error: `what`, then the ladder diagram of `traffic`.
   *
   * @param what What was awaited and for how long, in words.
   * @param timeout How long was waited, ms.
   * @param traffic The recorded traffic, drawn under `what`.
   * @param options How to draw it.
   */
  constructor(what: string, timeout: number, traffic: readonly TrafficEntry[], options: LadderOptions = {}) {
    super(`${what}\n${formatLadder(traffic, options)}`);
    this.name = "MockTimeoutError";
    this.#timeout = timeout;
    this.#traffic = traffic;
  }

  /** How long was waited, ms. */
  get timeout(): number {
    return this.#timeout;
  }

  /** The traffic the mock peer had recorded when it gave up, oldest first. */
  get traffic(): readonly TrafficEntry[] {
    return this.#traffic;
  }

  static {
    _adopt = (site, error) => {
      site.message = error.message;
      site.#timeout = error.#timeout;
      site.#traffic = error.#traffic;
      return site;
    };
  }
}

/**
 * Made at a call, an error thrown later that starts its stack there: the runtimes format a
 * stack when it is first read, so the message may be filled in when the wait fails.
 */
export function _callSite(at: (...args: never[]) => unknown): MockTimeoutError {
  const site = new MockTimeoutError("", 0, []);
  (Error as { captureStackTrace?: (e: object, at: unknown) => void }).captureStackTrace?.(site, at);
  return site;
}

/**
 * The error to throw from a call made at `site`: a {@linkcode MockTimeoutError} becomes `site`
 * with its message and traffic; any other error keeps its kind and message, with the stack of
 * `site` (its own frames are inside the mock).
 */
export function _atCallSite(error: unknown, site: MockTimeoutError): unknown {
  if (error instanceof MockTimeoutError) return _adopt(site, error);
  if (error instanceof Error) {
    const frames = (site.stack ?? "").split("\n").filter((line) => /^\s+at /.test(line));
    error.stack = `${error.name}: ${error.message}\n${frames.join("\n")}`;
  }
  return error;
}
