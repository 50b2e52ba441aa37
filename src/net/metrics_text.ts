/**
 * `/metrics`: a server's counters ({@linkcode ServerStats}) in the Prometheus text exposition
 * format 0.0.4: `# HELP` and `# TYPE` lines, then one sample a line; counters end in `_total`,
 * units are in the names (`_seconds`, `_bytes`), the histogram has `_bucket{le=...}`, `_sum` and
 * `_count`. docs/observability.md lists every name. {@linkcode formatMetrics} is one function of
 * some 100 lines on purpose: the metric families in the order they are written, read as a list.
 *
 * @module
 */

import { DROP_REASONS, RESPONSE_TIME_BUCKETS, STAT_METHODS, STAT_TRANSPORTS } from "../ua/counters.ts";
import type { ServerStats } from "./server_stats.ts";

/**
 * The `Content-Type` of the Prometheus text format 0.0.4.
 *
 * @example
 * ```ts
 * import { METRICS_CONTENT_TYPE } from "@sipecho/sipecho/net";
 * import assert from "node:assert/strict";
 *
 * assert.match(METRICS_CONTENT_TYPE, /version=0\.0\.4/);
 * ```
 */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** A sample value: Prometheus writes infinities as `+Inf` and `-Inf`. */
function _value(n: number): string {
  return n === Infinity ? "+Inf" : n === -Infinity ? "-Inf" : String(n);
}

/**
 * A server's stats in the Prometheus text format 0.0.4.
 *
 * @param stats `server.stats()`.
 * @returns The exposition text, ending in a newline.
 * @example
 * ```ts
 * import { formatMetrics } from "@sipecho/sipecho/net";
 * import { serve } from "@sipecho/sipecho";
 * import assert from "node:assert/strict";
 *
 * await using server = await serve({ listen: [{ transport: "udp", hostname: "127.0.0.1", port: 0 }] });
 * const text = formatMetrics(server.stats());
 * assert.match(text, /^# HELP sipecho_requests_total /m);
 * assert.match(text, /^# TYPE sipecho_requests_total counter$/m);
 * assert.match(text, /^sipecho_requests_total\{method="INVITE",transport="udp"\} 0$/m);
 * assert.match(text, /^sipecho_response_time_seconds_bucket\{le="\+Inf"\} 0$/m);
 * assert.match(text, /^sipecho_dialogs_limit 10000$/m);
 * ```
 */
export function formatMetrics(stats: ServerStats): string {
  const out: string[] = [];
  const family = (name: string, type: "counter" | "gauge" | "histogram", help: string) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  };
  const one = (name: string, type: "counter" | "gauge", help: string, value: number) => {
    family(name, type, help);
    out.push(`${name} ${_value(value)}`);
  };

  family(
    "sipecho_requests_total",
    "counter",
    "SIP requests received, by method and transport (retransmissions included).",
  );
  for (const method of STAT_METHODS) {
    for (const transport of STAT_TRANSPORTS) {
      out.push(
        `sipecho_requests_total{method="${method}",transport="${transport}"} ${stats.requests[method][transport]}`,
      );
    }
  }
  family(
    "sipecho_responses_total",
    "counter",
    "SIP responses sent, by status class and code (retransmissions included).",
  );
  for (const [code, n] of Object.entries(stats.responses)) {
    out.push(`sipecho_responses_total{class="${code[0]}xx",code="${code}"} ${n}`);
  }
  one("sipecho_parse_errors_total", "counter", "Messages received that could not be parsed.", stats.parseErrors);
  family("sipecho_dropped_messages_total", "counter", "Messages dropped, by reason.");
  for (const reason of DROP_REASONS) {
    out.push(`sipecho_dropped_messages_total{reason="${reason}"} ${stats.drops[reason]}`);
  }
  one(
    "sipecho_retransmissions_sent_total",
    "counter",
    "Responses sent again (Timer G, or for a retransmitted request).",
    stats.retransmissions.sent,
  );
  one(
    "sipecho_retransmissions_absorbed_total",
    "counter",
    "Retransmitted requests matched to a transaction instead of being handled anew.",
    stats.retransmissions.absorbed,
  );

  const t = stats.responseTime;
  family(
    "sipecho_response_time_seconds",
    "histogram",
    "Time from a request's arrival to its final response, on the peer's clock (rule delays included).",
  );
  let cumulative = 0;
  RESPONSE_TIME_BUCKETS.forEach((le, i) => {
    cumulative += t.buckets[i];
    out.push(`sipecho_response_time_seconds_bucket{le="${le}"} ${cumulative}`);
  });
  out.push(`sipecho_response_time_seconds_bucket{le="+Inf"} ${t.count}`);
  out.push(`sipecho_response_time_seconds_sum ${t.sum}`, `sipecho_response_time_seconds_count ${t.count}`);

  const tables: [string, keyof ServerStats["active"], string][] = [
    ["sipecho_transactions", "transactions", "Server transactions held, tombstones included."],
    ["sipecho_pending_transactions", "pending", "Server transactions at work (not yet tombstones)."],
    ["sipecho_dialogs", "dialogs", "Dialogs."],
    ["sipecho_registrations", "bindings", "Registrar bindings."],
  ];
  for (const [name, key, help] of tables) {
    one(name, "gauge", help, stats.active[key]);
    one(
      `${name}_limit`,
      "gauge",
      `The most ${help[0].toLowerCase()}${help.slice(1, -1)} held at once.`,
      stats.limits[key],
    );
  }
  const r = stats.rtp;
  one("sipecho_rtp_streams", "gauge", "RTP echo streams open.", r.streams);
  one("sipecho_rtp_streams_limit", "gauge", "RTP echo streams the port range holds.", r.streamLimit);
  one("sipecho_rtp_received_packets_total", "counter", "RTP and RTCP packets received by the echo.", r.packetsIn);
  one(
    "sipecho_rtp_received_bytes_total",
    "counter",
    "RTP and RTCP bytes (UDP payload) received by the echo.",
    r.bytesIn,
  );
  one("sipecho_rtp_sent_packets_total", "counter", "RTP and RTCP packets echoed.", r.packetsOut);
  one("sipecho_rtp_sent_bytes_total", "counter", "RTP and RTCP bytes (UDP payload) echoed.", r.bytesOut);
  one("sipecho_rtp_dropped_packets_total", "counter", "RTP and RTCP packets received and not echoed.", r.dropped);
  one("sipecho_connections", "gauge", "TCP and WebSocket connections open.", stats.connections.active);
  one(
    "sipecho_connections_limit",
    "gauge",
    "The most TCP and WebSocket connections open at once.",
    stats.connections.limit,
  );
  return out.join("\n") + "\n";
}
