/**
 * The version of sipecho, in one place: `--version` prints it, the Server header of every
 * response is made from it, and tests/version_test.ts holds deno.json and package.json to it.
 *
 * @module
 */

/**
 * The version of sipecho (semantic versioning), equal to the `version` of deno.json and of
 * package.json.
 *
 * @example
 * ```ts
 * import { VERSION } from "./version.ts";
 * import assert from "node:assert/strict";
 * assert.match(VERSION, /^\d+\.\d+\.\d+/);
 * ```
 */
export const VERSION = "0.1.0";

/**
 * The Server header value written by default (RFC 3261 §20.35): the product and its major and
 * minor version. The patch level is left out so that a fix does not change every response.
 *
 * @example
 * ```ts
 * import { DEFAULT_SERVER, VERSION } from "./version.ts";
 * import assert from "node:assert/strict";
 * assert.equal(DEFAULT_SERVER, "sipecho/" + VERSION.split(".").slice(0, 2).join("."));
 * assert.equal(DEFAULT_SERVER, "sipecho/0.1");
 * ```
 */
export const DEFAULT_SERVER: string = "sipecho/" + VERSION.split(".").slice(0, 2).join(".");
