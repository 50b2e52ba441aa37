import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { addressOfRecord, Registrar } from "../../src/ua/registrar.ts";
import { parseMessage } from "../../src/sip/parse.ts";
import { parseUri, type SipUri } from "../../src/sip/uri.ts";
import { SipRequest } from "../../src/sip/message.ts";
import { type Contact, HeaderError } from "../../src/sip/header_values.ts";
import { sip, torture } from "../_data.ts";

function register(extra: string[], options: { callId?: string; cseq?: number; to?: string } = {}): SipRequest {
  const m = parseMessage(sip([
    "REGISTER sip:example.com SIP/2.0",
    "Via: SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bKr" + (options.cseq ?? 1),
    "Max-Forwards: 70",
    "From: <sip:bob@example.com>;tag=456",
    `To: ${options.to ?? "<sip:bob@example.com>"}`,
    `Call-ID: ${options.callId ?? "reg-1@192.0.2.4"}`,
    `CSeq: ${options.cseq ?? 1} REGISTER`,
    ...extra,
  ]));
  assert.equal(m.type, "request");
  return m as SipRequest;
}

describe("addressOfRecord()", () => {
  test("addressOfRecord() drops parameters, undoes escapes and lower-cases the host (§10.3 step 5)", () => {
    assert.equal(
      addressOfRecord(parseUri("sips:%62ob@EXAMPLE.com:5061;transport=tcp?x=y")),
      "sips:bob@example.com:5061",
    );
    assert.equal(addressOfRecord(parseUri("sip:example.com")), "sip:example.com");
    assert.equal(addressOfRecord(parseUri("isbn:2983792873")), undefined);
  });
});

