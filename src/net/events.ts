/**
 * The server's own log lines: events of the kinds the peer reports (`PeerEvent`), made by the
 * parts around the peer (sockets, connections, media), with warnings throttled per source.
 *
 * @module
 */

import type { DropReason, PeerCounters } from "../ua/counters.ts";
import type { SourceGuard } from "../ua/guard.ts";
import { _heldBack, _warning, type PeerEvent, type Remote } from "../ua/peer.ts";
import { _now } from "./clock.ts";

/**
 * Reports one event of the server (nothing when no one listens). A `dropped`, `parse-error` or
 * `limit` event is a drop, counted under `reason` (default: `internal` for an internal error,
 * else `transport`).
 */
export type _EventLog = (kind: PeerEvent["kind"], message: string, remote?: Remote, reason?: DropReason) => void;

/**
 * The event log of a server: each event goes to `onEvent`, at the server's time; warnings pass
 * the guard's per-source throttle first, with a line saying how many it held back.
 *
 * @param onEvent `ServeOptions.onEvent`.
 * @param guard The server's guard, whose log throttle applies.
 * @param counters Where the server's drops are counted (the peer's counters), once there is a peer.
 * @returns The log.
 */
export function _eventLog(
  onEvent: ((event: PeerEvent) => void) | undefined,
  guard: SourceGuard,
  counters?: () => PeerCounters | undefined,
): _EventLog {
  return (kind, message, remote, reason) => {
    if (kind === "dropped" || kind === "parse-error" || kind === "limit") {
      counters?.()?.drop(reason ?? (message.startsWith("internal error") ? "internal" : "transport"));
    }
    if (onEvent === undefined) return;
    const at = _now();
    if (_warning(kind)) {
      // Warnings are throttled per source (a flood must not become a flood of log lines).
      const held = guard.logLine(remote?.address, at);
      if (held < 0) return;
      if (held > 0) onEvent({ at, kind: "limit", message: _heldBack(guard, held) });
    }
    onEvent({ at, kind, message, remote });
  };
}
