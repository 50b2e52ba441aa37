/**
 * The server's own log lines: events of the kinds the peer reports (`PeerEvent`), made by the
 * parts around the peer (sockets, connections, media), with warnings throttled per source.
 *
 * @module
 */

import type { SourceGuard } from "../ua/guard.ts";
import { _heldBack, _warning, type PeerEvent, type Remote } from "../ua/peer.ts";
import { _now } from "./clock.ts";

/** Reports one event of the server (nothing when no one listens). */
export type _EventLog = (kind: PeerEvent["kind"], message: string, remote?: Remote) => void;

/**
 * The event log of a server: each event goes to `onEvent`, at the server's time; warnings pass
 * the guard's per-source throttle first, with a line saying how many it held back.
 *
 * @param onEvent `ServeOptions.onEvent`.
 * @param guard The server's guard, whose log throttle applies.
 * @returns The log.
 */
export function _eventLog(onEvent: ((event: PeerEvent) => void) | undefined, guard: SourceGuard): _EventLog {
  return (kind, message, remote) => {
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