describe("Registrar", () => {
  test("Registrar.register() binds contacts and lists them with their expiry (§10.3 step 8)", () => {
    const r = new Registrar();
    const result = r.register(
      register([
        "Contact: <sip:bob@192.0.2.4>;q=0.7, <sip:bob@192.0.2.5>;expires=120",
        "Expires: 600",
      ]),
      1000,
    );
    assert.deepEqual(result, {
      status: 200,
      headers: [
        ["Contact", "<sip:bob@192.0.2.4>;q=0.7;expires=600"],
        ["Contact", "<sip:bob@192.0.2.5>;expires=120"],
      ],
    });
    assert.equal(r.size, 2);
    // A query (no Contact) lists the bindings with what is left of their expiry.
    assert.deepEqual(r.register(register([], { cseq: 2 }), 31_500).headers, [
      ["Contact", "<sip:bob@192.0.2.4>;q=0.7;expires=570"],
      ["Contact", "<sip:bob@192.0.2.5>;expires=90"],
    ]);
  });

  test("Registrar writes a binding's parameters back as header parameters, quoting what is not a token or host", () => {
    const r = new Registrar();
    const contact = 'Contact: <sip:bob@192.0.2.4>;+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>";' +
      "reg-id=1;maddr=[2001:db8::1];ob";
    assert.deepEqual(r.register(register([contact]), 0).headers, [
      [
        "Contact",
        '<sip:bob@192.0.2.4>;+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>";reg-id=1;' +
        "maddr=[2001:db8::1];ob;expires=3600",
      ],
    ]);
  });

  test("Registrar uses 3600 s when neither the Contact nor Expires says", () => {
    const r = new Registrar();
    assert.deepEqual(r.register(register(["Contact: <sip:bob@192.0.2.4>"]), 0).headers, [
      ["Contact", "<sip:bob@192.0.2.4>;expires=3600"],
    ]);
  });

  test("Registrar drops bindings once they expire", () => {
    const r = new Registrar();
    r.register(register(["Contact: <sip:bob@192.0.2.4>;expires=60"]), 0);
    assert.equal(r.lookup("sip:bob@example.com", 59_999).length, 1);
    assert.equal(r.lookup("sip:bob@example.com", 60_000).length, 0);
    assert.equal(r.size, 0);
  });

  test("Registrar answers 423 with Min-Expires to a too brief interval (§10.3 step 7)", () => {
    const r = new Registrar({ minExpires: 120 });
    assert.deepEqual(r.register(register(["Contact: <sip:bob@192.0.2.4>", "Expires: 30"]), 0), {
      status: 423,
      headers: [["Min-Expires", "120"]],
    });
    assert.equal(r.size, 0);
    // An interval of an hour or more is never too brief.
    assert.equal(
      new Registrar({ minExpires: 7200 }).register(register(["Contact: <sip:b@h>;expires=3600"]), 0).status,
      200,
    );
  });

  test("Registrar shortens an expiry over maxExpires", () => {
    const r = new Registrar({ maxExpires: 1000 });
    assert.deepEqual(r.register(register(["Contact: <sip:b@h>;expires=5000"]), 0).headers, [
      ["Contact", "<sip:b@h>;expires=1000"],
    ]);
  });

  test("Registrar refreshes a binding by URI equality and removes it with expires=0", () => {
    const r = new Registrar();
    r.register(register(["Contact: <sip:bob@192.0.2.4;transport=udp>"]), 0);
    // Host case and parameter order do not matter (RFC 3261 §19.1.4).
    const refreshed = r.register(register(["Contact: <sip:bob@192.0.2.4;Transport=UDP>;expires=100"], { cseq: 2 }), 0);
    assert.deepEqual(refreshed.headers, [["Contact", "<sip:bob@192.0.2.4;Transport=UDP>;expires=100"]]);
    // A transport parameter on one side only makes it another contact.
    const other = r.register(register(["Contact: <sip:bob@192.0.2.4>;expires=100"], { cseq: 3 }), 0);
    assert.equal(other.headers.length, 2);
    const removed = r.register(register(["Contact: <sip:bob@192.0.2.4;transport=udp>;expires=0"], { cseq: 4 }), 0);
    assert.deepEqual(removed.headers, [["Contact", "<sip:bob@192.0.2.4>;expires=100"]]);
  });

  test("Registrar removes all bindings with Contact: * and Expires: 0 (§10.3 step 6)", () => {
    const r = new Registrar();
    r.register(register(["Contact: <sip:a@h>, <sip:b@h>"]), 0);
    assert.deepEqual(r.register(register(["Contact: *", "Expires: 0"], { cseq: 2 }), 0), { status: 200, headers: [] });
    assert.equal(r.size, 0);
  });

  test("Registrar refuses Contact: * with a non-zero Expires or with other contacts", () => {
    const r = new Registrar();
    assert.equal(r.register(register(["Contact: *", "Expires: 10"]), 0).status, 400);
    assert.equal(r.register(register(["Contact: *"]), 0).status, 400);
    const mixed = r.register(register(["Contact: *", "Contact: <sip:a@h>", "Expires: 0"]), 0);
    assert.equal(mixed.status, 400);
    assert.equal(mixed.reason, "Bad Request: Contact: * must be the only Contact");
  });

  test("Registrar fails a REGISTER with the same Call-ID and a CSeq not higher (§10.3 step 7)", () => {
    const r = new Registrar();
    r.register(register(["Contact: <sip:a@h>"], { cseq: 5 }), 0);
    const stale = r.register(register(["Contact: <sip:a@h>;expires=0"], { cseq: 5 }), 0);
    assert.equal(stale.status, 500);
    assert.equal(r.size, 1);
    assert.equal(r.register(register(["Contact: *", "Expires: 0"], { cseq: 4 }), 0).status, 500);
    // Another Call-ID may update it whatever its CSeq.
    assert.equal(r.register(register(["Contact: <sip:a@h>;expires=0"], { cseq: 1, callId: "other" }), 0).status, 200);
    assert.equal(r.size, 0);
  });

  test("Registrar makes all changes of a request or none", () => {
    const r = new Registrar();
    r.register(register(["Contact: <sip:a@h>"], { cseq: 5 }), 0);
    const result = r.register(register(["Contact: <sip:b@h>, <sip:a@h>"], { cseq: 3 }), 0);
    assert.equal(result.status, 500);
    assert.deepEqual(r.lookup("sip:bob@example.com", 0).map((b) => b.uri), ["sip:a@h"]);
  });

  test("Registrar answers 400 to a non-SIP To URI (RFC 4475 unksm2)", () => {
    const r = new Registrar();
    const result = r.register(register(["Contact: <sip:a@h>"], { to: "isbn:2983792873" }), 0);
    assert.deepEqual(result, { status: 400, reason: "Bad Request: To is not a sip or sips URI", headers: [] });
  });

  test("Registrar answers 503 with Retry-After when the table is full", () => {
    const r = new Registrar({ maxBindings: 2, retryAfter: 9 });
    assert.equal(r.register(register(["Contact: <sip:a@h>, <sip:b@h>"]), 0).status, 200);
    assert.deepEqual(r.register(register(["Contact: <sip:c@h>"], { to: "<sip:carol@example.com>" }), 0), {
      status: 503,
      reason: "Service Unavailable: registrar table full",
      headers: [["Retry-After", "9"]],
    });
    // Expired bindings make room again.
    assert.equal(
      r.register(register(["Contact: <sip:c@h>"], { to: "<sip:carol@example.com>" }), 3_600_000).status,
      200,
    );
  });

  test("Registrar keeps Path when the REGISTER supports it (RFC 3327 §5.3)", () => {
    const r = new Registrar();
    const result = r.register(
      register([
        "Contact: <sip:a@h>",
        "Supported: path",
        "Path: <sip:p1.example.com;lr>",
        "Path: <sip:p2.example.com;lr>",
      ]),
      0,
    );
    assert.deepEqual(result.headers.filter(([n]) => n === "Path").map(([, v]) => v), [
      "<sip:p1.example.com;lr>",
      "<sip:p2.example.com;lr>",
    ]);
    assert.deepEqual(r.lookup("sip:bob@example.com", 0)[0].path, [
      "<sip:p1.example.com;lr>",
      "<sip:p2.example.com;lr>",
    ]);
  });

  test("Registrar answers 400 naming a malformed Expires", () => {
    const result = new Registrar().register(register(["Contact: <sip:a@h>", "Expires: soon"]), 0);
    assert.equal(result.status, 400);
    assert.equal(result.reason, 'Cannot parse Expires: "soon" is not a number of seconds');
  });

  test("Registrar binds the RFC 4475 cparam01, cparam02, regescrt and escnull contacts as written", () => {
    const cases = new Map(torture("rfc4475").map((c) => [c.name, c]));
    const expected: Record<string, string[]> = {
      cparam01: ["<sip:+19725552222@gw1.example.net>;unknownparam;expires=3600"],
      cparam02: ["<sip:+19725552222@gw1.example.net;unknownparam>;expires=3600"],
      regescrt: ["<sip:user@example.com?Route=%3Csip:sip.example.com%3E>;expires=3600"],
      escnull: ["<sip:%00@host5.example.com>;expires=3600", "<sip:%00%00@host5.example.com>;expires=3600"],
    };
    for (const [name, contacts] of Object.entries(expected)) {
      const request = parseMessage(cases.get(name)!.bytes) as SipRequest;
      const result = new Registrar().register(request, 0);
      assert.equal(result.status, 200, name);
      assert.deepEqual(result.headers.map(([, v]) => v), contacts, name);
    }
  });
});

