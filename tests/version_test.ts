// The version lives in src/version.ts; the package manifests must say the same.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { DEFAULT_SERVER, VERSION } from "../src/version.ts";
import { VERSION as CLI_VERSION } from "../src/cli/cli.ts";
import { DEFAULT_SERVER as RESPONSE_SERVER } from "../src/sip/response.ts";

function manifest(name: string): { version?: unknown } | undefined {
  const url = new URL(`../${name}`, import.meta.url);
  return existsSync(url) ? JSON.parse(readFileSync(url, "utf8")) : undefined;
}

test("VERSION is the version of deno.json", () => {
  assert.equal(manifest("deno.json")?.version, VERSION);
});

test("VERSION is the version of package.json, when there is one", () => {
  const pkg = manifest("package.json");
  if (pkg !== undefined) assert.equal(pkg.version, VERSION);
});

test("the command line and the Server header take the version from src/version.ts", () => {
  assert.equal(CLI_VERSION, VERSION);
  assert.equal(RESPONSE_SERVER, DEFAULT_SERVER);
  assert.equal(DEFAULT_SERVER, "sipecho/0.1");
});
