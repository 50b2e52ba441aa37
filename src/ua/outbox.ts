/**
 * What the peer has to send after a message or a tick, gathered in order; and the
 * anti-amplification limit (RFC 9000 §8.1) applied to each response for a UDP source that has
 * not shown it receives our packets. Internal to src/ua.
 *
 * @module
 */

import type { ViaRouting } from "../sip/routing.ts";
import { type _Context, _Output, type _Reply } from "./context.ts";
import type { SourceGuard, SourceRecord } from "./guard.ts";
import { PeerCounters } from "./counters.ts";
import type { Output, PeerEvent, Remote } from "./types.ts";

/** The outputs due by the end of one `receive()` or `tick()`, each within its source's budget. */
export class Outbox {
  readonly #guard: SourceGuard | undefined;
  readonly #event: (kind: PeerEvent["kind"], message: string, remote?: Remote) => void;
  #out: Output[] | undefined = undefined;
  /** The peer's counters: every response emitted is counted here (see counters.ts). */
  readonly counters: PeerCounters;

  constructor(
    guard: SourceGuard | undefined,
    event: (kind: PeerEvent["kind"], message: string, remote?: Remote) => void,
    counters: PeerCounters = new PeerCounters(),
  ) {
    this.#guard = guard;
    this.#event = event;
    this.counters = counters;
  }

  /** The outputs gathered since the last call, in order. */
  take(): Output[] {
    const out = this.#out ?? [];
    this.#out = undefined;
    return out;
  }

  /**
   * Queues a response to send. To a UDP source not validated yet it goes only within the
   * anti-amplification limit (RFC 9000 §8.1); false when it is held back.
   */
  emit(
    reply: _Reply,
    remote: Remote,
    via: ViaRouting | undefined,
    at: number,
    times: number,
    source: SourceRecord | undefined,
  ): boolean {
    const guard = this.#guard;
    if (guard !== undefined && source !== undefined && remote.transport === "udp") {
      const bytes = reply.data.length * times;
      if (!guard.allows(source, bytes, at)) {
        if (guard.firstRefusal(source)) {
          this.#event(
            "limit",
            `amplification: ${source.key} is not validated: a ${reply.status} of ${bytes} bytes held back ` +
              `(${source.bytesOut} bytes sent for ${source.bytesIn} received, at most ${guard.options.amplification}x)`,
            remote,
          );
        }
        this.counters.drop("amplification");
        return false;
      }
      guard.sent(source, bytes);
    }
    this.counters.response(reply.status, times);
    const out = this.#out ??= [];
    for (let i = 0; i < times; i++) out.push(new _Output(at, reply, remote, via));
    return true;
  }

  /** Whether `bytes` more (and `reserve` after them) may go to the transaction's source now. */
  fits(ctx: _Context, bytes: number, at: number): boolean {
    const guard = this.#guard;
    if (guard === undefined || ctx.source === undefined || ctx.remote.transport !== "udp") return true;
    return guard.allows(ctx.source, bytes * ctx.duplicate, at);
  }
}
