/**
 * The call flows of a rule beyond its answer: what sipecho does with a REFER it takes (`refer`:
 * call the Refer-To target itself, or only report success), and a call it transfers away after
 * a while (`transfer`: a REFER of its own, RFC 3515). Their types, and their loading from a
 * rules file.
 *
 * @module
 */

import { parseUri } from "../sip/uri.ts";
import { _checkKeys, type _Context, _describe, _fail, _get, _hasControl, _isObject, _key } from "./validate.ts";

/**
 * What sipecho does with a REFER taken with 202 (RFC 3515 §2.4.2): `notify`, the NOTIFYs say
 * `100 Trying` then `200 OK` without calling anyone; `call`, sipecho calls the Refer-To URI
 * itself (an INVITE, then BYE after a 2xx) and the last NOTIFY carries that call's final status
 * (RFC 3515 §2.4.5). `call` calls only targets its safety check allows (see docs/rules.md).
 *
 * @example
 * ```ts
 * import { loadRules, type ReferMode, resolveAction } from "@sipecho/sipecho/rules";
 * import assert from "node:assert/strict";
 *
 * const [rule] = loadRules([{ match: { method: "REFER" }, default: true, refer: "call" }]);
 * const action = resolveAction(rule.action, Math.random);
 * const mode: ReferMode | undefined = action.kind === "default" ? action.refer : undefined;
 * assert.equal(mode, "call");
 * ```
 */
export type ReferMode = "call" | "notify";

/**
 * A call the rule answers is transferred away by sipecho (RFC 3515, RFC 5589 §6): `after`
 * seconds after its 2xx (once acknowledged), sipecho sends REFER in the dialog with `Refer-To: to`,
 * answers the caller's NOTIFYs 200, and ends the call with BYE once a NOTIFY reports a 2xx.
 *
 * @example
 * ```ts
 * import { loadRules, resolveAction, type TransferSpec } from "@sipecho/sipecho/rules";
 * import assert from "node:assert/strict";
 *
 * const [rule] = loadRules([{ match: { user: "transfer" }, default: true, transfer: { after: 2, to: "sip:echo@192.0.2.1" } }]);
 * const action = resolveAction(rule.action, Math.random);
 * const spec: TransferSpec | undefined = action.kind === "default" ? action.transfer : undefined;
 * assert.deepEqual(spec, { after: 2, to: "sip:echo@192.0.2.1" });
 * ```
 */
export interface TransferSpec {
  /** Seconds from the 2xx to the REFER, 0..3600 (the REFER waits for the ACK, too). */
  readonly after: number;
  /** The Refer-To URI: where the caller is to call (a `sip:` or `sips:` URI). */
  readonly to: string;
}

/** The longest `transfer.after`, seconds. */
const _MAX_AFTER = 3600;
const _TRANSFER_KEYS = ["after", "to"];

/**
 * Loads the `refer` modifier: `"call"` or `"notify"`.
 *
 * @param ctx The file being loaded.
 * @param path The JSON path of the value.
 * @param raw The value.
 * @returns The mode.
 * @throws {RulesError} If it is neither.
 */
export function _loadRefer(ctx: _Context, path: string, raw: unknown): ReferMode {
  if (raw !== "call" && raw !== "notify") _fail(ctx, path, `must be "call" or "notify", got ${_describe(raw)}`);
  return raw;
}

/**
 * Loads the `transfer` modifier: `{ "after": seconds, "to": "sip:..." }`.
 *
 * @param ctx The file being loaded.
 * @param path The JSON path of the value.
 * @param raw The value.
 * @returns The transfer.
 * @throws {RulesError} If it is not such an object, or `to` is not a SIP URI.
 */
export function _loadTransfer(ctx: _Context, path: string, raw: unknown): TransferSpec {
  if (!_isObject(raw)) _fail(ctx, path, `must be an object { "after", "to" }, got ${_describe(raw)}`);
  _checkKeys(ctx, path, raw, _TRANSFER_KEYS);
  const after = _get(raw, "after") ?? 0;
  if (typeof after !== "number" || !Number.isFinite(after) || after < 0 || after > _MAX_AFTER) {
    _fail(ctx, _key(path, "after"), `must be a number of seconds 0..${_MAX_AFTER}, got ${_describe(after)}`);
  }
  const to = _get(raw, "to");
  if (typeof to !== "string" || to === "" || _hasControl(to) || /[<>\s]/.test(to)) {
    _fail(ctx, _key(path, "to"), `must be a SIP URI such as "sip:echo@192.0.2.1", got ${_describe(to)}`);
  }
  let scheme: string;
  try {
    scheme = parseUri(to).scheme;
  } catch (e) {
    _fail(ctx, _key(path, "to"), `is not a URI: ${(e as Error).message}`);
  }
  if (scheme !== "sip" && scheme !== "sips") {
    _fail(ctx, _key(path, "to"), `must be a sip: or sips: URI, got ${_describe(to)}`);
  }
  return { after, to };
}
