/**
 * `--stats SECONDS`: the one-line summary the command line writes on standard error every
 * SECONDS, from two readings of `server.stats()`.
 *
 * @module
 */

import type { ServerStats } from "../net/server_stats.ts";
import { STAT_TRANSPORTS } from "../ua/counters.ts";

/**
 * The summary of what happened between two readings of `server.stats()`: INVITEs received a
 * second (retransmissions included), the calls up now (dialogs), the failures sent (4xx, 5xx
 * and 6xx responses), and the drops and parse errors.
 *
 * @param before The earlier reading.
 * @param after The later reading.
 * @param seconds The time between them, s.
 * @returns The line, without a trailing newline.
 * @example
 * ```ts
 * import { formatStatsLine } from "./stats_line.ts";
 * import { serve } from "../net/serve.ts";
 * import assert from "node:assert/strict";
 *
 * await using server = await serve({ listen: [{ transport: "udp", hostname: "127.0.0.1", port: 0 }] });
 * const s = server.stats();
 * assert.equal(
 *   formatStatsLine(s, s, 10),
 *   "sipecho: stats 10 s: 0.0 calls/s (INVITE), 0 calls active, 0 failures (4xx-6xx sent), 0 dropped, 0 parse errors",
 * );
 * ```
 */
export function formatStatsLine(before: ServerStats, after: ServerStats, seconds: number): string {
  let invites = 0;
  for (const t of STAT_TRANSPORTS) invites += after.requests.INVITE[t] - before.requests.INVITE[t];
  const c = (s: ServerStats) => s.responseClasses["4xx"] + s.responseClasses["5xx"] + s.responseClasses["6xx"];
  const dropped = (s: ServerStats) => Object.values(s.drops).reduce((a, b) => a + b, 0);
  return `sipecho: stats ${seconds} s: ${(invites / seconds).toFixed(1)} calls/s (INVITE), ` +
    `${after.active.dialogs} calls active, ${c(after) - c(before)} failures (4xx-6xx sent), ` +
    `${dropped(after) - dropped(before)} dropped, ${after.parseErrors - before.parseErrors} parse errors`;
}
