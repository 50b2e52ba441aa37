/**
 * `--workers N`: N processes of the command line serve the same ports (serve()'s `reusePort`,
 * SO_REUSEPORT), so that one instance uses every core. The process started by the user is
 * worker 0: it binds first, then starts the others (the same program, the same flags but
 * `--workers` and `--http`, plus the internal `--worker INDEX/COUNT:PORT`), waits until each has
 * joined the shared registrar (src/net/worker_sync.ts), and only then prints its startup line.
 * SIGINT or SIGTERM to worker 0 stops them all; a worker that ends stops them all (status 1 unless
 * it ended cleanly); a worker whose worker 0 is gone (its standard input closes) stops.
 *
 * @module
 */

import type { RuntimeProcess, WorkerProcess } from "../net/transport.ts";
import type { ServeMediaOptions } from "../net/serve.ts";

/**
 * The number of workers `--workers` asks for.
 *
 * @param workers The flag's value.
 * @returns The number: `auto` is one per core (`navigator.hardwareConcurrency`), at least 1.
 * @example
 * ```ts
 * import { _workerCount } from "./workers.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(_workerCount(3), 3);
 * assert.ok(_workerCount("auto") >= 1);
 * ```
 */
export function _workerCount(workers: number | "auto"): number {
  if (workers !== "auto") return workers;
  const cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return typeof cores === "number" && cores >= 1 ? Math.floor(cores) : 1;
}

/**
 * A worker's share of the RTP port range: the workers bind in separate processes, so each
 * takes its own slice, of whole even/odd pairs.
 *
 * @param range The whole range, inclusive.
 * @param index The worker, 0 to `count - 1`.
 * @param count The number of workers.
 * @returns Its slice, inclusive; undefined when the range has fewer pairs than workers.
 * @example
 * ```ts
 * import { _rtpSlice } from "./workers.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(_rtpSlice([20000, 29999], 0, 2), [20000, 24999]);
 * assert.deepEqual(_rtpSlice([20000, 29999], 1, 2), [25000, 29999]);
 * assert.equal(_rtpSlice([20000, 20001], 1, 2), undefined);
 * ```
 */
export function _rtpSlice(
  range: readonly [number, number],
  index: number,
  count: number,
): [number, number] | undefined {
  const first = range[0] + (range[0] % 2);
  const pairs = Math.floor((range[1] - first + 1) / 2);
  const each = Math.floor(pairs / count);
  if (each < 1) return undefined;
  const low = first + 2 * each * index;
  return [low, index === count - 1 ? range[1] : low + 2 * each - 1];
}

/**
 * The media options of one worker: its slice of the port range.
 *
 * @param media The command line's media options (or false).
 * @param index The worker.
 * @param count The number of workers.
 * @param defaults The default range.
 * @returns The options.
 * @throws {Error} When the range has fewer pairs than workers.
 */
export function _workerMedia(
  media: ServeMediaOptions | false,
  index: number,
  count: number,
  defaults: readonly [number, number],
): ServeMediaOptions | false {
  if (media === false || count === 1) return media;
  const range = media.portRange ?? defaults;
  const slice = _rtpSlice(range, index, count);
  if (slice === undefined) {
    throw new Error(`--workers ${count}: --rtp-ports ${range[0]}-${range[1]} has fewer port pairs than workers`);
  }
  return { ...media, portRange: slice };
}

/** Flags worker 0 keeps to itself: the others get none of them. */
const _PARENT_ONLY = new Set(["--workers", "--http"]);

/**
 * The arguments of worker `index`: those of worker 0 without `--workers` and `--http` (only
 * worker 0 serves HTTP), with `--worker INDEX/COUNT:PORT`.
 *
 * @param args Worker 0's arguments.
 * @param index The worker, 1 or more.
 * @param count The number of workers.
 * @param hub Worker 0's sync port.
 * @returns The arguments.
 * @example
 * ```ts
 * import { _workerArgs } from "./workers.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(
 *   _workerArgs(["--udp", "5060", "--workers", "2", "--http=8080", "-q"], 1, 2, 40000),
 *   ["--udp", "5060", "-q", "--worker", "1/2:40000"],
 * );
 * ```
 */
export function _workerArgs(args: readonly string[], index: number, count: number, hub: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const eq = args[i].indexOf("=");
    const flag = eq > 0 ? args[i].slice(0, eq) : args[i];
    if (!_PARENT_ONLY.has(flag)) out.push(args[i]);
    else if (eq < 0) i++;
  }
  return [...out, "--worker", `${index}/${count}:${hub}`];
}

/** Worker 0's view of the others. */
export interface _Workers {
  /** Resolves once every one has joined; rejects if one ends first or `timeout` passes. */
  readonly ready: Promise<void>;
  /** Stops them all (SIGTERM) and resolves once each has ended. */
  stop(): Promise<void>;
  /** Resolves with the first one that ends by itself (not through `stop()`): its index and status. */
  readonly ended: Promise<{ index: number; pid: number; status: number }>;
}

/**
 * Starts workers 1 to `count - 1`.
 *
 * @param rt The process abilities (`spawnWorker`).
 * @param count The number of workers, this one included.
 * @param hub This worker's sync port.
 * @param members Resolves once `count` workers have joined.
 * @param timeout How long they may take to join, ms.
 * @returns The workers.
 * @throws {Error} When the runtime cannot start processes.
 */
export function _startWorkers(
  rt: RuntimeProcess,
  count: number,
  hub: number,
  members: Promise<void>,
  timeout = 30_000,
): _Workers {
  const spawn = rt.spawnWorker;
  if (spawn === undefined) throw new Error("--workers: this runtime's shim cannot start processes");
  const children: WorkerProcess[] = [];
  let stopping = false;
  const ended = Promise.withResolvers<{ index: number; pid: number; status: number }>();
  for (let index = 1; index < count; index++) {
    const child = spawn.call(rt, _workerArgs(rt.args, index, count, hub));
    children.push(child);
    void child.exited.then((status) => {
      if (!stopping) ended.resolve({ index, pid: child.pid, status });
    });
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`--workers: not every worker joined within ${timeout / 1000} s`)),
      timeout,
    );
  });
  const early = ended.promise.then((e) => {
    throw new Error(`--workers: worker ${e.index} (pid ${e.pid}) ended with status ${e.status} as it started`);
  });
  const ready = Promise.race([members, late, early]).finally(() => clearTimeout(timer));
  return {
    ready,
    ended: ended.promise,
    async stop() {
      stopping = true;
      for (const c of children) c.kill();
      await Promise.all(children.map((c) => c.exited));
    },
  };
}