describe("Registrar contacts per address of record", () => {
  const contacts = (n: number, from = 0) =>
    "Contact: " + Array.from({ length: n }, (_, i) => `<sip:bob@192.0.2.${from + i}>`).join(", ");

  test("Registrar defaults maxContactsPerAor to 10 and maxBindingsPerSource to a tenth of maxBindings", () => {
    assert.equal(new Registrar().options.maxContactsPerAor, 10);
    assert.equal(new Registrar().options.maxBindingsPerSource, 1000);
    assert.equal(new Registrar({ maxBindings: 25 }).options.maxBindingsPerSource, 2);
    assert.equal(new Registrar({ maxBindings: 5 }).options.maxBindingsPerSource, 1);
    assert.equal(new Registrar({ maxBindingsPerSource: 7 }).options.maxBindingsPerSource, 7);
  });

  test("Registrar.register() answers 403 to a REGISTER that would leave more than maxContactsPerAor bindings", () => {
    const r = new Registrar({ maxContactsPerAor: 3 });
    assert.equal(r.register(register([contacts(2)]), 0).status, 200);
    const refused = r.register(register([contacts(2, 10)], { cseq: 2 }), 0);
    assert.deepEqual(refused, {
      status: 403,
      reason: "Forbidden: too many contacts for sip:bob@example.com (at most 3)",
      headers: [],
    });
    // Nothing changed, not even the contact that would have fitted.
    assert.deepEqual(r.lookup("sip:bob@example.com", 0).map((b) => b.uri), ["sip:bob@192.0.2.0", "sip:bob@192.0.2.1"]);
    assert.equal(r.size, 2);
    // Other addresses of record have their own bound.
    assert.equal(r.register(register([contacts(3)], { to: "<sip:carol@example.com>" }), 0).status, 200);
  });

  test("Registrar.register() counts added, refreshed and removed bindings against maxContactsPerAor", () => {
    const r = new Registrar({ maxContactsPerAor: 3 });
    r.register(register([contacts(3)]), 0);
    // Refreshing two, one of them twice, leaves three.
    const refreshed = r.register(
      register(["Contact: <sip:bob@192.0.2.1>, <sip:bob@192.0.2.2>, <sip:bob@192.0.2.1>;expires=100"], { cseq: 2 }),
      0,
    );
    assert.equal(refreshed.status, 200);
    assert.equal(refreshed.headers.length, 3);
    // One removed and one added leaves three.
    const swapped = r.register(
      register(["Contact: <sip:bob@192.0.2.0>;expires=0, <sip:bob@192.0.2.9>"], { cseq: 3 }),
      0,
    );
    assert.equal(swapped.status, 200);
    assert.deepEqual(swapped.headers.map(([, v]) => v), [
      "<sip:bob@192.0.2.1>;expires=100",
      "<sip:bob@192.0.2.2>;expires=3600",
      "<sip:bob@192.0.2.9>;expires=3600",
    ]);
    // One more without a removal is refused; bindings that expired first do not count.
    assert.equal(r.register(register(["Contact: <sip:bob@192.0.2.8>"], { cseq: 4 }), 0).status, 403);
    assert.equal(r.register(register(["Contact: <sip:bob@192.0.2.8>"], { cseq: 5 }), 100_000).status, 200);
  });

  test("Registrar.register() refuses more Contact values than maxContactsPerAor before parsing them", () => {
    // Two thousand contacts, the last malformed: were they parsed, the answer would be 400.
    const values = Array.from({ length: 1999 }, (_, i) => `<sip:bob@192.0.2.${i % 250};n=${i}>`);
    const request = new SipRequest({
      method: "REGISTER",
      uri: "sip:example.com",
      headers: [
        ["From", "<sip:bob@example.com>;tag=456"],
        ["To", "<sip:bob@example.com>"],
        ["Call-ID", "reg-1@192.0.2.4"],
        ["CSeq", "1 REGISTER"],
        ["Contact", [...values, "<sip:bob@192.0.2.4"].join(", ")],
      ],
    });
    assert.throws(() => request.contact, HeaderError);
    const r = new Registrar();
    assert.deepEqual(r.register(request, 0), {
      status: 403,
      reason: "Forbidden: too many contacts for sip:bob@example.com (at most 10)",
      headers: [],
    });
    // Even when most of them would remove bindings (the limit counts the values carried).
    const manyRemovals = register([contacts(11), "Expires: 0"]);
    assert.equal(new Registrar().register(manyRemovals, 0).status, 403);
  });

  test("Registrar.register() escapes the address of record in the 403 reason and cuts a long one", () => {
    const r = new Registrar({ maxContactsPerAor: 0 });
    const crlf = r.register(register(["Contact: <sip:a@h>"], { to: "<sip:b%0D%0AX%20%25@Example.com>" }), 0);
    assert.equal(crlf.reason, "Forbidden: too many contacts for sip:b%0D%0AX%20%25@example.com (at most 0)");
    const long = r.register(register(["Contact: <sip:a@h>"], { to: `<sip:${"a".repeat(500)}@example.com>` }), 0);
    assert.equal(long.reason, `Forbidden: too many contacts for sip:${"a".repeat(96)}... (at most 0)`);
  });
});

