// makeCertificate(): what it makes is read by openssl (x509 -text, verify against the CA), and
// serves TLS to clients that trust only its CA: node:tls, and the runtime shim's own client
// (Deno.connectTls with rustls, or Bun.connect).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { fingerprint, makeCertificate, pemDecode } from "../../src/tls/certificate.ts";
import { detectRuntime } from "../../src/net/runtime/detect.ts";
import { installed, runCommand } from "../net/_sipp.ts";
import { skipWhy } from "../_skip.ts";
import { within } from "../_wait.ts";

const made = await makeCertificate();
const other = await makeCertificate({ names: ["localhost"] });

test("fingerprints: SHA-256 of the DER, colon hex, the leaf's and the CA's", async () => {
  assert.match(made.fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  assert.equal(await fingerprint(made.cert), made.fingerprint);
  assert.equal(await fingerprint(pemDecode(made.cert, "CERTIFICATE")[1]), made.caFingerprint);
  assert.equal(await fingerprint(made.ca), made.caFingerprint);
  assert.notEqual(made.fingerprint, other.fingerprint);
  await assert.rejects(fingerprint("no PEM"), /no -----BEGIN CERTIFICATE-----/);
});

test("the chain is the leaf then the CA; the key is PKCS #8; validity from an hour ago, 30 days on", () => {
  assert.equal(pemDecode(made.cert, "CERTIFICATE").length, 2);
  assert.ok(made.cert.endsWith(made.ca));
  assert.equal(pemDecode(made.key, "PRIVATE KEY").length, 1);
  const now = Date.now();
  assert.ok(made.notBefore.getTime() <= now - 3599_000 && made.notBefore.getTime() > now - 3700_000);
  assert.equal(made.notAfter.getTime() - made.notBefore.getTime(), 30 * 86400_000 + 3600_000);
  assert.deepEqual(made.names, ["localhost", "127.0.0.1", "::1"]);
});

test("bad options are refused, naming what was wrong", async () => {
  await assert.rejects(makeCertificate({ names: [] }), { name: "RangeError", message: /no names/ });
  await assert.rejects(makeCertificate({ names: ["bad name!"] }), {
    name: "RangeError",
    message: 'makeCertificate(): "bad name!" is neither an IP address nor a DNS name',
  });
  await assert.rejects(makeCertificate({ days: 0 }), { message: /days must be an integer 1\.\.3650, not 0/ });
  await assert.rejects(makeCertificate({ days: 1.5 }), RangeError);
  await assert.rejects(makeCertificate({ days: 3651 }), { message: /not 3651/ });
  const longest = await makeCertificate({ days: 3650 });
  assert.equal(longest.notAfter.getTime() - longest.notBefore.getTime(), 3650 * 86400_000 + 3600_000);
});

const HAVE_OPENSSL = installed("openssl", "version");
describe("openssl reads it", { skip: skipWhy("openssl checks", !HAVE_OPENSSL && "openssl is not installed") }, () => {
  const dir = mkdtempSync(join(tmpdir(), "sipecho-cert-"));
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const leaf = file("leaf.pem", made.cert.slice(0, made.cert.indexOf(made.ca)));
  const ca = file("ca.pem", made.ca);

  test("x509 -text: v3, ECDSA P-256 with SHA-256, the extensions of a server leaf", async () => {
    const { code, stdout } = await runCommand("openssl", ["x509", "-in", leaf, "-text", "-noout"], 10_000);
    assert.equal(code, 0);
    assert.match(stdout, /Version: 3 \(0x2\)/);
    assert.match(stdout, /Signature Algorithm: ecdsa-with-SHA256/);
    assert.match(stdout, /NIST CURVE: P-256/);
    assert.match(stdout, /Issuer: O ?= ?sipecho, CN ?= ?sipecho CA/);
    assert.match(stdout, /Basic Constraints: critical\s+CA:FALSE/);
    assert.match(stdout, /Key Usage: critical\s+Digital Signature\n/);
    assert.match(stdout, /TLS Web Server Authentication, TLS Web Client Authentication/);
    assert.match(stdout, /DNS:localhost, IP Address:127\.0\.0\.1, IP Address:0:0:0:0:0:0:0:1/);
    assert.match(stdout, /Authority Key Identifier/);
    const ca = await runCommand("openssl", ["x509", "-in", join(dir, "ca.pem"), "-text", "-noout"], 10_000);
    assert.match(ca.stdout, /Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    assert.match(ca.stdout, /Key Usage: critical\s+Certificate Sign, CRL Sign/);
  });

  test("verify -CAfile: the leaf against its CA, and not against another", async () => {
    const ok = await runCommand("openssl", ["verify", "-CAfile", ca, leaf], 10_000);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /: OK/);
    const wrong = await runCommand("openssl", ["verify", "-CAfile", file("other.pem", other.ca), leaf], 10_000);
    assert.notEqual(wrong.code, 0);
  });

  test("the fingerprint is openssl's, and the key is the leaf's", async () => {
    const fp = await runCommand("openssl", ["x509", "-in", leaf, "-noout", "-fingerprint", "-sha256"], 10_000);
    assert.equal(fp.stdout.trim().replace(/^.*Fingerprint=/i, ""), made.fingerprint);
    const key = file("key.pem", made.key);
    const fromKey = await runCommand("openssl", ["pkey", "-in", key, "-pubout"], 10_000);
    const fromCert = await runCommand("openssl", ["x509", "-in", leaf, "-noout", "-pubkey"], 10_000);
    assert.equal(fromKey.code, 0, fromKey.stderr);
    assert.equal(fromKey.stdout, fromCert.stdout);
  });

  test("(cleanup)", () => rmSync(dir, { recursive: true, force: true }));
});

/** A node:tls server with the made chain and key that writes "hello" to each client. */
async function helloServer(host: string): Promise<{ port: number; close(): Promise<void> }> {
  const server = tls.createServer({ cert: made.cert, key: made.key }, (socket) => socket.end("hello"));
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe("serving TLS with it", () => {
  for (const host of ["127.0.0.1", "::1", "localhost"]) {
    test(`node:tls trusting only the CA connects to ${host}; trusting another CA, it does not`, async () => {
      const server = await helloServer(host === "localhost" ? "127.0.0.1" : host);
      try {
        const read = (ca: string) =>
          within(
            new Promise<string>((resolve, reject) => {
              const socket = tls.connect({
                host,
                port: server.port,
                ca,
                servername: host === "localhost" ? host : undefined,
              });
              let text = "";
              socket.on("data", (d) => text += d);
              socket.on("end", () => resolve(text));
              socket.on("error", reject);
            }),
            `a TLS connection to ${host}`,
          );
        assert.equal(await read(made.ca), "hello");
        await assert.rejects(read(other.ca), /self.signed|unable to (get|verify)|certificate/i);
      } finally {
        await server.close();
      }
    });
  }

  test("the runtime shim's own TLS client (rustls on Deno) trusting only the CA connects", async () => {
    const net = await detectRuntime();
    const server = await helloServer("127.0.0.1");
    try {
      const got = Promise.withResolvers<string>();
      const conn = await within(
        net.connectTlsStream!({ hostname: "127.0.0.1", port: server.port, ca: [made.ca] }, {
          open: () => {},
          data: (_c, d) => got.resolve(new TextDecoder().decode(d)),
          close: () => {},
        }),
        "connectTlsStream",
      );
      assert.equal(await within(got.promise, "hello"), "hello");
      conn.close();
      await assert.rejects(
        within(
          net.connectTlsStream!({ hostname: "127.0.0.1", port: server.port, ca: [other.ca] }, {
            open: () => {},
            data: () => {},
            close: () => {},
          }),
          "connectTlsStream refused",
        ),
      );
    } finally {
      await server.close();
    }
  });
});
