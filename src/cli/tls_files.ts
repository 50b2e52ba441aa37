/**
 * The command line's certificate files (`--cert`, `--key`), read into `serve()`'s `tls`.
 *
 * @module
 */

import type { CliOptions } from "./args.ts";
import { UsageError } from "./args.ts";
import type { ServeTlsOptions } from "../net/serve_tls.ts";
import type { RuntimeProcess } from "../net/transport.ts";

/**
 * Reads `--cert` and `--key`; an error names the flag and the file.
 *
 * @param rt What reads the files.
 * @param options The command line.
 * @returns `serve()`'s `tls`, or undefined when no certificate was given.
 * @throws {UsageError} (rejects) When a file cannot be read, or holds no PEM of its kind.
 *
 * @example
 * ```ts
 * import { _readTlsFiles } from "./tls_files.ts";
 * import { parseArgs } from "./args.ts";
 * import assert from "node:assert/strict";
 *
 * const files: Record<string, string> = { "c.pem": "-----BEGIN CERTIFICATE-----\n...", "k.pem": "no key here" };
 * const rt = { readTextFile: (path: string) => Promise.resolve(files[path]) };
 * const options = parseArgs(["--tls", "127.0.0.1:5061", "--cert", "c.pem", "--key", "k.pem"]);
 * await assert.rejects(_readTlsFiles(rt, options), { message: '--key k.pem: no "-----BEGIN ... PRIVATE KEY-----" in the file' });
 * ```
 */
export async function _readTlsFiles(
  rt: Pick<RuntimeProcess, "readTextFile">,
  options: CliOptions,
): Promise<ServeTlsOptions | undefined> {
  if (options.cert === undefined || options.key === undefined) return undefined;
  const cert = await _read(rt, "--cert", options.cert, /-----BEGIN CERTIFICATE-----/, "-----BEGIN CERTIFICATE-----");
  const key = await _read(
    rt,
    "--key",
    options.key,
    /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
    "-----BEGIN ... PRIVATE KEY-----",
  );
  return { cert, key };
}

async function _read(
  rt: Pick<RuntimeProcess, "readTextFile">,
  flag: string,
  path: string,
  pem: RegExp,
  label: string,
): Promise<string> {
  let text: string;
  try {
    text = await rt.readTextFile(path);
  } catch (e) {
    throw new UsageError(`${flag} ${path}: cannot read the file: ${(e as Error).message}`);
  }
  if (!pem.test(text)) throw new UsageError(`${flag} ${path}: no "${label}" in the file`);
  return text;
}