describe("Registrar expiry queue", () => {
  test("Registrar.register() on a full table checks only the addresses of record whose bindings expired", () => {
    const r = new Registrar({ maxBindings: 1000 });
    for (let i = 0; i < 997; i++) {
      assert.equal(r.register(register(["Contact: <sip:u@h>"], { to: `<sip:u${i}@example.com>` }), 0).status, 200);
    }
    for (const user of ["x", "y", "z"]) {
      r.register(register(["Contact: <sip:u@h>;expires=60"], { to: `<sip:${user}@example.com>` }), 0);
    }
    assert.equal(r.size, 1000);
    const checked: string[] = [];
    r._expiryProbe = (aor) => checked.push(aor);
    // Full, and nothing expired: a refused REGISTER looks at no address of record.
    const carol = register(["Contact: <sip:c@h>"], { to: "<sip:carol@example.com>" });
    assert.equal(r.register(carol, 59_999).status, 503);
    assert.deepEqual(checked, []);
    // Three bindings expired: exactly their addresses of record are checked, once each.
    assert.equal(r.register(carol, 60_000).status, 200);
    assert.deepEqual(checked.sort(), ["sip:x@example.com", "sip:y@example.com", "sip:z@example.com"]);
    assert.equal(r.size, 998);
    checked.length = 0;
    assert.equal(r.purge(120_000), 0);
    assert.deepEqual(checked, []);
  });

  test("Registrar.size counts the bindings current at the latest time given, full table or not", () => {
    const r = new Registrar();
    r.register(register(["Contact: <sip:a@h>;expires=60"]), 0);
    r.register(register(["Contact: <sip:c@h>;expires=120"], { to: "<sip:carol@example.com>" }), 0);
    assert.equal(r.size, 2);
    // A REGISTER for another address of record removes what expired before it.
    r.register(register(["Contact: <sip:d@h>"], { to: "<sip:dave@example.com>" }), 60_000);
    assert.equal(r.size, 2);
    assert.deepEqual(r.all(60_000).map((b) => b.aor), ["sip:carol@example.com", "sip:dave@example.com"]);
    // So does a lookup of another one.
    r.lookup("sip:dave@example.com", 120_000);
    assert.equal(r.size, 1);
  });

  test("Registrar keeps a refreshed binding past the expiry it had before", () => {
    const r = new Registrar();
    r.register(register(["Contact: <sip:a@h>;expires=60"]), 0);
    r.register(register(["Contact: <sip:a@h>;expires=600"], { cseq: 2 }), 30_000);
    assert.equal(r.purge(60_000), 0);
    assert.equal(r.lookup("sip:bob@example.com", 60_000)[0].expiresAt, 630_000);
    // Removed, then bound again with a shorter expiry: the new expiry holds.
    r.register(register(["Contact: <sip:a@h>;expires=0"], { cseq: 3 }), 60_000);
    r.register(register(["Contact: <sip:a@h>;expires=100"], { cseq: 4 }), 60_000);
    assert.equal(r.lookup("sip:bob@example.com", 159_999).length, 1);
    assert.equal(r.purge(160_000), 1);
    assert.equal(r.purge(700_000), 0);
    assert.equal(r.size, 0);
  });

  test("Registrar's expiry queue keeps a bounded number of entries for a binding refreshed many times", () => {
    const r = new Registrar();
    for (let cseq = 1; cseq <= 1000; cseq++) {
      assert.equal(r.register(register(["Contact: <sip:a@h>;expires=3600"], { cseq }), cseq * 1000).status, 200);
    }
    const checked: string[] = [];
    r._expiryProbe = (aor) => checked.push(aor);
    // Past every expiry but the last: the stale entries left are few (the queue is rebuilt once
    // they outnumber the bindings), and none removes the live binding.
    assert.equal(r.purge(3_600_000 + 999_999), 0);
    assert.ok(checked.length <= 18, `${checked.length} stale entries`);
    assert.equal(r.purge(3_600_000 + 1_000_000), 1);
    assert.equal(r.size, 0);
  });
});

