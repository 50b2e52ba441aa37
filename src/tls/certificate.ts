/**
 * A TLS certificate made at start, with nothing but WebCrypto (`crypto.subtle`, in Deno, Bun
 * and Node.js alike): a self-signed CA and a leaf it signs, X.509 v3 (RFC 5280), ECDSA P-256
 * keys (RFC 5480) and ECDSA with SHA-256 signatures (RFC 5758 §3.2), in PEM (RFC 7468).
 *
 * @module
 */

import {
  _bitString,
  _boolean,
  _explicit,
  _implicit,
  _integer,
  _namedBits,
  _octetString,
  _oid,
  _readTlv,
  _sequence,
  _set,
  _time,
  _utf8String,
} from "./der.ts";
import { parseIpv4, parseIpv6 } from "../sip/ip.ts";

/** The names a made certificate holds by default: loopback by name and by address. */
export const DEFAULT_CERTIFICATE_NAMES: readonly string[] = ["localhost", "127.0.0.1", "::1"];
/** How long a made certificate is valid by default, days (from an hour before it was made). */
export const DEFAULT_CERTIFICATE_DAYS = 30;

/**
 * What {@linkcode makeCertificate} makes a certificate for.
 *
 * @example
 * ```ts
 * import type { CertificateOptions } from "@sipecho/sipecho/net";
 * import assert from "node:assert/strict";
 *
 * const options: CertificateOptions = { names: ["sip.example.test", "192.0.2.10"], days: 7 };
 * assert.equal(options.names?.length, 2);
 * ```
 */
export interface CertificateOptions {
  /**
   * The DNS names and IP addresses of the leaf's subjectAltName (RFC 5280 §4.2.1.6), which a
   * client checks against the host it connects to (RFC 5922 §7.2); default
   * {@linkcode DEFAULT_CERTIFICATE_NAMES}.
   */
  names?: readonly string[];
  /** Days of validity, counted from now (default {@linkcode DEFAULT_CERTIFICATE_DAYS}; 1 to 3650). */
  days?: number;
  /** The subject common name of the leaf (default `sipecho`); the CA's is it with ` CA`. */
  commonName?: string;
  /** The time to count from (default now); validity starts an hour before it, for clocks a little behind. */
  now?: Date;
}

/**
 * A certificate made by {@linkcode makeCertificate}: what a server presents, and what a
 * client trusts or pins.
 *
 * @example
 * ```ts
 * import { makeCertificate, type MadeCertificate } from "@sipecho/sipecho/net";
 * import assert from "node:assert/strict";
 *
 * const made: MadeCertificate = await makeCertificate();
 * assert.ok(made.cert.startsWith("-----BEGIN CERTIFICATE-----"));
 * assert.ok(made.key.startsWith("-----BEGIN PRIVATE KEY-----"));
 * ```
 */
export interface MadeCertificate {
  /** The chain a server presents, PEM: the leaf, then the CA. */
  readonly cert: string;
  /** The leaf's private key, PKCS #8 PEM (RFC 5208, RFC 5915). */
  readonly key: string;
  /** The CA certificate, PEM: what a client trusts. The CA's key is not kept. */
  readonly ca: string;
  /** The SHA-256 fingerprint of the leaf (its DER), colon hex: `AB:CD:...` (32 octets). */
  readonly fingerprint: string;
  /** The SHA-256 fingerprint of the CA, colon hex. */
  readonly caFingerprint: string;
  /** The DNS names and IP addresses the leaf is for. */
  readonly names: readonly string[];
  /** When both certificates start to be valid. */
  readonly notBefore: Date;
  /** When both stop being valid. */
  readonly notAfter: Date;
}

