// The addresses the mock peer writes and sends to, without sockets.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parseUri, type SipUri } from "../../../mod.ts";
import { _destination, _hostPort, _ownAddress, _transportOf } from "../../../src/net/uac/addresses.ts";

describe("the mock's addresses", () => {
  const sip = (text: string) => parseUri(text) as SipUri;

  test("_destination() sends to the IP host and port of a SIP URI, and resolves no names", () => {
    assert.deepEqual(_destination(sip("sip:bob@[2001:db8::1]:5070")), { address: "2001:db8::1", port: 5070 });
    assert.deepEqual(_destination(sip("sip:bob@localhost")), { address: "127.0.0.1", port: 5060 });
    assert.throws(() => _destination(sip("sip:bob@example.com")), /host names are not resolved/);
  });

  test("_transportOf() reads the transport parameter: udp, tcp, ws, tls or wss; a sips: URI goes over TLS", () => {
    assert.equal(_transportOf(undefined), "udp");
    assert.equal(_transportOf(sip("sip:bob@192.0.2.1;transport=TCP")), "tcp");
    assert.equal(_transportOf(sip("sip:bob@192.0.2.1;transport=tls")), "tls");
    assert.equal(_transportOf(sip("sip:bob@192.0.2.1;transport=ws")), "ws");
    assert.equal(_transportOf(sip("sip:bob@192.0.2.1;transport=WSS")), "wss");
    assert.throws(
      () => _transportOf(sip("sip:bob@192.0.2.1;transport=sctp")),
      /not supported \(udp, tcp, ws, tls or wss\)/,
    );
    // RFC 5630 §3: sips: is TLS, with transport=tcp or none.
    assert.equal(_transportOf(sip("sips:bob@192.0.2.1")), "tls");
    assert.equal(_transportOf(sip("sips:bob@192.0.2.1;transport=tcp")), "tls");
    assert.throws(() => _transportOf(sip("sips:bob@192.0.2.1;transport=udp")), /a sips: URI goes over TLS/);
  });

  test("_destination(): 5061 by default for sips: and transport=tls (RFC 3261 §19.1.2)", () => {
    assert.deepEqual(_destination(sip("sips:bob@127.0.0.1")), { address: "127.0.0.1", port: 5061 });
    assert.deepEqual(_destination(sip("sip:bob@127.0.0.1;transport=tls")), { address: "127.0.0.1", port: 5061 });
    assert.deepEqual(_destination(sip("sips:bob@127.0.0.1:5071")), { address: "127.0.0.1", port: 5071 });
    assert.deepEqual(_destination(sip("sip:bob@127.0.0.1;transport=wss")), { address: "127.0.0.1", port: 5061 });
  });

  test("_ownAddress() and _hostPort() write the mock's address: advertised for a wildcard, IPv6 in brackets", () => {
    assert.deepEqual(_ownAddress({ transport: "udp", address: "0.0.0.0", port: 5 }, "192.0.2.7"), {
      address: "192.0.2.7",
      port: 5,
    });
    assert.deepEqual(_ownAddress({ transport: "udp", address: "::", port: 5 }, undefined), {
      address: "127.0.0.1",
      port: 5,
    });
    assert.deepEqual(_ownAddress({ transport: "tcp", address: "::1", port: 5 }, "192.0.2.7"), {
      address: "::1",
      port: 5,
    });
    assert.equal(_hostPort("::1", 5060), "[::1]:5060");
    assert.equal(_hostPort("192.0.2.1", 5060), "192.0.2.1:5060");
  });
});
