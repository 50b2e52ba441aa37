// Test data helpers: the RFC 4475 and RFC 5118 torture messages copied into tests/data.
import { readFileSync } from "node:fs";

const here = new URL("./data/", import.meta.url);

/** One torture message and its expected verdict (see tests/data/README.md). */
export interface TortureCase {
  name: string;
  file: string;
  section: string;
  verdict: "valid" | "invalid" | "semantic";
  status: number | null;
  also_ok: number[];
  by_role: Record<string, unknown> | null;
  bytes: Uint8Array;
}

/** Every torture case of one folder (`rfc4475` or `rfc5118`). */
export function torture(folder: "rfc4475" | "rfc5118"): TortureCase[] {
  const dir = new URL(folder + "/", here);
  const manifest = JSON.parse(readFileSync(new URL("manifest.json", dir), "utf8")) as Omit<TortureCase, "bytes">[];
  return manifest.map((m) => ({ ...m, bytes: new Uint8Array(readFileSync(new URL(m.file, dir))) }));
}

/** Reads a file under tests/data as bytes. */
export function dataFile(path: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(path, here)));
}

/** Joins lines with CRLF and ends the header section. */
export function sip(lines: string[], body = ""): string {
  return lines.join("\r\n") + "\r\n\r\n" + body;
}
