// serve() with a certificate made at start (tls: "self-signed"), on the runtime's own shim and
// on the Node.js shim: clients that trust only the CA it made connect on IPv4 and IPv6, the
// names it is for, server.tls for PEM given, and send() pinning a fingerprint.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import tls from "node:tls";
import { serve } from "../../src/net/serve.ts";
import { nodeNet } from "../../src/net/runtime/node.ts";
import { detectRuntime } from "../../src/net/runtime/detect.ts";
import type { RuntimeNet } from "../../src/net/transport.ts";
import { makeCertificate } from "../../src/tls/certificate.ts";
import { encoder, hostport, request, stop } from "./_serve_clients.ts";
import { SERVER_TLS, TlsClient } from "./_tls.ts";
import { within } from "../_wait.ts";

const shims: [string, RuntimeNet][] = [["the runtime's shim", await detectRuntime()], ["the Node.js shim", nodeNet]];

/** An OPTIONS over a TLS client trusting `ca` gets 200. */
async function optionsOk(host: string, port: number, ca: string, id: string): Promise<void> {
  const client = await TlsClient.connect(host, port, ca);
  try {
    await client.write(request({
      method: "OPTIONS",
      server: { host, port },
      transport: "TLS",
      sentBy: hostport(host, client.port),
      branch: `z9hG4bK${id}`,
      callId: id,
    }));
    assert.equal((await client.next(`200 to OPTIONS ${id}`)).status, 200);
  } finally {
    client.close();
  }
}

for (const [name, net] of shims) {
  describe(`serve({ tls: "self-signed" }), ${name}`, () => {
    test("a client trusting only the CA made connects over IPv4 and IPv6 and gets 200", async () => {
      const server = await serve({
        net,
        listen: [{ transport: "tls", hostname: "127.0.0.1", port: 0 }, { transport: "tls", hostname: "::1", port: 0 }],
        tls: "self-signed",
      });
      try {
        const made = server.tls!;
        assert.equal(made.selfSigned, true);
        assert.deepEqual(made.names, ["localhost", "127.0.0.1", "::1"]);
        assert.ok(made.notAfter!.getTime() > Date.now() + 29 * 86400_000);
        await optionsOk("127.0.0.1", server.addresses[0].port, made.ca!, "ss4");
        await optionsOk("::1", server.addresses[1].port, made.ca!, "ss6");
        // Another CA is not trusted: the client refuses the server.
        await assert.rejects(TlsClient.connect("127.0.0.1", server.addresses[0].port, (await makeCertificate()).ca));
      } finally {
        await stop(server);
      }
    });

    test("the certificate is for the listener's own address and advertise too; selfSigned.names replaces them", async () => {
      const a = await serve({
        net,
        listen: [{ transport: "tls", hostname: "127.0.0.2", port: 0 }],
        advertise: "192.0.2.7",
        tls: { selfSigned: true },
      });
      const b = await serve({
        net,
        listen: [{ transport: "tls", hostname: "127.0.0.1", port: 0 }],
        tls: { selfSigned: { names: ["127.0.0.1"], days: 2 } },
      });
      try {
        assert.deepEqual(a.tls!.names, ["localhost", "127.0.0.1", "::1", "127.0.0.2", "192.0.2.7"]);
        await optionsOk("127.0.0.2", a.addresses[0].port, a.tls!.ca!, "named");
        assert.deepEqual(b.tls!.names, ["127.0.0.1"]);
        assert.ok(b.tls!.notAfter!.getTime() < Date.now() + 3 * 86400_000);
        // localhost is not in b's certificate: a client checking that name refuses it.
        const socket = tls.connect({
          host: "127.0.0.1",
          port: b.addresses[0].port,
          ca: b.tls!.ca,
          servername: "localhost",
        });
        await assert.rejects(
          within(
            new Promise((resolve, reject) => socket.once("secureConnect", resolve).once("error", reject)),
            "a refused TLS connection",
          ),
          /localhost/,
        );
        socket.destroy();
      } finally {
        await stop(a);
        await stop(b);
      }
    });

    test("with PEM given, server.tls tells its fingerprint and no CA; without tls, there is none", async () => {
      const given = await serve({
        net,
        listen: [{ transport: "tls", hostname: "127.0.0.1", port: 0 }],
        tls: SERVER_TLS,
      });
      const none = await serve({ net, listen: [{ transport: "udp", hostname: "127.0.0.1", port: 0 }] });
      try {
        assert.equal(given.tls!.selfSigned, false);
        assert.equal(given.tls!.ca, undefined);
        const socket = tls.connect({ host: "127.0.0.1", port: given.addresses[0].port, ca: SERVER_TLS.ca });
        await within(
          new Promise((resolve, reject) => socket.once("secureConnect", resolve).once("error", reject)),
          "TLS",
        );
        assert.equal(given.tls!.fingerprint, socket.getPeerCertificate().fingerprint256);
        socket.destroy();
        assert.equal(none.tls, undefined);
      } finally {
        await stop(given);
        await stop(none);
      }
    });

    test("send() over TLS pins the peer's fingerprint: the right one gets 200, a wrong one is refused", async () => {
      const sut = await serve({
        net,
        listen: [{ transport: "tls", hostname: "127.0.0.1", port: 0 }],
        tls: "self-signed",
      });
      const got = Promise.withResolvers<number>();
      const client = await serve({
        net,
        listen: [{ transport: "tls", hostname: "127.0.0.1", port: 0 }],
        tls: "self-signed",
        onResponse: (r) => got.resolve(r.status),
      });
      try {
        const port = sut.addresses[0].port;
        const bytes = (id: string) =>
          encoder.encode(request({
            method: "OPTIONS",
            server: { host: "127.0.0.1", port },
            transport: "TLS",
            sentBy: `127.0.0.1:${client.addresses[0].port}`,
            branch: `z9hG4bK${id}`,
            callId: id,
          }));
        const remote = { address: "127.0.0.1", port };
        const wrong = (await makeCertificate()).fingerprint;
        await assert.rejects(
          client.send(bytes("pin0"), remote, "tls", { tls: { fingerprint: wrong } }),
          /cannot open a tls connection.*not the one pinned/,
        );
        await client.send(bytes("pin1"), remote, "tls", { tls: { fingerprint: sut.tls!.fingerprint } });
        assert.equal(await within(got.promise, "200 to the pinned OPTIONS"), 200);
      } finally {
        await stop(client);
        await stop(sut);
      }
    });
  });
}