describe("Registrar per-source share", () => {
  const bind = (r: Registrar, user: string, source?: string, contact = `<sip:${user}@h>`, cseq = 1) =>
    r.register(register([`Contact: ${contact}`], { to: `<sip:${user}@example.com>`, cseq }), 0, source);

  test("Registrar.register() answers 503 to a source over maxBindingsPerSource and serves the others", () => {
    const r = new Registrar({ maxBindingsPerSource: 2, retryAfter: 7 });
    assert.equal(bind(r, "a", "192.0.2.9").status, 200);
    assert.equal(bind(r, "b", "192.0.2.9").status, 200);
    assert.deepEqual(bind(r, "c", "192.0.2.9"), {
      status: 503,
      reason: "Service Unavailable: too many bindings from this source",
      headers: [["Retry-After", "7"]],
    });
    assert.deepEqual(r.lookup("sip:c@example.com", 0), []);
    assert.equal(bind(r, "c", "2001:db8:1:2::/64").status, 200);
    // Without a source nothing is counted.
    assert.equal(bind(r, "d").status, 200);
    assert.equal(bind(r, "e").status, 200);
    assert.equal(r.bindingsOf("192.0.2.9"), 2);
    assert.equal(r.bindingsOf("2001:db8:1:2::/64"), 1);
    assert.equal(r.size, 5);
    // A source at its share may still refresh, query and remove its bindings.
    assert.equal(bind(r, "a", "192.0.2.9", "<sip:a@h>;expires=100", 2).status, 200);
    assert.equal(r.register(register([], { to: "<sip:a@example.com>", cseq: 3 }), 0, "192.0.2.9").status, 200);
    assert.equal(bind(r, "a", "192.0.2.9", "<sip:a@h>;expires=0", 4).status, 200);
    assert.equal(bind(r, "c", "192.0.2.9", "<sip:c@h>", 2).status, 200);
    assert.deepEqual([r.bindingsOf("192.0.2.9"), r.bindingsOf("2001:db8:1:2::/64")], [2, 0]);
  });

  test("Registrar.register() counts one REGISTER's contacts against its source's share all or none", () => {
    const r = new Registrar({ maxBindingsPerSource: 3 });
    assert.equal(bind(r, "a", "s", "<sip:a@h>, <sip:b@h>").status, 200);
    assert.equal(bind(r, "b", "s", "<sip:a@h>, <sip:b@h>").status, 503);
    assert.equal(r.bindingsOf("s"), 2);
    assert.deepEqual(r.lookup("sip:b@example.com", 0), []);
  });

  test("Registrar.bindingsOf() stays exact across refresh, removal, Contact: *, expiry and clear()", () => {
    const r = new Registrar();
    bind(r, "bob", "s1", "<sip:a@h>;expires=60, <sip:b@h>;expires=120, <sip:c@h>");
    assert.equal(r.bindingsOf("s1"), 3);
    assert.equal(r.lookup("sip:bob@example.com", 0)[0].source, "s1");
    // A refresh from another source moves the binding to it; one without a source uncounts it.
    bind(r, "bob", "s2", "<sip:c@h>", 2);
    bind(r, "bob", undefined, "<sip:b@h>;expires=120", 3);
    assert.deepEqual([r.bindingsOf("s1"), r.bindingsOf("s2")], [1, 1]);
    assert.equal(r.lookup("sip:bob@example.com", 0)[1].source, undefined);
    // A refresh from the same source counts once.
    bind(r, "bob", "s2", "<sip:c@h>;expires=600", 4);
    assert.equal(r.bindingsOf("s2"), 1);
    // Expiry.
    assert.equal(r.purge(60_000), 1);
    assert.deepEqual([r.bindingsOf("s1"), r.bindingsOf("s2"), r.size], [0, 1, 2]);
    // Removal.
    bind(r, "bob", "s1", "<sip:c@h>;expires=0", 5);
    assert.deepEqual([r.bindingsOf("s1"), r.bindingsOf("s2"), r.size], [0, 0, 1]);
    // Contact: * from any source removes the bindings of every source.
    bind(r, "bob", "s1", "<sip:d@h>", 6);
    bind(r, "carol", "s2");
    bind(r, "bob", "s2", "<sip:e@h>", 7);
    r.register(register(["Contact: *", "Expires: 0"], { cseq: 8 }), 0, "s3");
    assert.deepEqual([r.bindingsOf("s1"), r.bindingsOf("s2"), r.bindingsOf("s3"), r.size], [0, 1, 0, 1]);
    r.clear();
    assert.deepEqual([r.bindingsOf("s2"), r.size], [0, 0]);
    // After clear() the share is whole again.
    const small = new Registrar({ maxBindingsPerSource: 1 });
    bind(small, "a", "s");
    small.clear();
    assert.equal(bind(small, "a", "s").status, 200);
  });

  test("Registrar.register() checks maxContactsPerAor before the source's share and the table", () => {
    const r = new Registrar({ maxBindings: 2, maxBindingsPerSource: 1, maxContactsPerAor: 1 });
    bind(r, "a", "s");
    assert.equal(bind(r, "b", "s", "<sip:a@h>, <sip:b@h>").status, 403);
    assert.equal(bind(r, "b", "s").reason, "Service Unavailable: too many bindings from this source");
    bind(r, "b", "t");
    assert.equal(bind(r, "c", "u").reason, "Service Unavailable: registrar table full");
  });
});

describe("Registrar bindings", () => {
  test("Registrar bindings share no object with the REGISTER they came from", () => {
    const r = new Registrar();
    const request = register(["Contact: <sip:a@h;transport=tcp?Subject=x>;q=0.5"]);
    r.register(request, 0);
    const contact = (request.contact as Contact[])[0];
    const binding = r.lookup("sip:bob@example.com", 0)[0];
    assert.deepEqual(binding.parsedUri, contact.parsedUri);
    assert.notEqual(binding.parsedUri, contact.parsedUri);
    assert.notEqual((binding.parsedUri as SipUri).params, (contact.parsedUri as SipUri).params);
    assert.notEqual((binding.parsedUri as SipUri).headers, (contact.parsedUri as SipUri).headers);
    assert.notEqual(binding.params, contact.params);
    for (const value of Object.values(binding)) assert.ok(!(value instanceof SipRequest) && value !== request.headers);
  });
});
