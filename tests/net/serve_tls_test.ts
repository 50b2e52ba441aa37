// serve() over TLS (RFC 3261 §26, RFC 5630) on real loopback sockets, on the runtime's own shim
// and on the Node.js shim: requests answered on their connection (§18.2.2), Via TLS, sips:
// Request-URIs and the Contact they get, and the handshake limits: a client that never
// handshakes and one that sends garbage each cost one connection, never the server.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { serve } from "../../src/net/serve.ts";
import { nodeNet } from "../../src/net/runtime/node.ts";
import { detectRuntime } from "../../src/net/runtime/detect.ts";
import type { RuntimeNet } from "../../src/net/transport.ts";
import tls from "node:tls";
import {
  decoder,
  encoder,
  forMethod,
  hostport,
  Inbox,
  OFFER,
  request,
  response,
  stop,
  TcpClient,
} from "./_serve_clients.ts";
import { SERVER_TLS, TEST_TLS, TlsClient } from "./_tls.ts";
import { clientFrame, concat, serverFrames, upgradeRequest } from "./_websocket_client.ts";
import { within } from "../_wait.ts";

const shims: [string, RuntimeNet][] = [["the runtime's shim", await detectRuntime()], ["the Node.js shim", nodeNet]];
const HOSTS = ["127.0.0.1", "::1"] as const;

/** A TLS client that connects after the others gets 200 to an OPTIONS: the listener serves on. */
async function assertServesTls(port: number, id: string): Promise<void> {
  const client = await TlsClient.connect("127.0.0.1", port);
  try {
    await client.write(request({
      method: "OPTIONS",
      server: { host: "127.0.0.1", port },
      transport: "TLS",
      sentBy: `127.0.0.1:${client.port}`,
      branch: `z9hG4bK${id}`,
      callId: id,
    }));
    assert.equal((await client.next(`200 to OPTIONS ${id}`)).status, 200);
  } finally {
    client.close();
  }
}

for (const [name, net] of shims) {
  describe(`serve() over TLS, ${name}`, () => {
    for (const host of HOSTS) {
      test(`OPTIONS over TLS on ${host} is answered 200 on its connection, Via TLS kept`, async () => {
        const server = await serve({ net, listen: [{ transport: "tls", hostname: host, port: 0 }], tls: SERVER_TLS });
        const port = server.addresses[0].port;
        assert.equal(server.addresses[0].transport, "tls");
        const client = await TlsClient.connect(host, port);
        try {
          const sentBy = hostport(host, client.port);
          await client.write(request({
            method: "OPTIONS",
            server: { host, port },
            transport: "TLS",
            sentBy,
            branch: "z9hG4bKtls1",
            callId: "tls-options",
            uri: `sip:echo@${hostport(host, port)};transport=tls`,
          }));
          const ok = await client.next("200 to OPTIONS");
          assert.equal(ok.status, 200);
          assert.match(ok.headers.get("Via") ?? "", new RegExp(`^SIP/2\\.0/TLS ${sentBy.replace(/[[\]]/g, "\\$&")};`));
          assert.equal(server.uri("echo", "tls"), `sip:echo@${hostport(host, port)};transport=tls`);
        } finally {
          client.close();
          await stop(server);
        }
      });
    }

    for (const scheme of ["sips", "sip"] as const) {
      test(`an INVITE to a ${scheme}: URI over TLS gets a ${scheme === "sips" ? "sips: Contact" : "Contact with transport=tls"}`, async () => {
        const server = await serve({
          net,
          listen: [{ transport: "udp", hostname: "127.0.0.1", port: 0 }, {
            transport: "tls",
            hostname: "127.0.0.1",
            port: 0,
          }],
          tls: SERVER_TLS,
        });
        const port = server.addresses[1].port;
        const client = await TlsClient.connect("127.0.0.1", port);
        try {
          const target = scheme === "sips" ? `sips:echo@127.0.0.1:${port}` : `sip:echo@127.0.0.1:${port};transport=tls`;
          const common = {
            server: { host: "127.0.0.1", port },
            transport: "TLS",
            sentBy: `127.0.0.1:${client.port}`,
            callId: `tls-invite-${scheme}`,
            uri: target,
            contact: `<${scheme}:alice@127.0.0.1:${client.port}${scheme === "sip" ? ";transport=tls" : ""}>`,
          };
          await client.write(request({ ...common, method: "INVITE", branch: "z9hG4bKtlsinv", body: OFFER }));
          const ok = await client.next("200 to INVITE", (r) => r.status === 200);
          const contact = ok.headers.get("Contact");
          assert.equal(
            contact,
            scheme === "sips" ? `<sips:echo@127.0.0.1:${port}>` : `<sip:echo@127.0.0.1:${port};transport=tls>`,
          );
          const toTag = ok.to.params.tag ?? undefined;
          await client.write(request({ ...common, method: "ACK", branch: "z9hG4bKtlsack", toTag }));
          await client.write(request({ ...common, method: "BYE", branch: "z9hG4bKtlsbye", cseq: 2, toTag }));
          assert.equal((await client.next("200 to BYE", forMethod("BYE"))).status, 200);
        } finally {
          client.close();
          await stop(server);
        }
      });
    }

    test("a client that connects and never handshakes is closed after handshakeTimeout; the server serves on", async () => {
      const events: string[] = [];
      const server = await serve({
        net,
        listen: [{ transport: "tls", hostname: "127.0.0.1", port: 0 }],
        tls: SERVER_TLS,
        connections: { handshakeTimeout: 200 },
        onEvent: (e) => void events.push(e.message),
      });
      const port = server.addresses[0].port;
      const silent = await TcpClient.connect("127.0.0.1", port);
      try {
        const started = Date.now();
        await silent.serverClose("the server to close a connection that never handshakes");
        const took = Date.now() - started;
        assert.ok(took >= 150 && took < 1500, `closed after ${took} ms`);
        assert.ok(
          events.some((m) => /no TLS handshake within 200 ms of opening \(handshakeTimeout\)/.test(m)),
          events.join("\n"),
        );
        await assertServesTls(port, "after-silent");
      } finally {
        silent.close();
        await stop(server);
      }
    });

    test("a client that sends garbage instead of a handshake is closed at once; the server serves on", async () => {
      const events: string[] = [];
      const server = await serve({
        net,
        listen: [{ transport: "tls", hostname: "127.0.0.1", port: 0 }],
        tls: SERVER_TLS,
        onEvent: (e) => void events.push(e.message),
      });
      const port = server.addresses[0].port;
      const garbage = await TcpClient.connect("127.0.0.1", port);
      try {
        await garbage.write("OPTIONS sip:echo@127.0.0.1 SIP/2.0\r\nContent-Length: 0\r\n\r\n");
        await garbage.serverClose("the server to close a connection that sends no TLS");
        assert.equal(garbage.raw.includes("SIP/2.0"), false, "no SIP answer on a connection without TLS");
        assert.ok(events.some((m) => /TLS handshake failed/.test(m)), events.join("\n"));
        await assertServesTls(port, "after-garbage");
      } finally {
        garbage.close();
        await stop(server);
      }
    });

    test("maxHandshakes: a connection beyond the handshakes under way is closed at once", async () => {
      const events: string[] = [];
      const server = await serve({
        net,
        listen: [{ transport: "tls", hostname: "127.0.0.1", port: 0 }],
        tls: SERVER_TLS,
        connections: { maxHandshakes: 2, handshakeTimeout: 5000 },
        onEvent: (e) => void events.push(e.message),
      });
      const port = server.addresses[0].port;
      const silent = [await TcpClient.connect("127.0.0.1", port), await TcpClient.connect("127.0.0.1", port)];
      try {
        const third = await TcpClient.connect("127.0.0.1", port);
        await third.serverClose("the server to close a third connection in handshake");
        assert.ok(events.some((m) => /2 TLS handshakes under way \(maxHandshakes\)/.test(m)), events.join("\n"));
        silent[0].close();
        // Once one leaves, a TLS client gets in.
        let client: TlsClient | undefined;
        for (let i = 0; i < 50 && client === undefined; i++) {
          await new Promise((resolve) => setTimeout(resolve, 20));
          client = await TlsClient.connect("127.0.0.1", port).catch(() => undefined);
        }
        assert.ok(client !== undefined, "a TLS client got in after a silent one left");
        client.close();
      } finally {
        for (const s of silent) s.close();
        await stop(server);
      }
    });

    test("a tls listener without a certificate is refused, naming what is missing", async () => {
      await assert.rejects(
        serve({ net, listen: [{ transport: "tls", hostname: "127.0.0.1", port: 0 }] }),
        {
          name: "TypeError",
          message: 'serve(): a tls listener needs tls.cert and tls.key (PEM), or tls: "self-signed" to make one',
        },
      );
    });
  });
}

