/**
 * The machine's interface addresses from `node:os`, which Bun and Node.js both provide: the
 * shims of those two runtimes share it (Deno's uses `Deno.networkInterfaces`).
 *
 * @module
 */

import { networkInterfaces } from "node:os";
import type { InterfaceAddress } from "../transport.ts";

/**
 * `node:os` `networkInterfaces()`, flattened in the system's order, IPv6 zones dropped.
 *
 * @example
 * ```ts
 * import { osInterfaces } from "./os_interfaces.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(osInterfaces().some((i) => i.address === "127.0.0.1"));
 * ```
 */
export function osInterfaces(): InterfaceAddress[] {
  return Object.entries(networkInterfaces()).flatMap(([name, addresses]) =>
    (addresses ?? []).map((a) => ({ name, address: a.address.replace(/%.*$/, "") }))
  );
}
