/**
 * Digest authentication in the rules format (RFC 3261 §22): the `auth` of a rules file's top
 * level ({@linkcode AuthConfig}: realm, users, which methods need it) and the `auth` modifier of a
 * rule ({@linkcode AuthSpec}: `true`, `false`, or the global settings with some replaced),
 * checked with errors that name the file and the JSON path.
 *
 * @module
 */

import { DIGEST_ALGORITHMS, type DigestAlgorithm, digestAlgorithm } from "../auth/algorithm.ts";
import { _parseJson } from "./json.ts";
import { _checkKeys, type _Context, _describe, _fail, _get, _hasControl, _isObject, _key, _TOKEN } from "./validate.ts";

/**
 * A user of digest authentication: a password, or H(A1) per hash (`digestHA1` of user, realm and
 * password, hex), so that the password need not be written down. The same shape as the
 * challenger's `DigestUser`.
 *
 * @example
 * ```ts
 * import type { AuthUser } from "@sipecho/sipecho/rules";
 * const alice: AuthUser = { password: "secret" };
 * const bob: AuthUser = { ha1: { MD5: "939e7578ed9e3c518a452acee763bce9" } };
 * ```
 */
export type AuthUser =
  | { readonly password: string }
  | { readonly ha1: Readonly<Partial<Record<"MD5" | "SHA-256" | "SHA-512-256", string>>> };

/**
 * The digest settings of a rule (the `auth` modifier given as an object), each replacing the
 * global one ({@linkcode AuthConfig}) for the requests the rule answers.
 *
 * @example
 * ```ts
 * import type { AuthSpec } from "@sipecho/sipecho/rules";
 * const spec: AuthSpec = { realm: "pbx.example.com", users: { alice: { password: "secret" } }, proxy: true };
 * ```
 */
export interface AuthSpec {
  /** The realm (RFC 3261 §22.1); default the global one, else `sipecho`. */
  readonly realm?: string;
  /** The users by name: a password, or H(A1) per hash (`MD5`, `SHA-256`, `SHA-512-256`). */
  readonly users?: Readonly<Record<string, AuthUser>>;
  /** `true`: 407 with Proxy-Authenticate (RFC 3261 §22.3) instead of 401 with WWW-Authenticate. */
  readonly proxy?: boolean;
  /** The algorithms offered, one challenge each, in this order (default {@linkcode DEFAULT_AUTH_ALGORITHMS}). */
  readonly algorithms?: readonly DigestAlgorithm[];
}

/**
 * The global digest settings: those of {@linkcode AuthSpec}, and which methods need
 * authentication outside a dialog when no rule says otherwise.
 *
 * @example
 * ```ts
 * import type { AuthConfig } from "@sipecho/sipecho/rules";
 * const config: AuthConfig = { realm: "sipecho", users: { alice: { password: "secret" } }, methods: ["REGISTER"] };
 * ```
 */
export interface AuthConfig extends AuthSpec {
  /**
   * The methods challenged outside a dialog (default {@linkcode DEFAULT_AUTH_METHODS}); `[]`:
   * only the rules with `auth` challenge. ACK and CANCEL never are (RFC 3261 §22.1).
   */
  readonly methods?: readonly string[];
}

/**
 * The methods challenged by default when users are configured globally: REGISTER and INVITE
 * (OPTIONS stays open, for pings and keep-alives).
 *
 * @example
 * ```ts
 * import { DEFAULT_AUTH_METHODS } from "@sipecho/sipecho/rules";
 * import assert from "node:assert/strict";
 * assert.deepEqual(DEFAULT_AUTH_METHODS, ["REGISTER", "INVITE"]);
 * ```
 */
export const DEFAULT_AUTH_METHODS: readonly string[] = Object.freeze(["REGISTER", "INVITE"]);

/**
 * The algorithms offered when none are configured: MD5 alone, the one every client tested knows
 * in the form it reads. A second challenge breaks some of them: sipsak 0.9 and SIPp 3.6 read only
 * the first, JsSIP 3.13 only the last, baresip 1.0 gives up on any algorithm it does not know.
 * RFC 8760 §2.4 has a client take the first it supports, so give `["SHA-256", "MD5"]` for
 * clients that know SHA-256.
 *
 * @example
 * ```ts
 * import { DEFAULT_AUTH_ALGORITHMS } from "@sipecho/sipecho/rules";
 * import assert from "node:assert/strict";
 * assert.deepEqual(DEFAULT_AUTH_ALGORITHMS, ["MD5"]);
 * ```
 */
export const DEFAULT_AUTH_ALGORITHMS: readonly DigestAlgorithm[] = Object.freeze(["MD5"] as const);

/**
 * The realm when none is configured.
 *
 * @example
 * ```ts
 * import { DEFAULT_REALM } from "@sipecho/sipecho/rules";
 * import assert from "node:assert/strict";
 * assert.equal(DEFAULT_REALM, "sipecho");
 * ```
 */
export const DEFAULT_REALM = "sipecho";

