// The eager checks in src/grammar.ts must accept exactly what the lazy views accept:
// a value the parser lets through must never make a view throw later.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  CALL_ID,
  CONTACT,
  FROM_TO,
  isCallId,
  isPlainAddress,
  isPlainRequestUri,
  isPlainVia,
  REQUEST_URI,
  scanCallId,
  scanPlainAddress,
  scanPlainRequestUri,
  scanPlainVia,
  VIA,
} from "../../src/sip/grammar.ts";
import { parseContact, parseNameAddress, parseVia, splitHeaderList } from "../../src/sip/mod.ts";
import { parseUri } from "../../mod.ts";
import { dataFile, torture } from "../_data.ts";

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

// The fast paths of grammar.ts may be narrower than the expressions, never wider: a value a fast
// path accepts must match its expression. They are tried on the lists above, on every header of
// the torture tests and of the benchmark corpus, and on many variants of those (characters put
// in, taken out and replaced), drawn by a fixed seed.

const encoder = new TextEncoder();
/** The value followed by CRLF, as the parser hands it over: [bytes, end of the value]. */
function wire(value: string): [Uint8Array, number] {
  const bytes = encoder.encode(value + "\r\n");
  return [bytes, bytes.length - 2];
}

/** Every value of the named headers (long and compact names) in the torture tests and corpus. */
function headerValues(names: string[]): string[] {
  const files = [...torture("rfc4475"), ...torture("rfc5118")].map((c) => c.bytes);
  for (const name of ["bye", "invite-softphone", "message-compact", "ok-invite", "options-ping", "register-auth"]) {
    files.push(dataFile(`corpus/${name}.sip`));
  }
  const out: string[] = [];
  for (const bytes of files) {
    const text = new TextDecoder().decode(bytes);
    const head = text.slice(0, text.indexOf("\r\n\r\n")).replace(/[ \t]*\r\n[ \t]+/g, " ");
    for (const line of head.split("\r\n").slice(1)) {
      const colon = line.indexOf(":");
      if (names.includes(line.slice(0, colon).trim().toLowerCase())) out.push(line.slice(colon + 1).trim());
    }
  }
  return out;
}

const PIECES = [" ", "\t", ":", ";", ",", '"', "\\", "<", ">", "@", "=", "%", "%4", "%41", "[", "]", "?", "&", "/"]
  .concat(["é", "\r", "0", "9", "65536", "-", ".", "*", "tag=", "branch=", "rport", "q=", "expires=", "ttl=", "sip:"]);

/** Variants of the values: characters put in, taken out and replaced, by a fixed seed. */
function variants(values: string[], count: number): string[] {
  let seed = 4475;
  const random = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
  const out = [...values];
  for (let n = 0; n < count; n++) {
    let v = values[random(values.length)];
    for (let k = 1 + random(3); k > 0; k--) {
      const at = random(v.length + 1);
      const piece = PIECES[random(PIECES.length)];
      const op = random(3);
      v = op === 0
        ? v.slice(0, at) + piece + v.slice(at)
        : op === 1
        ? v.slice(0, at) + v.slice(at + 1 + random(3))
        : v.slice(0, at) + piece + v.slice(at + piece.length);
    }
    out.push(v);
  }
  return out;
}

/** The list elements of a value, as validate() checks them. */
function elements(value: string): string[] {
  return value.indexOf(",") < 0 ? [value] : splitHeaderList(value);
}

test("isPlainVia() accepts no Via value that VIA rejects, and the common ones", () => {
  const values = [...VIAS, ...headerValues(["via", "v"])];
  for (const v of variants(values, 20000)) {
    const [bytes, end] = wire(v);
    if (isPlainVia(bytes, 0, end)) assert.ok(elements(v).every((e) => VIA.test(e)), v);
  }
  for (const v of headerValues(["via", "v"]).filter((v) => !/[ \t]\/|\/[ \t]|[ \t];|;[ \t]|[ \t]=|=[ \t]/.test(v))) {
    if (!elements(v).every((e) => VIA.test(e))) continue;
    const [bytes, end] = wire(v);
    if (!/\[|"/.test(v)) assert.ok(isPlainVia(bytes, 0, end), `fast path refuses ${v}`);
  }
  const [bytes, end] = wire("SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK776asdhds;rport");
  assert.ok(isPlainVia(bytes, 0, end));
});

test("isPlainAddress() accepts no From, To or Contact value that FROM_TO or CONTACT rejects", () => {
  const values = [...NAME_ADDRS.filter((v) => v !== "*"), ...headerValues(["from", "f", "to", "t", "contact", "m"])];
  for (const v of variants(values, 20000)) {
    const [bytes, end] = wire(v);
    if (isPlainAddress(bytes, 0, end, false)) assert.ok(FROM_TO.test(v), v);
    if (isPlainAddress(bytes, 0, end, true)) assert.ok(v !== "*" && elements(v).every((e) => CONTACT.test(e)), v);
  }
  for (const v of ['"Alice Liddell" <sip:alice@atlanta.example.com>;tag=1928301774', "Bob <sips:bob@b.example.com>"]) {
    const [bytes, end] = wire(v);
    assert.ok(isPlainAddress(bytes, 0, end, false), v);
  }
});

test("isPlainRequestUri() accepts no Request-URI that REQUEST_URI rejects", () => {
  for (const u of variants([...URIS, "sip:echo@198.51.100.7:5060;transport=udp", "sips:[2001:db8::10]:5061"], 20000)) {
    const [bytes, end] = wire(u);
    if (isPlainRequestUri(bytes, 0, end)) assert.ok(REQUEST_URI.test(u), u);
  }
});

test("isCallId() agrees with CALL_ID everywhere", () => {
  const values = [...headerValues(["call-id", "i"]), "a@b", "@a", "a@", "a@b@c", "a b", "ab\u00e9"];
  for (const v of variants(values, 20000)) {
    const bytes = encoder.encode(v);
    if (bytes.length !== v.length) continue; // the bytes are not the characters
    assert.equal(isCallId(bytes, 0, bytes.length), CALL_ID.test(v), v);
  }
});

test("the scan forms stop at the end of the line, where the value ends", () => {
  const line = encoder.encode(
    "SIP/2.0/UDP h;branch=z9hG4bK1\r\n<sip:a@b>;tag=1\r\nabc@d\r\nsip:a@b SIP/2.0\r\n",
  );
  assert.equal(scanPlainVia(line, 0, line.length), 29);
  assert.equal(scanPlainAddress(line, 31, line.length, false), 46);
  assert.equal(scanCallId(line, 48, line.length), 53);
  assert.equal(scanPlainRequestUri(line, 55, line.length), 62);
  // A quoted string never runs past the end of its line.
  const open = encoder.encode('"A <sip:a@b>\r\nX: "\r\n');
  assert.equal(scanPlainAddress(open, 0, open.length, false), -1);
});
