/**
 * Picks the socket shim of the runtime that runs this code; each shim is imported only
 * where it can work.
 *
 * @module
 */

import type { RuntimeNet, RuntimeProcess } from "../transport.ts";

export type { RuntimeProcess } from "../transport.ts";

/**
 * Node.js, told apart from Deno and Bun, which also have a `process.versions.node`: they are
 * tested for first.
 */
function isNode(): boolean {
  const process = (globalThis as { process?: { versions?: { node?: unknown } } }).process;
  return typeof process?.versions?.node === "string";
}

/**
 * The {@linkcode RuntimeNet} of the current runtime.
 *
 * @returns The Deno, Bun or Node.js shim.
 * @throws {Error} On any other runtime.
 */
export async function detectRuntime(): Promise<RuntimeNet> {
  if ("Bun" in globalThis) return (await import("./bun.ts")).bunNet;
  if ("Deno" in globalThis) return (await import("./deno.ts")).denoNet;
  if (isNode()) return (await import("./node.ts")).nodeNet;
  throw new Error("sipecho needs Deno 2, Bun 1 or Node.js 22 to open sockets; this runtime is none of them");
}

/**
 * The {@linkcode RuntimeProcess} of the current runtime: what the command line needs of it.
 *
 * @returns The Deno, Bun or Node.js one.
 * @throws {Error} On any other runtime.
 */
export async function detectProcess(): Promise<RuntimeProcess> {
  if ("Bun" in globalThis) return (await import("./bun.ts")).bunProcess;
  if ("Deno" in globalThis) return (await import("./deno.ts")).denoProcess;
  if (isNode()) return (await import("./node.ts")).nodeProcess;
  throw new Error("sipecho runs on Deno 2, Bun 1 or Node.js 22; this runtime is none of them");
}
