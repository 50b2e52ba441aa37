/**
 * Whole-file reads and writes through `node:fs/promises`, for the Node.js and Bun shims
 * (`RuntimeNet.readFile`, `RuntimeNet.writeFile`: the announcements and recordings).
 *
 * @module
 */

import { readFile as fsReadFile, stat, writeFile as fsWriteFile } from "node:fs/promises";

/**
 * Reads a file, refusing one larger than `maxBytes` before reading it.
 *
 * @param path The file.
 * @param maxBytes The most bytes taken.
 * @returns Its bytes.
 * @throws {RangeError} If it is larger.
 */
export async function readFileBounded(path: string, maxBytes: number): Promise<Uint8Array> {
  const { size } = await stat(path);
  if (size > maxBytes) throw new RangeError(`${path}: ${size} bytes, more than ${maxBytes}`);
  return new Uint8Array(await fsReadFile(path));
}

/**
 * Writes a file, replacing it.
 *
 * @param path The file.
 * @param data Its bytes.
 */
export async function writeWholeFile(path: string, data: Uint8Array): Promise<void> {
  await fsWriteFile(path, data);
}
