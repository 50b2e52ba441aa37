/**
 * The pure peer run on a server: what arrives goes in, what comes out is sent, and one timer
 * runs at the peer's next due time (its retransmissions, its timeouts, its BYEs). An error in
 * the peer is reported and the server goes on.
 *
 * @module
 */

import { _delay, _now } from "./clock.ts";
import type { _EventLog } from "./events.ts";
import type { _Outgoing, _Outputs, _Remote } from "./outputs.ts";
import type { SipPeer } from "../ua/peer.ts";

/** Runs a {@linkcode SipPeer} on a server's sockets, until {@linkcode _PeerDriver.stop}. */
export class _PeerDriver {
  /** The peer. */
  readonly peer: SipPeer;
  #outputs: _Outputs;
  #event: _EventLog;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When the timer fires (Infinity: no timer). */
  #timerAt = Infinity;
  #stopped = false;

  /**
   * Starts driving a peer (its first timer is armed by the first message or step).
   *
   * @param peer The peer.
   * @param outputs Where its outputs go.
   * @param event Where its errors are reported.
   */
  constructor(peer: SipPeer, outputs: _Outputs, event: _EventLog) {
    this.peer = peer;
    this.#outputs = outputs;
    this.#event = event;
  }

  /** Whether it has stopped (the server closes): nothing more goes in or out. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Sends what the peer put out. */
  send(outputs: readonly _Outgoing[]): void {
    this.#outputs.send(outputs);
  }

  /** A message that arrived: what the peer answers, and its own requests, are sent. */
  receive(data: Uint8Array, remote: _Remote): void {
    // Not through run(): no closure made per message on the way in.
    if (this.#stopped) return;
    try {
      this.send(this.peer.receive(data, remote, _now()));
      this.send(this.peer.takeRequests());
    } catch (e) {
      // A bug must not take the server down with every call in it: log and go on.
      this.#event("dropped", `internal error on a message from ${remote.address}:${remote.port}: ${e}`, remote);
    } finally {
      // Even after an error: what the peer scheduled before it must still run.
      this.arm();
    }
  }

  /**
   * Runs a step on the peer (one that sends what it puts out), then sets the timer to what it
   * scheduled; an error is reported as `internal error WHAT: ...`.
   *
   * @param step What to do.
   * @param what What it is, for the log line (`ending the call c1`).
   */
  run(step: () => void, what: string): void {
    if (this.#stopped) return;
    try {
      step();
    } catch (e) {
      this.#event("dropped", `internal error ${what}: ${e}`);
    } finally {
      this.arm();
    }
  }

  /** Keeps exactly one timer, at the peer's next due time. */
  arm(): void {
    if (this.#stopped) return;
    const next = this.peer.nextTimer();
    if (next === undefined) {
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#timerAt = Infinity;
      return;
    }
    if (this.#timer !== undefined && next >= this.#timerAt) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = next;
    this.#timer = setTimeout(this.#fire, _delay(next - _now()));
  }

  /** Stops: the timer is cleared, and what arrives or is due from now on is dropped. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #fire = (): void => {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    // Caught by run(): thrown from a timer, an error would be an uncaught exception, the end of
    // the process.
    this.run(this.#tick, "on a timer");
  };

  #tick = (): void => {
    this.send(this.peer.tick(_now()));
    // The peer's own requests: the BYE of an idle dialog, the resends of its BYEs.
    this.send(this.peer.takeRequests());
  };
}
