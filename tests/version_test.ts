// The version lives in src/version.ts; the package manifests must say the same: deno.json (Deno,
// JSR) and package.json (Bun, Node.js, npm), which must also agree on the name and the entry points.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { DEFAULT_SERVER, VERSION } from "../src/version.ts";
import { VERSION as CLI_VERSION } from "../src/cli/cli.ts";
import { DEFAULT_SERVER as RESPONSE_SERVER } from "../src/sip/response.ts";

interface Manifest {
  name?: unknown;
  version?: unknown;
  type?: unknown;
  exports?: Record<string, string>;
  bin?: Record<string, string>;
}

function manifest(name: string): Manifest | undefined {
  const url = new URL(`../${name}`, import.meta.url);
  return existsSync(url) ? JSON.parse(readFileSync(url, "utf8")) : undefined;
}

test("VERSION is the version of deno.json", () => {
  assert.equal(manifest("deno.json")?.version, VERSION);
});

test("VERSION is the version of package.json", () => {
  assert.equal(manifest("package.json")?.version, VERSION);
});

test("package.json has deno.json's name and every sub-path of its exports, to the same files", () => {
  const deno = manifest("deno.json")!;
  const pkg = manifest("package.json")!;
  assert.equal(pkg.name, deno.name);
  assert.equal(pkg.type, "module"); // the .ts files are ES modules, on Node.js too
  assert.deepEqual(pkg.exports, deno.exports);
  for (const file of Object.values(pkg.exports ?? {})) {
    assert.ok(existsSync(new URL(`../${file}`, import.meta.url)), file);
  }
});

test("package.json's bin is an executable script that runs mod.ts", () => {
  const bin = manifest("package.json")?.bin?.sipecho;
  assert.equal(typeof bin, "string");
  const url = new URL(`../${bin}`, import.meta.url);
  assert.ok(statSync(url).mode & 0o111, `${bin} is not executable`);
  const script = readFileSync(url, "utf8");
  assert.match(script, /^#!\/bin\/sh\n/);
  assert.match(script, /exec bun "\$here\/\.\.\/mod\.ts" "\$@"/);
  assert.match(script, /exec node "\$here\/\.\.\/mod\.ts" "\$@"/);
});

test("the command line and the Server header take the version from src/version.ts", () => {
  assert.equal(CLI_VERSION, VERSION);
  assert.equal(RESPONSE_SERVER, DEFAULT_SERVER);
  assert.equal(DEFAULT_SERVER, "sipecho/0.1");
});
