// parseChallenge(), parseCredentials(), formatChallenge(), formatCredentials(): the Digest
// header values of RFC 3261 §25.1 and RFC 7616 §3.3, §3.4, read and written.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { type DigestChallenge, parseChallenge, parseCredentials } from "../../src/auth/parse_digest.ts";
import { formatChallenge, formatCredentials } from "../../src/auth/format_digest.ts";
import { digestAlgorithm } from "../../src/auth/algorithm.ts";
import { HeaderError } from "../../src/sip/header_values.ts";

// RFC 7616 §3.9.1, unfolded.
const RFC7616_CHALLENGE = 'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, ' +
  'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"';
const RFC7616_CREDENTIALS = 'Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", ' +
  'algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, ' +
  'cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, ' +
  'response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", ' +
  'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"';

function throwsHeader(fn: () => unknown, header: string, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof HeaderError, `a HeaderError, got ${e}`);
    assert.equal(e.header, header);
    assert.match(e.message, message);
    return true;
  });
}

describe("parseChallenge()", () => {
  test("parseChallenge() reads the RFC 7616 §3.9.1 challenge", () => {
    assert.deepEqual(parseChallenge(RFC7616_CHALLENGE), {
      realm: "http-auth@example.org",
      nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
      opaque: "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",
      algorithm: "SHA-256",
      qop: ["auth", "auth-int"],
      params: {},
    });
  });

  test("parseChallenge() takes names and the scheme in any case, LWS and folded lines around = and ,", () => {
    const c = parseChallenge('digest REALM = "a.example" ,\r\n\tNonce="n1",Stale=FALSE,algorithm="md5-Sess"');
    assert.equal(c.realm, "a.example");
    assert.equal(c.nonce, "n1");
    assert.equal(c.stale, false);
    assert.equal(c.algorithm, "MD5-sess");
  });

  test("parseChallenge() unescapes quoted-pairs and keeps commas inside quotes", () => {
    const c = parseChallenge('Digest realm="a \\"quoted\\" realm, with \\\\ comma", nonce="x"');
    assert.equal(c.realm, 'a "quoted" realm, with \\ comma');
  });

  test("parseChallenge() keeps unknown parameters and an unknown algorithm as written", () => {
    const c = parseChallenge('Digest realm="r", nonce="n", algorithm=SHA-1-Foo, X-Thing="a b", other=tok');
    assert.equal(c.algorithm, "SHA-1-Foo");
    assert.equal(digestAlgorithm(c.algorithm!), undefined);
    assert.deepEqual(c.params, { "x-thing": "a b", other: "tok" });
  });

  test("parseChallenge() reads domain, charset and userhash", () => {
    const c = parseChallenge(
      'Digest realm="r", domain="sip:a.example sip:b.example", nonce="n", charset=UTF-8, userhash=true',
    );
    assert.equal(c.domain, "sip:a.example sip:b.example");
    assert.equal(c.charset, "UTF-8");
    assert.equal(c.userhash, true);
  });

  test("parseChallenge() names the header and the problem", () => {
    throwsHeader(() => parseChallenge('Basic realm="r"'), "WWW-Authenticate", /scheme "Basic" is not Digest/);
    throwsHeader(
      () => parseChallenge('Digest nonce="n"', "Proxy-Authenticate"),
      "Proxy-Authenticate",
      /realm .*missing/,
    );
    throwsHeader(() => parseChallenge('Digest realm="r"'), "WWW-Authenticate", /nonce parameter is missing/);
    throwsHeader(() => parseChallenge("Digest"), "WWW-Authenticate", /Digest has no parameters/);
    throwsHeader(() => parseChallenge(""), "WWW-Authenticate", /auth scheme is missing/);
    throwsHeader(() => parseChallenge('Digest realm="r", nonce="n'), "WWW-Authenticate", /"nonce" is not closed/);
    throwsHeader(
      () => parseChallenge('Digest realm="r", realm="s", nonce="n"'),
      "WWW-Authenticate",
      /"realm" is given twice/,
    );
    throwsHeader(() => parseChallenge('Digest realm="r", nonce="n", stale=maybe'), "WWW-Authenticate", /stale "maybe"/);
    throwsHeader(
      () => parseChallenge('Digest realm="r" nonce="n"'),
      "WWW-Authenticate",
      /expected "," after parameter "realm"/,
    );
    throwsHeader(() => parseChallenge('Digest realm="r", nonce'), "WWW-Authenticate", /"nonce" has no "="/);
    throwsHeader(() => parseChallenge('Digest realm="r", nonce=,'), "WWW-Authenticate", /"nonce" has "," where/);
    throwsHeader(() => parseChallenge('Digest realm="r", nonce="n",'), "WWW-Authenticate", /after the last ","/);
    throwsHeader(() => parseChallenge('Digest realm="r", nonce="n", qop="auth,"'), "WWW-Authenticate", /qop "auth,"/);
    throwsHeader(() => parseChallenge('Digest realm="r", nonce="a\\\r\n b"'), "WWW-Authenticate", /not closed/);
  });
});