for (const [name, net] of shims) {
  describe(`serve() over secure WebSocket (RFC 7118 over TLS), ${name}`, () => {
    test("an upgrade over TLS gets 101 with the sip subprotocol; an OPTIONS in a frame gets its 200 in a frame", async () => {
      const server = await serve({
        net,
        listen: [{ transport: "wss", hostname: "127.0.0.1", port: 0 }],
        tls: SERVER_TLS,
      });
      const port = server.addresses[0].port;
      assert.equal(server.uri("echo", "wss"), `sip:echo@127.0.0.1:${port};transport=wss`);
      const socket = tls.connect({ host: "127.0.0.1", port, ca: TEST_TLS.ca });
      let received: Uint8Array = new Uint8Array(0);
      const more = new Inbox<number>();
      socket.on("data", (d: Uint8Array) => {
        received = concat(received, new Uint8Array(d));
        more.push(received.length);
      });
      socket.on("error", () => {});
      try {
        await within(
          new Promise<void>((resolve, reject) => {
            socket.once("secureConnect", resolve);
            socket.once("error", reject);
          }),
          "a TLS connection",
        );
        socket.write(upgradeRequest());
        await more.next("the 101", () => decoder.decode(received).includes("\r\n\r\n"));
        const head = decoder.decode(received);
        assert.match(head, /^HTTP\/1\.1 101 /);
        assert.match(head, /\r\nSec-WebSocket-Protocol: sip\r\n/i);
        const headLength = encoder.encode(head.slice(0, head.indexOf("\r\n\r\n") + 4)).length;
        socket.write(clientFrame(
          1,
          request({
            method: "OPTIONS",
            server: { host: "127.0.0.1", port },
            transport: "WSS",
            sentBy: "df7jal23ls0d.invalid",
            branch: "z9hG4bKwss1",
            callId: "wss-options",
          }),
        ));
        await more.next("a frame", () => serverFrames(received.subarray(headLength)).length > 0);
        const [frame] = serverFrames(received.subarray(headLength));
        const ok = response(frame.payload);
        assert.equal(ok.status, 200);
        assert.match(ok.headers.get("Via") ?? "", /^SIP\/2\.0\/WSS df7jal23ls0d\.invalid;/);
      } finally {
        socket.destroy();
        await stop(server);
      }
    });
  });
}