/** The keys of a rule's `auth` object, and of the top-level `auth`. */
const _SPEC_KEYS = ["realm", "users", "proxy", "algorithms", "comment"];
const _CONFIG_KEYS = [..._SPEC_KEYS, "methods"];

/** Hex digits of H(A1) per hash. */
const _HA1_LENGTH: Record<string, number> = { "MD5": 32, "SHA-256": 64, "SHA-512-256": 64 };

/** Most users in one `users` table: a rules file is configuration, not a user database. */
const _MAX_USERS = 10_000;

/**
 * Reads the global `auth` of a rules file (its top-level object's `auth` key), checked.
 *
 * @param value The parsed rules file: an object with `rules` (and maybe `auth`), or a list.
 * @param file The name used in error messages.
 * @returns The settings, or undefined when the file has no top-level `auth` (a list has none).
 * @throws {RulesError} If `auth` is not valid; the message names the JSON path.
 *
 * @example
 * ```ts
 * import { loadAuthConfig, RulesError } from "@sipecho/sipecho/rules";
 * import assert from "node:assert/strict";
 *
 * const config = loadAuthConfig({ auth: { realm: "lab", users: { alice: "secret" } }, rules: [] });
 * assert.deepEqual(config, { realm: "lab", users: { alice: { password: "secret" } } });
 * assert.equal(loadAuthConfig([]), undefined);
 * assert.throws(
 *   () => loadAuthConfig({ auth: { users: { bob: { ha1: { MD5: "12" } } } }, rules: [] }, "r.json"),
 *   new RulesError("r.json", 'auth.users.bob.ha1.MD5', "must be 32 hex digits (H(A1) of MD5), got \"12\""),
 * );
 * ```
 */
export function loadAuthConfig(value: unknown, file = "rules"): AuthConfig | undefined {
  if (!_isObject(value)) return undefined;
  const raw = _get(value, "auth");
  if (raw === undefined) return undefined;
  return _loadAuthConfig({ file }, "auth", raw);
}

/**
 * Parses a rules file's text and reads its global `auth` ({@linkcode loadAuthConfig}).
 *
 * @param text The rules file.
 * @param file The name used in error messages.
 * @returns The settings, or undefined when there are none.
 * @throws {RulesSyntaxError} If the text is not JSON.
 * @throws {RulesError} If `auth` is not valid.
 *
 * @example
 * ```ts
 * import { parseAuthConfig } from "@sipecho/sipecho/rules";
 * import assert from "node:assert/strict";
 *
 * const config = parseAuthConfig('{ "auth": { "users": { "alice": "secret" }, "methods": ["REGISTER"] }, "rules": [] }');
 * assert.deepEqual(config?.methods, ["REGISTER"]);
 * ```
 */
export function parseAuthConfig(text: string, file = "rules"): AuthConfig | undefined {
  return loadAuthConfig(_parseJson(text, file), file);
}

/** @internal The top-level `auth`: an {@linkcode AuthSpec} and `methods`. */
export function _loadAuthConfig(ctx: _Context, path: string, raw: unknown): AuthConfig {
  if (!_isObject(raw)) _fail(ctx, path, `must be an object with "realm", "users", ..., got ${_describe(raw)}`);
  _checkKeys(ctx, path, raw, _CONFIG_KEYS);
  const spec: { -readonly [K in keyof AuthConfig]: AuthConfig[K] } = _loadSpecFields(ctx, path, raw);
  const methods = _get(raw, "methods");
  if (methods !== undefined) {
    const p = _key(path, "methods");
    if (!Array.isArray(methods)) _fail(ctx, p, `must be a list of methods, got ${_describe(methods)}`);
    spec.methods = methods.map((m, i) => {
      if (typeof m !== "string" || !_TOKEN.test(m)) _fail(ctx, `${p}[${i}]`, `must be a method, got ${_describe(m)}`);
      if (m !== m.toUpperCase()) {
        _fail(
          ctx,
          `${p}[${i}]`,
          `must be upper case (methods are case-sensitive, RFC 3261 §7.1): "${m.toUpperCase()}"`,
        );
      }
      if (m === "ACK" || m === "CANCEL") {
        _fail(ctx, `${p}[${i}]`, `${m} cannot be challenged (RFC 3261 §22.1: it cannot be resubmitted)`);
      }
      return m;
    });
  }
  return spec;
}

/**
 * @internal The `auth` modifier of a rule: `true` (the global settings: `{}`), `false` (no
 * authentication, even where the global settings ask for it), or an {@linkcode AuthSpec}.
 */
export function _loadAuthModifier(ctx: _Context, path: string, raw: unknown): AuthSpec | false {
  if (raw === true) return {};
  if (raw === false) return false;
  if (!_isObject(raw)) {
    _fail(ctx, path, `must be true, false or an object with "realm", "users", ..., got ${_describe(raw)}`);
  }
  _checkKeys(ctx, path, raw, _SPEC_KEYS);
  return _loadSpecFields(ctx, path, raw);
}