describe("parseCredentials()", () => {
  test("parseCredentials() reads the RFC 7616 §3.9.1 credentials", () => {
    assert.deepEqual(parseCredentials(RFC7616_CREDENTIALS), {
      username: "Mufasa",
      realm: "http-auth@example.org",
      nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
      uri: "/dir/index.html",
      response: "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
      algorithm: "SHA-256",
      cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
      opaque: "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",
      qop: "auth",
      nc: "00000001",
      params: {},
    });
  });

  test("parseCredentials() reads RFC 2069 credentials (no qop), as RFC 3261 §22.4 keeps them", () => {
    const c = parseCredentials(
      'Digest username="bob", realm="biloxi.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", ' +
        'uri="sip:bob@biloxi.com", response="245f23415f11432b3434341c022"',
      "Proxy-Authorization",
    );
    assert.equal(c.qop, undefined);
    assert.equal(c.nc, undefined);
    assert.equal(c.algorithm, undefined);
  });

  test("parseCredentials() takes a quoted qop and a quoted nc, as some phones send them", () => {
    const c = parseCredentials(
      'Digest username="a", realm="r", nonce="n", uri="u", response="ab", qop="auth", nc="0000000a", cnonce="c"',
    );
    assert.equal(c.qop, "auth");
    assert.equal(c.nc, "0000000a");
  });

  test("parseCredentials() names the header and the problem", () => {
    const base = 'Digest username="a", realm="r", nonce="n", uri="sip:x@y", response="0f"';
    throwsHeader(
      () => parseCredentials('Digest realm="r", nonce="n", uri="u", response="0f"'),
      "Authorization",
      /username parameter is missing/,
    );
    throwsHeader(
      () => parseCredentials('Digest username="a", realm="r", nonce="n", response="0f"', "Proxy-Authorization"),
      "Proxy-Authorization",
      /uri parameter is missing/,
    );
    throwsHeader(
      () => parseCredentials('Digest username="a", realm="r", nonce="n", uri="u"'),
      "Authorization",
      /response parameter is missing/,
    );
    throwsHeader(() => parseCredentials(base.replace('"0f"', '"xyz"')), "Authorization", /response "xyz" is not hex/);
    throwsHeader(
      () => parseCredentials(`${base}, qop=auth, nc=1, cnonce="c"`),
      "Authorization",
      /nc "1" is not 8 hex digits/,
    );
    throwsHeader(
      () => parseCredentials(`${base}, qop=auth, nc=00000001`),
      "Authorization",
      /qop is given without cnonce/,
    );
    throwsHeader(() => parseCredentials(`${base}, qop=auth, cnonce="c"`), "Authorization", /qop is given without nc/);
    throwsHeader(() => parseCredentials(`${base}, nc=00000001`), "Authorization", /nc is given without qop/);
    throwsHeader(() => parseCredentials(`${base}, cnonce="c"`), "Authorization", /cnonce is given without qop/);
    throwsHeader(
      () => parseCredentials(`${base}, qop="auth,auth-int", nc=00000001, cnonce="c"`),
      "Authorization",
      /qop "auth,auth-int" is not a token/,
    );
    throwsHeader(() => parseCredentials(`${base}, USERNAME="b"`), "Authorization", /"username" is given twice/);
  });
});

