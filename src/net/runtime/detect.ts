/**
 * Picks the socket shim of the runtime that runs this code; each shim is imported only
 * where it can work.
 *
 * @module
 */

import type { RuntimeNet, RuntimeProcess } from "../transport.ts";

export type { RuntimeProcess } from "../transport.ts";

/**
 * The {@linkcode RuntimeNet} of the current runtime.
 *
 * @returns The Deno or Bun shim.
 * @throws {Error} On any other runtime.
 */
export async function detectRuntime(): Promise<RuntimeNet> {
  if ("Bun" in globalThis) return (await import("./bun.ts")).bunNet;
  if ("Deno" in globalThis) return (await import("./deno.ts")).denoNet;
  throw new Error("sipecho needs Deno 2 or Bun 1 to open sockets");
}

/**
 * The {@linkcode RuntimeProcess} of the current runtime: what the command line needs of it.
 *
 * @returns The Deno or Bun one.
 * @throws {Error} On any other runtime.
 */
export async function detectProcess(): Promise<RuntimeProcess> {
  if ("Bun" in globalThis) return (await import("./bun.ts")).bunProcess;
  if ("Deno" in globalThis) return (await import("./deno.ts")).denoProcess;
  throw new Error("sipecho runs on Deno or Bun");
}