// RFC 5758 §3.2, RFC 5280 §4.1.2.4 and §4.2.1 (the key's id-ecPublicKey and secp256r1 of RFC 5480
// §2.1.1 are written by exportKey("spki")).
const OID_ECDSA_SHA256 = "1.2.840.10045.4.3.2";
const OID_COMMON_NAME = "2.5.4.3";
const OID_ORGANIZATION = "2.5.4.10";
const OID_SUBJECT_KEY_ID = "2.5.29.14";
const OID_KEY_USAGE = "2.5.29.15";
const OID_SUBJECT_ALT_NAME = "2.5.29.17";
const OID_BASIC_CONSTRAINTS = "2.5.29.19";
const OID_AUTHORITY_KEY_ID = "2.5.29.35";
const OID_EXT_KEY_USAGE = "2.5.29.37";
const OID_SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const OID_CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

/** The ECDSA P-256 key pair parameters of WebCrypto. */
const EC_KEY = { name: "ECDSA", namedCurve: "P-256" } as const;
const EC_SIGN = { name: "ECDSA", hash: "SHA-256" } as const;

/**
 * Makes a CA certificate and a leaf certificate it signs, for a TLS server on the given names.
 * A new key pair each, ECDSA P-256; the leaf is for serverAuth and clientAuth, valid for
 * `names` only. Nothing is written to disk.
 *
 * @param options The names (default localhost, 127.0.0.1 and ::1), the days of validity.
 * @returns The chain and key in PEM, the CA to trust, the fingerprints.
 * @throws {RangeError} (rejects) For a name that is neither an IP address nor a DNS name, no
 *   names, or days out of 1..3650.
 *
 * @example
 * ```ts
 * import { makeCertificate } from "@sipecho/sipecho/net";
 * import assert from "node:assert/strict";
 *
 * const made = await makeCertificate({ names: ["localhost", "127.0.0.1"], days: 1 });
 * assert.match(made.fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
 * assert.equal(made.notAfter.getTime() - made.notBefore.getTime(), 25 * 3600_000);
 * ```
 */
export async function makeCertificate(options: CertificateOptions = {}): Promise<MadeCertificate> {
  const names = options.names ?? DEFAULT_CERTIFICATE_NAMES;
  if (names.length === 0) throw new RangeError("makeCertificate(): no names for the certificate");
  const altNames = names.map(_generalName);
  const days = options.days ?? DEFAULT_CERTIFICATE_DAYS;
  if (!Number.isInteger(days) || days < 1 || days > 3650) {
    throw new RangeError(`makeCertificate(): days must be an integer 1..3650, not ${days}`);
  }
  const commonName = options.commonName ?? "sipecho";
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000) * 1000;
  const notBefore = new Date(now - 3600_000);
  const notAfter = new Date(now + days * 86400_000);
  const validity = _sequence([_time(notBefore), _time(notAfter)]);

  const caKeys = await crypto.subtle.generateKey(EC_KEY, false, ["sign", "verify"]);
  const leafKeys = await crypto.subtle.generateKey(EC_KEY, true, ["sign", "verify"]);
  const caSpki = new Uint8Array(await crypto.subtle.exportKey("spki", caKeys.publicKey));
  const leafSpki = new Uint8Array(await crypto.subtle.exportKey("spki", leafKeys.publicKey));
  const caKeyId = await _keyIdentifier(caSpki);
  const caName = _name(`${commonName} CA`);

  // RFC 5280 §4.2.1.9, §4.2.1.3: a CA that signs certificates and CRLs, no further CA below it.
  const ca = await _sign(caKeys.privateKey, [
    _explicit(0, _integer(2)), // v3 (§4.1.2.1)
    _integer(_serial()),
    _sequence([_oid(OID_ECDSA_SHA256)]),
    caName,
    validity,
    caName,
    caSpki,
    _explicit(
      3,
      _sequence([
        _extension(OID_BASIC_CONSTRAINTS, true, _sequence([_boolean(true), _integer(0)])),
        _extension(OID_KEY_USAGE, true, _namedBits([5, 6])), // keyCertSign, cRLSign
        _extension(OID_SUBJECT_KEY_ID, false, _octetString(caKeyId)),
      ]),
    ),
  ]);
  // The leaf: not a CA, signs the TLS handshake (digitalSignature, for ECDHE-ECDSA), for
  // servers and clients (RFC 5280 §4.2.1.12); RFC 5922 §7.1 names a SIP server in its
  // subjectAltName, and the subject names nothing a client checks.
  const leaf = await _sign(caKeys.privateKey, [
    _explicit(0, _integer(2)),
    _integer(_serial()),
    _sequence([_oid(OID_ECDSA_SHA256)]),
    caName,
    validity,
    _name(commonName),
    leafSpki,
    _explicit(
      3,
      _sequence([
        _extension(OID_BASIC_CONSTRAINTS, true, _sequence([])),
        _extension(OID_KEY_USAGE, true, _namedBits([0])),
        _extension(OID_EXT_KEY_USAGE, false, _sequence([_oid(OID_SERVER_AUTH), _oid(OID_CLIENT_AUTH)])),
        _extension(OID_SUBJECT_ALT_NAME, false, _sequence(altNames)),
        _extension(OID_SUBJECT_KEY_ID, false, _octetString(await _keyIdentifier(leafSpki))),
        _extension(OID_AUTHORITY_KEY_ID, false, _sequence([_implicit(0, caKeyId)])),
      ]),
    ),
  ]);
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", leafKeys.privateKey));
  const caPem = pem("CERTIFICATE", ca);
  return {
    cert: pem("CERTIFICATE", leaf) + caPem,
    key: pem("PRIVATE KEY", pkcs8),
    ca: caPem,
    fingerprint: await fingerprint(leaf),
    caFingerprint: await fingerprint(ca),
    names: [...names],
    notBefore,
    notAfter,
  };
}