function _loadSpecFields(
  ctx: _Context,
  path: string,
  raw: Record<string, unknown>,
): { -readonly [K in keyof AuthSpec]: AuthSpec[K] } {
  const spec: { -readonly [K in keyof AuthSpec]: AuthSpec[K] } = {};
  const comment = _get(raw, "comment");
  if (comment !== undefined && typeof comment !== "string") {
    _fail(ctx, _key(path, "comment"), `must be a string, got ${_describe(comment)}`);
  }
  const realm = _get(raw, "realm");
  if (realm !== undefined) {
    if (typeof realm !== "string" || realm === "" || _hasControl(realm)) {
      _fail(ctx, _key(path, "realm"), `must be a non-empty string without control characters, got ${_describe(realm)}`);
    }
    spec.realm = realm;
  }
  const users = _get(raw, "users");
  if (users !== undefined) spec.users = _loadUsers(ctx, _key(path, "users"), users);
  const proxy = _get(raw, "proxy");
  if (proxy !== undefined) {
    if (typeof proxy !== "boolean") _fail(ctx, _key(path, "proxy"), `must be true or false, got ${_describe(proxy)}`);
    spec.proxy = proxy;
  }
  const algorithms = _get(raw, "algorithms");
  if (algorithms !== undefined) {
    const p = _key(path, "algorithms");
    if (!Array.isArray(algorithms) || algorithms.length === 0) {
      _fail(ctx, p, `must be a non-empty list of ${DIGEST_ALGORITHMS.join(", ")}, got ${_describe(algorithms)}`);
    }
    spec.algorithms = algorithms.map((a, i) => {
      const known = typeof a === "string" ? digestAlgorithm(a) : undefined;
      if (known === undefined) {
        _fail(ctx, `${p}[${i}]`, `must be one of ${DIGEST_ALGORITHMS.join(", ")}, got ${_describe(a)}`);
      }
      if (known !== a) _fail(ctx, `${p}[${i}]`, `is spelt "${known}" (RFC 7616 §6.1), got ${_describe(a)}`);
      return known;
    });
    const twice = spec.algorithms.find((a, i) => spec.algorithms!.indexOf(a) !== i);
    if (twice !== undefined) _fail(ctx, p, `names ${twice} twice`);
  }
  return spec;
}

/** `users`: `{ "name": "password" | { "password": "..." } | { "ha1": { "MD5": "hex", ... } } }`. */
function _loadUsers(ctx: _Context, path: string, raw: unknown): Record<string, AuthUser> {
  if (!_isObject(raw)) _fail(ctx, path, `must be an object of users by name, got ${_describe(raw)}`);
  const names = Object.keys(raw);
  if (names.length > _MAX_USERS) _fail(ctx, path, `has ${names.length} users; at most ${_MAX_USERS}`);
  const users: Record<string, AuthUser> = {};
  // Defined, not assigned: a user named "__proto__" is a user like any other.
  const put = (name: string, user: AuthUser) =>
    Object.defineProperty(users, name, { value: user, enumerable: true, writable: true, configurable: true });
  for (const name of names) {
    const p = `${path}${/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? "." + name : `[${JSON.stringify(name)}]`}`;
    if (name === "" || _hasControl(name)) _fail(ctx, p, "a user name must be non-empty, without control characters");
    const user = raw[name];
    if (typeof user === "string") {
      put(name, { password: user });
      continue;
    }
    if (!_isObject(user)) {
      _fail(ctx, p, `must be a password, { "password": ... } or { "ha1": { "MD5": ... } }, got ${_describe(user)}`);
    }
    _checkKeys(ctx, p, user, ["password", "ha1"]);
    const password = _get(user, "password");
    const ha1 = _get(user, "ha1");
    if ((password === undefined) === (ha1 === undefined)) _fail(ctx, p, 'give exactly one of "password" and "ha1"');
    if (password !== undefined) {
      if (typeof password !== "string") _fail(ctx, `${p}.password`, `must be a string, got ${_describe(password)}`);
      put(name, { password });
      continue;
    }
    if (!_isObject(ha1) || Object.keys(ha1).length === 0) {
      _fail(ctx, `${p}.ha1`, `must be an object of H(A1) by hash (MD5, SHA-256, SHA-512-256), got ${_describe(ha1)}`);
    }
    _checkKeys(ctx, `${p}.ha1`, ha1, Object.keys(_HA1_LENGTH));
    const table: Record<string, string> = {};
    for (const [hash, hex] of Object.entries(ha1)) {
      const length = _HA1_LENGTH[hash];
      if (typeof hex !== "string" || hex.length !== length || !/^[0-9a-fA-F]+$/.test(hex)) {
        _fail(ctx, `${p}.ha1.${hash}`, `must be ${length} hex digits (H(A1) of ${hash}), got ${_describe(hex)}`);
      }
      table[hash] = hex.toLowerCase();
    }
    put(name, { ha1: table });
  }
  return users;
}