describe("formatChallenge() and formatCredentials()", () => {
  test("formatChallenge() quotes realm, domain, nonce, opaque and the qop list; not stale, algorithm, charset", () => {
    const challenge: DigestChallenge = {
      realm: 'r "1"',
      domain: "sip:a sip:b",
      nonce: "n\\1",
      opaque: "o",
      stale: true,
      algorithm: "SHA-512-256-sess",
      qop: ["auth", "auth-int"],
      charset: "UTF-8",
      userhash: false,
      params: { "x-a": "tok", "x-b": "two words" },
    };
    const text = formatChallenge(challenge);
    assert.equal(
      text,
      'Digest realm="r \\"1\\"", domain="sip:a sip:b", nonce="n\\\\1", opaque="o", stale=true, ' +
        'algorithm=SHA-512-256-sess, qop="auth,auth-int", charset=UTF-8, userhash=false, x-a=tok, x-b="two words"',
    );
    assert.deepEqual(parseChallenge(text), challenge);
  });

  test("the RFC 7616 §3.9.1 challenge and credentials survive parse, format and parse", () => {
    const challenge = parseChallenge(RFC7616_CHALLENGE);
    assert.deepEqual(parseChallenge(formatChallenge(challenge, "Proxy-Authenticate"), "Proxy-Authenticate"), challenge);
    const credentials = parseCredentials(RFC7616_CREDENTIALS);
    const text = formatCredentials(credentials);
    assert.match(text, /, qop=auth, nc=00000001/);
    assert.match(text, /uri="\/dir\/index\.html"/);
    assert.deepEqual(parseCredentials(text), credentials);
  });

  test("formatCredentials() round-trips unknown parameters and userhash", () => {
    const credentials = parseCredentials(
      'Digest username="a\\\\b", realm="r", nonce="n", uri="sip:a@b;transport=tcp", response="00ff", userhash=true, x="1, 2"',
    );
    assert.equal(credentials.username, "a\\b");
    assert.deepEqual(credentials.params, { x: "1, 2" });
    assert.deepEqual(parseCredentials(formatCredentials(credentials)), credentials);
  });

  test("the formatters refuse what no header can carry, naming the header", () => {
    const challenge: DigestChallenge = { realm: "r", nonce: "n", params: {} };
    assert.throws(
      () => formatChallenge({ ...challenge, realm: "a\r\nVia: x" }, "Proxy-Authenticate"),
      new RangeError("Cannot format Proxy-Authenticate: realm holds a line break"),
    );
    assert.throws(
      () => formatChallenge({ ...challenge, algorithm: "SHA 256" }),
      new RangeError('Cannot format WWW-Authenticate: algorithm "SHA 256" is not a token'),
    );
    assert.throws(() => formatChallenge({ ...challenge, qop: ["auth", ""] }), /qop "" is not a token/);
    assert.throws(
      () => formatChallenge({ ...challenge, params: { Realm: "x" } }),
      /"Realm" in params repeats a known parameter/,
    );
    assert.throws(
      () => formatChallenge({ ...challenge, params: { "a b": "x" } }),
      /parameter name "a b" is not a token/,
    );
    const credentials = { username: "u", realm: "r", nonce: "n", uri: "sip:x", response: "00", params: {} };
    assert.throws(
      () => formatCredentials({ ...credentials, nc: "1" }),
      new RangeError('Cannot format Authorization: nc "1" is not 8 hex digits'),
    );
    assert.throws(
      () => formatCredentials({ ...credentials, uri: "sip:x\n" }, "Proxy-Authorization"),
      /Proxy-Authorization: uri holds/,
    );
  });
});