/**
 * The SHA-256 fingerprint of a certificate, in the colon hex form of OpenSSL and of SDP's
 * `a=fingerprint` (RFC 8122 §5): upper case, two digits an octet.
 *
 * @param der The certificate, DER; or PEM, whose first certificate is taken.
 * @returns `AB:CD:...`, 32 octets.
 * @throws {TypeError} (rejects) For PEM with no certificate in it.
 *
 * @example
 * ```ts
 * import { fingerprint, makeCertificate } from "@sipecho/sipecho/net";
 * import assert from "node:assert/strict";
 *
 * const made = await makeCertificate();
 * assert.equal(await fingerprint(made.cert), made.fingerprint); // the leaf comes first
 * assert.equal(await fingerprint(made.ca), made.caFingerprint);
 * ```
 */
export async function fingerprint(der: Uint8Array | string): Promise<string> {
  const bytes = typeof der === "string" ? pemDecode(der, "CERTIFICATE")[0] : der;
  if (bytes === undefined) throw new TypeError("fingerprint(): no -----BEGIN CERTIFICATE----- in the text");
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return [...digest].map((b) => b.toString(16).padStart(2, "0").toUpperCase()).join(":");
}

/**
 * PEM text (RFC 7468 §2): base64 in lines of 64 between the BEGIN and END lines of `label`.
 *
 * @param label E.g. `CERTIFICATE`, `PRIVATE KEY`.
 * @param der The DER bytes.
 * @returns The PEM text, ending in a newline.
 */
