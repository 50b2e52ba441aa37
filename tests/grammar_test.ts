// The eager checks in src/grammar.ts must accept exactly what the lazy views accept:
// a value the parser lets through must never make a view throw later.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CONTACT, FROM_TO, REQUEST_URI, VIA } from "../src/grammar.ts";
import { parseContact, parseNameAddress, parseUri, parseVia, splitHeaderList } from "../mod.ts";
import { torture } from "./_data.ts";

function accepts(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
}

const VIAS = [
  "SIP/2.0/UDP h",
  "SIP/2.0/UDP h:5060",
  "SIP / 2.0 / UDP h ; branch = z9hG4bK1",
  "SIP/2.0/UDP h;branch",
  "SIP/2.0/UDP h;rport",
  "SIP/2.0/UDP h;rport=1",
  "SIP/2.0/UDP h;rport=x",
  "SIP/2.0/UDP h;ttl=255",
  "SIP/2.0/UDP h;ttl=256",
  "SIP/2.0/UDP h;received=1.2.3.4",
  "SIP/2.0/UDP h;received=[::1]",
  "SIP/2.0/UDP h;received=x",
  "SIP/2.0/UDP h;maddr=224.0.0.1",
  "SIP/2.0/UDP h;ext",
  'SIP/2.0/UDP h;ext="q v"',
  "SIP/2.0/UDP [::1]:5060;branch=a",
  "SIP/2.0/UDP h;;",
  "SIP/2.0/UDP",
  "SIP/2.0 h",
  "SIP/2.0/UDP h:65535",
  "SIP/2.0/UDP h:65536",
  "SIP/2.0/UDP h!x",
  "SIP/2.0/UDP h;branch=a;branch=b",
  "SIP/2.0/UDP -h",
  "SIP/2.0/UDP h.;rportx=1",
  "SIP/2.0/UDP h;RPORT",
];
const NAME_ADDRS = [
  "<sip:a@b>",
  "sip:a@b",
  "sip:a@b;tag=1",
  '"A" <sip:a@b>;tag=1',
  "A B <sip:a@b>",
  "A<sip:a@b>",
  "A, B <sip:a@b>",
  "< sip:a@b>",
  "<sip:a@b",
  '"open <sip:a@b>',
  "sip:a@b?x=1",
  "<sip:a@b?x=1>",
  "<sip:a@b;lr>;tag",
  "<tel:+1234>",
  "tel:+1234;tag=5",
  "<isbn:12345>",
  "http://x/y;tag=1",
  "<sip:a;b=c@d>",
  "sip:a;b=c@d",
  "<sip:[::1]:5060>",
  'sip:a@b;x="<"',
  "<sip:%00@b>",
  "<sip:%zz@b>",
  "<sip:a@b>;q=0.5",
  "<sip:a@b>;expires=60",
  "<sip:a@b>;q=2",
  "<sip:a@b>;expires=x",
  "*",
  "",
  "<>",
  "<sip:a@b:99999>",
  "<sip:a@b>junk",
];
const URIS = [
  "sip:a@b",
  "sip:a@b?h=1",
  "sips:a:p@b:5061;transport=tls",
  "tel:+1-201-555-0123",
  "urn:x:y",
  "sip:2001:db8::10",
  "sip:[2001:db8::10]",
  "sip:a@",
  "<sip:a@b>",
  "sip:a b",
  "nobodyKnowsThisScheme:totallyopaquecontent",
  "sip:a@b;lr;x=1",
  "sip:a@b;",
  "sip:%41@b",
];

test("VIA accepts exactly what parseVia() accepts", () => {
  for (const v of VIAS) assert.equal(VIA.test(v), accepts(() => parseVia(v)), v);
});

test("FROM_TO accepts exactly what parseNameAddress() accepts", () => {
  for (const v of NAME_ADDRS) {
    if (v === "*") continue;
    assert.equal(FROM_TO.test(v), accepts(() => parseNameAddress(v, "From")), v);
  }
});

test("CONTACT accepts exactly what parseContact() accepts", () => {
  for (const v of NAME_ADDRS) {
    if (v === "*") continue;
    assert.equal(CONTACT.test(v), accepts(() => parseContact(v)), v);
  }
});

test("REQUEST_URI accepts what parseUri() accepts, minus URI headers", () => {
  for (const u of URIS) {
    const parsed = accepts(() => parseUri(u)) && !(u.includes("?") && u.startsWith("sip"));
    assert.equal(REQUEST_URI.test(u), parsed, u);
  }
});

test("the grammar agrees with the views on every torture-test header", () => {
  for (const c of [...torture("rfc4475"), ...torture("rfc5118")]) {
    const text = new TextDecoder().decode(c.bytes);
    const head = text.slice(0, text.indexOf("\r\n\r\n")).replace(/[ \t]*\r\n[ \t]+/g, " ");
    for (const line of head.split("\r\n").slice(1)) {
      const colon = line.indexOf(":");
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === "via" || name === "v") {
        for (const v of splitHeaderList(value)) {
          assert.equal(
            VIA.test(v),
            accepts(() => parseVia(v)),
            `${c.name}: ${v}`,
          );
        }
      } else if (["from", "f", "to", "t"].includes(name)) {
        assert.equal(FROM_TO.test(value), accepts(() => parseNameAddress(value, "To")), `${c.name}: ${value}`);
      } else if ((name === "contact" || name === "m") && value !== "*") {
        for (const v of splitHeaderList(value)) {
          assert.equal(
            CONTACT.test(v),
            accepts(() => parseContact(v)),
            `${c.name}: ${v}`,
          );
        }
      }
    }
  }
});
