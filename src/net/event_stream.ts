/**
 * `/events`: the live page's Server-Sent Events stream. Each message the server records
 * (`RecentCalls`) goes to every client as one `message` event, its data the call's summary and
 * the message as JSON; a comment every {@linkcode EVENT_KEEPALIVE} ms keeps idle connections
 * open. At most {@linkcode MAX_EVENT_CLIENTS} clients at once (503 for more); a client that
 * does not read, with more than {@linkcode MAX_EVENT_QUEUE} events waiting, is closed.
 *
 * @module
 */

import type { RecentCall, RecentCalls, RecentMessage } from "./recent_calls.ts";

/**
 * The most `/events` clients at once; one more gets 503.
 *
 * @example
 * ```ts
 * import { MAX_EVENT_CLIENTS } from "@sipecho/sipecho/net";
 * import assert from "node:assert/strict";
 *
 * assert.equal(MAX_EVENT_CLIENTS, 8);
 * ```
 */
export const MAX_EVENT_CLIENTS = 8;

/**
 * The most events waiting for one `/events` client that does not read; past it the client is
 * closed (the page then reconnects and reloads the list).
 *
 * @example
 * ```ts
 * import { MAX_EVENT_QUEUE } from "@sipecho/sipecho/net";
 * import assert from "node:assert/strict";
 *
 * assert.equal(MAX_EVENT_QUEUE, 1000);
 * ```
 */
export const MAX_EVENT_QUEUE = 1000;

/**
 * How often an idle `/events` stream gets a comment line, ms.
 *
 * @example
 * ```ts
 * import { EVENT_KEEPALIVE } from "@sipecho/sipecho/net";
 * import assert from "node:assert/strict";
 *
 * assert.equal(EVENT_KEEPALIVE, 15_000);
 * ```
 */
export const EVENT_KEEPALIVE = 15_000;

const _encoder = new TextEncoder();

/** The call's fields the page lists, without its messages. */
function _summary(call: RecentCall): Omit<RecentCall, "messages"> {
  const { messages: _, ...rest } = call;
  return rest;
}

/** The `/events` clients of one server. */
export class _EventStreams {
  readonly #recent: RecentCalls;
  readonly #clients = new Set<ReadableStreamDefaultController<Uint8Array>>();
  #stop: (() => void) | undefined;
  #keepalive: ReturnType<typeof setInterval> | undefined;

  constructor(recent: RecentCalls) {
    this.#recent = recent;
  }

  /** How many clients are connected. */
  get size(): number {
    return this.#clients.size;
  }

  /** The response to a `GET /events`: a stream, or 503 when {@linkcode MAX_EVENT_CLIENTS} are connected. */
  open(): Response {
    if (this.#clients.size >= MAX_EVENT_CLIENTS) {
      return new Response(`too many event clients (at most ${MAX_EVENT_CLIENTS})\n`, {
        status: 503,
        headers: { "Content-Type": "text/plain; charset=utf-8", "Retry-After": "5" },
      });
    }
    let self: ReadableStreamDefaultController<Uint8Array> | undefined;
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        self = controller;
        this.#clients.add(controller);
        controller.enqueue(_encoder.encode(": sipecho live events\n\n"));
        this.#started();
      },
      cancel: () => this.#drop(self!),
    }, { highWaterMark: MAX_EVENT_QUEUE });
    return new Response(body, {
      headers: { "Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no" },
    });
  }

  /** Ends every stream (the server closes). */
  close(): void {
    for (const client of [...this.#clients]) {
      this.#drop(client);
      try {
        client.close();
      } catch { /* already closed */ }
    }
  }

  #started(): void {
    if (this.#stop !== undefined) return;
    this.#stop = this.#recent.listen((call, message) => this.#send(call, message));
    this.#keepalive = setInterval(() => this.#broadcast(_encoder.encode(": keep-alive\n\n")), EVENT_KEEPALIVE);
  }

  #send(call: RecentCall, message: RecentMessage): void {
    this.#broadcast(_encoder.encode(`event: message\ndata: ${JSON.stringify({ call: _summary(call), message })}\n\n`));
  }

  #broadcast(chunk: Uint8Array): void {
    for (const client of [...this.#clients]) {
      // desiredSize falls below 0 by one per event waiting past the high-water mark.
      if ((client.desiredSize ?? 0) <= 0) {
        this.#drop(client);
        try {
          client.close();
        } catch { /* already closed */ }
        continue;
      }
      try {
        client.enqueue(chunk);
      } catch {
        this.#drop(client);
      }
    }
  }

  #drop(client: ReadableStreamDefaultController<Uint8Array>): void {
    this.#clients.delete(client);
    if (this.#clients.size > 0) return;
    this.#stop?.();
    this.#stop = undefined;
    clearInterval(this.#keepalive);
    this.#keepalive = undefined;
  }
}