export function pem(label: string, der: Uint8Array): string {
  let binary = "";
  for (const b of der) binary += String.fromCharCode(b);
  const lines = btoa(binary).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/**
 * The DER of each PEM block of `label` in a text, in order.
 *
 * @param text PEM text.
 * @param label E.g. `CERTIFICATE`.
 * @returns The blocks' bytes (none when there is none).
 */
export function pemDecode(text: string, label: string): Uint8Array[] {
  const re = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]*)-----END ${label}-----`, "g");
  return [...text.matchAll(re)].map((m) => Uint8Array.from(atob(m[1].replace(/\s+/g, "")), (c) => c.charCodeAt(0)));
}

/** The TBSCertificate signed by `key`: Certificate (RFC 5280 §4.1.1). */
async function _sign(key: CryptoKey, tbsParts: readonly Uint8Array[]): Promise<Uint8Array> {
  const tbs = _sequence(tbsParts);
  const raw = new Uint8Array(await crypto.subtle.sign(EC_SIGN, key, tbs as Uint8Array<ArrayBuffer>));
  // WebCrypto gives r || s, each 32 octets; X.509 wants Ecdsa-Sig-Value, a SEQUENCE of the two
  // INTEGERs (RFC 5480 §2.2 via RFC 3279 §2.2.3).
  const signature = _sequence([_integer(raw.subarray(0, raw.length / 2)), _integer(raw.subarray(raw.length / 2))]);
  return _sequence([tbs, _sequence([_oid(OID_ECDSA_SHA256)]), _bitString(signature)]);
}

/** An Extension (RFC 5280 §4.1): its id, critical when set, and its value's DER in an OCTET STRING. */
function _extension(oid: string, critical: boolean, value: Uint8Array): Uint8Array {
  return _sequence(critical ? [_oid(oid), _boolean(true), _octetString(value)] : [_oid(oid), _octetString(value)]);
}

/** A Name (RFC 5280 §4.1.2.4) of an organization `sipecho` and a common name, UTF8String. */
function _name(commonName: string): Uint8Array {
  return _sequence([
    _set([_sequence([_oid(OID_ORGANIZATION), _utf8String("sipecho")])]),
    _set([_sequence([_oid(OID_COMMON_NAME), _utf8String(commonName)])]),
  ]);
}

/** A positive serial number of 16 random octets (RFC 5280 §4.1.2.2: at most 20). */
function _serial(): Uint8Array {
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] = (serial[0] & 0x7f) | 0x01; // positive, and no leading zero to drop
  return serial;
}

/** RFC 5280 §4.2.1.2 (1): the SHA-1 of the subjectPublicKey BIT STRING's bits. */
async function _keyIdentifier(spki: Uint8Array): Promise<Uint8Array> {
  const outer = _readTlv(spki, 0);
  const algorithm = _readTlv(spki, outer.start);
  const key = _readTlv(spki, algorithm.end);
  const bits = spki.subarray(key.start + 1, key.end); // past the unused-bits octet
  return new Uint8Array(await crypto.subtle.digest("SHA-1", bits as Uint8Array<ArrayBuffer>));
}

/**
 * A GeneralName of subjectAltName (RFC 5280 §4.2.1.6): `iPAddress` (4 or 16 octets) for an IP
 * address, else `dNSName` (IA5String, a preferred name syntax host name, RFC 1034 §3.5, with
 * an optional leading `*.`).
 */
function _generalName(name: string): Uint8Array {
  const text = name.startsWith("[") && name.endsWith("]") ? name.slice(1, -1) : name;
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return _implicit(7, new Uint8Array(v4));
  const v6 = parseIpv6(text);
  if (v6 !== undefined) return _implicit(7, new Uint8Array(v6.flatMap((g) => [g >> 8, g & 0xff])));
  if (
    text.length > 253 ||
    !/^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(text)
  ) {
    throw new RangeError(`makeCertificate(): "${name}" is neither an IP address nor a DNS name`);
  }
  return _implicit(2, new TextEncoder().encode(text));
}

/**
 * A SHA-256 fingerprint as {@linkcode fingerprint} writes it: upper case, colons between the
 * octets; given with or without colons, in either case.
 *
 * @param text The fingerprint.
 * @returns It in colon hex.
 * @throws {TypeError} When it is not 32 octets of hex.
 *
 * @example
 * ```ts
 * import { normalizeFingerprint } from "@sipecho/sipecho/net";
 * import assert from "node:assert/strict";
 *
 * assert.equal(normalizeFingerprint("ab".repeat(32)), Array(32).fill("AB").join(":"));
 * assert.throws(() => normalizeFingerprint("AB:CD"), TypeError);
 * ```
 */
export function normalizeFingerprint(text: string): string {
  const hex = text.trim().replace(/^sha-?256\s+/i, "").replaceAll(":", "").toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) {
    throw new TypeError(`"${text}" is not a SHA-256 fingerprint (32 octets of hex, e.g. AB:CD:...)`);
  }
  return hex.match(/../g)!.join(":");
}
