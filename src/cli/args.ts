/**
 * The command line's flags, read into `CliOptions`: one table, `FLAGS`, holds every flag,
 * whether it takes a value, and what it sets. The usage text is in cli.ts.
 *
 * @module
 */

import type { ConnectionLimits } from "../net/connections.ts";
import type { EdgeOptions } from "../ua/guard.ts";
import type { PeerLimits } from "../ua/peer.ts";
import { parseIpv4, parseIpv6 } from "../sip/ip.ts";
import { _hasControl } from "../rules/validate.ts";
import { DEFAULT_RTP_PORTS, type ListenSpec, parseListenAddress, type ServeMediaOptions } from "../net/serve.ts";

/** The command line, read. */
export interface CliOptions {
  /** Where to listen, in the order given. */
  listen: ListenSpec[];
  /** The rules file, if any. */
  rules?: string;
  /** Whether the built-in test users answer. */
  testUsers: boolean;
  /** Seed of the rules' random choices (`--seed`); undefined: a random one, picked at startup. */
  seed?: number;
  /** Address for Contact and SDP. */
  advertise?: string;
  /** The RTP echo (`--rtp-ports`, `--echo-delay`, `--media-timeout`, `--rewrite-ssrc`), or false (`--no-media`). */
  media: ServeMediaOptions | false;
  /** Log format. */
  log: "human" | "json";
  /** No per-message lines. */
  quiet: boolean;
  /** `--trace`: each message line is followed by the whole message. */
  trace: boolean;
  /** `--no-udp-poll` gives false: no polled UDP sockets (serve()'s `udpPoll`). */
  udpPoll: boolean;
  /** `--stateless`: a stateless UAS (serve()'s `stateless`); no media. */
  stateless: boolean;
  /** `--profile` and the edge flags: serve()'s `edge`. */
  edge: { profile: "public" | "lab"; options: Partial<EdgeOptions> };
  /** `--max-*` table sizes: serve()'s `limits`. */
  limits: Partial<PeerLimits>;
  /** `--max-connections`, `--idle-timeout`, `--message-timeout`: serve()'s `connections`. */
  connections: Partial<ConnectionLimits>;
  /** `--max-contacts`: serve()'s `registrar.maxContactsPerAor`. */
  maxContacts?: number;
  /** `--dialog-timeout`: serve()'s `timers.dialogIdle`, ms. */
  dialogIdle?: number;
  /** `--auth-user USER:PASSWORD`, in the order given: digest users (RFC 3261 §22). */
  authUsers: [user: string, password: string][];
  /** `--realm`: the digest realm. */
  realm?: string;
  /** `--parse`, `--help` or `--version` instead of running. */
  mode: "run" | "parse" | "help" | "version";
  /** `--cert FILE`: the certificate chain (PEM) of the `--tls` and `--wss` listeners. */
  cert?: string;
  /** `--key FILE`: its private key (PEM). */
  key?: string;
  /** `--tls-ca-out FILE`: where to write the CA of the certificate made at start (PEM). */
  tlsCaOut?: string;
  /** `--http [HOST:]PORT`: serve()'s `http` (`/metrics`, `/healthz`, the live page); host 127.0.0.1 by default. */
  http?: { hostname: string; port: number };
  /** `--stats SECONDS`: a summary line on standard error every SECONDS (1..86400). */
  stats?: number;
  /** `--workers N|auto`: processes sharing the ports (1..MAX_WORKERS; auto: one per core). Default 1. */
  workers: number | "auto";
  /** Internal (`--worker INDEX/COUNT:HUBPORT`): this process is worker INDEX (1 or more) of COUNT. */
  worker?: { index: number; count: number; hub: number };
}

/** The most `--workers` takes. */
export const MAX_WORKERS = 256;

/** A bad command line: the message names the flag and what is wrong. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** What the flags read so far have set; the media flags are checked against each other at the end. */
interface _Reading {
  o: CliOptions;
  media: ServeMediaOptions;
  noMedia: boolean;
  /** The first media flag given, to refuse it beside --no-media or --stateless. */
  mediaFlag?: string;
}

/** A flag: one that takes a value gets it (and its own name, for errors); one that takes none gets nothing. */
type _Flag =
  | { value: true; set(r: _Reading, v: string, flag: string): void }
  | { value: false; set(r: _Reading): void };

const _INTEGER = "an integer 1..10000000";

/** Every flag and what it sets, in the order of the usage text. */
const FLAGS: Record<string, _Flag> = {
  "--udp": { value: true, set: (r, v, flag) => _listen(r, v, flag) },
  "--tcp": { value: true, set: (r, v, flag) => _listen(r, v, flag) },
  "--ws": { value: true, set: (r, v, flag) => _listen(r, v, flag) },
  // TLS (RFC 3261 §26) and secure WebSocket (RFC 7118), with the certificate files.
  "--tls": { value: true, set: (r, v, flag) => _listen(r, v, flag) },
  "--wss": { value: true, set: (r, v, flag) => _listen(r, v, flag) },
  "--cert": { value: true, set: (r, v) => void (r.o.cert = v) },
  "--key": { value: true, set: (r, v) => void (r.o.key = v) },
  "--tls-ca-out": { value: true, set: (r, v) => void (r.o.tlsCaOut = v) },
  "--advertise": {
    value: true,
    set(r, v) {
      r.o.advertise = v.replace(/^\[(.*)\]$/, "$1");
      if (r.o.advertise === "") throw new UsageError("--advertise needs a host");
    },
  },
  "--no-udp-poll": { value: false, set: (r) => void (r.o.udpPoll = false) },
  "--rules": { value: true, set: (r, v) => void (r.o.rules = v) },
  "--auth-user": { value: true, set: (r, v, flag) => _authUser(r, v, flag) },
  "--realm": {
    value: true,
    set(r, v) {
      if (v === "" || _hasControl(v)) {
        throw new UsageError(`--realm: expected a name without control characters, got ${JSON.stringify(v)}`);
      }
      r.o.realm = v;
    },
  },
  "--no-test-users": { value: false, set: (r) => void (r.o.testUsers = false) },
  "--seed": {
    value: true,
    set(r, v) {
      if (!/^\d{1,10}$/.test(v) || Number(v) > 0xffffffff) {
        throw new UsageError(`--seed: expected an integer 0..4294967295, got "${v}"`);
      }
      r.o.seed = Number(v);
    },
  },
  "--stateless": { value: false, set: (r) => void (r.o.stateless = true) },
  "--profile": {
    value: true,
    set(r, v) {
      if (v !== "public" && v !== "lab") throw new UsageError(`--profile: expected public or lab, got "${v}"`);
      r.o.edge.profile = v;
    },
  },
  "--amplification": {
    value: true,
    set: (r, v, f) => void (r.o.edge.options.amplification = _number(f, v, 1, 1000, "a factor 1..1000")),
  },
  "--rate": {
    value: true,
    set: (r, v, f) => void (r.o.edge.options.rate = _number(f, v, 1, 1e9, "messages a second, 1 or more")),
  },
  "--burst": {
    value: true,
    set: (r, v, f) => void (r.o.edge.options.burst = _number(f, v, 1, 1e9, "messages, 1 or more")),
  },
  "--ban": { value: true, set: (r, v, f) => void (r.o.edge.options.ban = _seconds(f, v, 86400)) },
  "--share": {
    value: true,
    set(r, v) {
      const share = Number(v);
      if (!/^(0?\.\d+|1(\.0*)?)$/.test(v) || !(share > 0 && share <= 1)) {
        throw new UsageError(`--share: expected a fraction 0 < F <= 1 (0.1 is a tenth), got "${v}"`);
      }
      r.o.edge.options.share = share;
    },
  },
  "--max-transactions": {
    value: true,
    set: (r, v, f) => void (r.o.limits.transactions = _number(f, v, 1, 1e7, _INTEGER, true)),
  },
  "--max-pending": { value: true, set: (r, v, f) => void (r.o.limits.pending = _number(f, v, 1, 1e7, _INTEGER, true)) },
  "--max-dialogs": { value: true, set: (r, v, f) => void (r.o.limits.dialogs = _number(f, v, 1, 1e7, _INTEGER, true)) },
  "--max-bindings": {
    value: true,
    set: (r, v, f) => void (r.o.limits.bindings = _number(f, v, 1, 1e7, _INTEGER, true)),
  },
  "--max-contacts": {
    value: true,
    set: (r, v, f) => void (r.o.maxContacts = _number(f, v, 1, 1000, "an integer 1..1000", true)),
  },
  "--max-connections": {
    value: true,
    set: (r, v, f) => void (r.o.connections.maxConnections = _number(f, v, 1, 1e6, "an integer 1..1000000", true)),
  },
  "--idle-timeout": { value: true, set: (r, v, f) => void (r.o.connections.idleTimeout = _seconds(f, v, 86400)) },
  "--message-timeout": { value: true, set: (r, v, f) => void (r.o.connections.messageTimeout = _seconds(f, v, 3600)) },
  "--dialog-timeout": { value: true, set: (r, v, f) => void (r.o.dialogIdle = _seconds(f, v, 30 * 86400)) },
  "--rtp-ports": {
    value: true,
    set(r, v, flag) {
      r.mediaFlag ??= flag;
      const m = /^(\d{1,5})-(\d{1,5})$/.exec(v);
      const [low, high] = m === null ? [NaN, NaN] : [Number(m[1]), Number(m[2])];
      if (!(low >= 1 && high <= 65535 && low <= high)) {
        throw new UsageError(`--rtp-ports: expected MIN-MAX, two ports 1..65535 with MIN <= MAX, got "${v}"`);
      }
      // RFC 3550 §11: RTP on an even port, RTCP on the odd one above it.
      const even = low % 2 === 0 ? low : low + 1;
      if (even + 1 > high) {
        throw new UsageError(`--rtp-ports: ${v} holds no even port with the odd port after it (RTP and RTCP)`);
      }
      r.media.portRange = [low, high];
    },
  },
  "--echo-delay": {
    value: true,
    set(r, v, flag) {
      r.mediaFlag ??= flag;
      if (!/^\d{1,5}$/.test(v) || Number(v) > 60000) {
        throw new UsageError(`--echo-delay: expected milliseconds 0..60000, got "${v}"`);
      }
      r.media.delay = Number(v);
    },
  },
  "--media-timeout": {
    value: true,
    set(r, v, flag) {
      r.mediaFlag ??= flag;
      if (!/^\d{1,5}(\.\d{1,3})?$/.test(v) || Number(v) > 86400) {
        throw new UsageError(`--media-timeout: expected seconds 0..86400 (0: never), got "${v}"`);
      }
      r.media.inactivityTimeout = Math.round(Number(v) * 1000);
    },
  },
  "--rewrite-ssrc": {
    value: false,
    set(r) {
      r.mediaFlag ??= "--rewrite-ssrc";
      r.media.rewriteSsrc = true;
    },
  },
  "--record": {
    value: true,
    set(r, v, flag) {
      r.mediaFlag ??= flag;
      if (v === "") throw new UsageError("--record: expected a folder");
      r.media.record = { dir: v };
    },
  },
  "--no-media": { value: false, set: (r) => void (r.noMedia = true) },
  "--log": {
    value: true,
    set(r, v) {
      if (v !== "human" && v !== "json") throw new UsageError(`--log: expected human or json, got "${v}"`);
      r.o.log = v;
    },
  },
  "--quiet": { value: false, set: (r) => void (r.o.quiet = true) },
  "--http": { value: true, set: (r, v, flag) => _http(r, v, flag) },
  "--stats": {
    value: true,
    set(r, v, flag) {
      if (!/^\d{1,5}$/.test(v) || Number(v) < 1 || Number(v) > 86400) {
        throw new UsageError(`${flag}: expected whole seconds 1..86400, got "${v}"`);
      }
      r.o.stats = Number(v);
    },
  },
  "--trace": { value: false, set: (r) => void (r.o.trace = true) },
  "--workers": {
    value: true,
    set(r, v, flag) {
      if (v === "auto") r.o.workers = "auto";
      else if (/^\d{1,4}$/.test(v) && Number(v) >= 1 && Number(v) <= MAX_WORKERS) r.o.workers = Number(v);
      else throw new UsageError(`${flag}: expected a number of processes 1..${MAX_WORKERS} or auto, got "${v}"`);
    },
  },
  // Internal: given by the first process of --workers to the others it starts.
  "--worker": {
    value: true,
    set(r, v, flag) {
      const m = /^(\d{1,3})\/(\d{1,3}):(\d{1,5})$/.exec(v);
      const [index, count, hub] = m === null ? [0, 0, 0] : [Number(m[1]), Number(m[2]), Number(m[3])];
      if (index < 1 || count <= index || count > MAX_WORKERS || hub < 1 || hub > 65535) {
        throw new UsageError(`${flag}: expected INDEX/COUNT:PORT (internal, given by --workers), got "${v}"`);
      }
      r.o.worker = { index, count, hub };
    },
  },
  "--parse": { value: false, set: (r) => void (r.o.mode = "parse") },
  "--help": { value: false, set: (r) => void (r.o.mode = "help") },
  "--version": { value: false, set: (r) => void (r.o.mode = "version") },
};

/** The short forms. */
const ALIASES: Record<string, string> = { "-q": "--quiet", "-h": "--help", "-V": "--version" };

/**
 * Reads the command line.
 *
 * @param args The arguments after the script.
 * @returns The options.
 * @throws {UsageError} Naming the flag and the problem.
 *
 * @example
 * ```ts
 * import { parseArgs } from "./args.ts";
 * import assert from "node:assert/strict";
 *
 * const o = parseArgs(["--udp", "127.0.0.1:5070", "--log=json"]);
 * assert.deepEqual(o.listen, [{ transport: "udp", hostname: "127.0.0.1", port: 5070 }]);
 * assert.equal(o.log, "json");
 * ```
 */
export function parseArgs(args: readonly string[]): CliOptions {
  const r: _Reading = {
    o: {
      listen: [],
      testUsers: true,
      log: "human",
      quiet: false,
      trace: false,
      mode: "run",
      media: false,
      udpPoll: true,
      stateless: false,
      edge: { profile: "public", options: {} },
      limits: {},
      connections: {},
      authUsers: [],
      workers: 1,
    },
    media: { portRange: DEFAULT_RTP_PORTS },
    noMedia: false,
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const spec = FLAGS[ALIASES[flag] ?? flag];
    if (spec === undefined) {
      throw new UsageError(
        arg.startsWith("-") ? `unknown flag "${flag}"` : `unexpected argument "${arg}" (flags start with --)`,
      );
    }
    if (!spec.value) {
      if (eq > 0) throw new UsageError(`${flag} takes no value`);
      spec.set(r);
      continue;
    }
    let v: string;
    if (eq > 0) v = arg.slice(eq + 1);
    else {
      v = args[++i];
      if (v === undefined || (v.startsWith("--") && v.length > 2)) throw new UsageError(`${flag} needs a value`);
    }
    spec.set(r, v, flag);
  }
  return _finish(r);
}

/** The checks across flags, and the defaults that depend on what was given. */
function _finish(r: _Reading): CliOptions {
  const o = r.o;
  if (r.noMedia && r.mediaFlag !== undefined) throw new UsageError(`--no-media cannot be combined with ${r.mediaFlag}`);
  if (o.stateless && r.mediaFlag !== undefined) {
    throw new UsageError(`--stateless cannot be combined with ${r.mediaFlag}`);
  }
  if (o.trace && o.quiet) throw new UsageError("--trace cannot be combined with --quiet");
  // A rate given alone allows a burst of two seconds' worth.
  const edge = o.edge.options;
  if (edge.rate !== undefined && edge.burst === undefined) {
    edge.burst = edge.rate === Infinity ? Infinity : 2 * edge.rate;
  }
  o.media = r.noMedia || o.stateless ? false : r.media;
  if (o.listen.length === 0) {
    o.listen = [
      { transport: "udp", hostname: "0.0.0.0", port: 5060 },
      { transport: "tcp", hostname: "0.0.0.0", port: 5060 },
    ];
  }
  _finishTls(o);
  const zero = o.listen.find((l) => l.port === 0);
  if (o.workers !== 1 && zero !== undefined) {
    throw new UsageError(`--workers: every port must be given (--${zero.transport} port 0 would differ per worker)`);
  }
  const tls = o.listen.find((l) => l.transport === "tls" || l.transport === "wss");
  if (o.workers !== 1 && tls !== undefined && o.cert === undefined) {
    // Each worker would make its own certificate: a client would meet one or the other.
    throw new UsageError(
      `--workers with --${tls.transport}: give --cert and --key (a certificate made at start is per process)`,
    );
  }
  return o;
}

/**
 * `--cert` and `--key` go together, and with a `--tls` or `--wss` listener; without them a
 * certificate is made at start, whose CA `--tls-ca-out` writes.
 */
function _finishTls(o: CliOptions): void {
  if ((o.cert === undefined) !== (o.key === undefined)) {
    throw new UsageError(o.cert === undefined ? "--key needs --cert FILE" : "--cert needs --key FILE");
  }
  const tls = o.listen.find((l) => l.transport === "tls" || l.transport === "wss");
  if (o.cert !== undefined && tls === undefined) throw new UsageError("--cert and --key are for --tls and --wss");
  if (o.tlsCaOut !== undefined && tls === undefined) throw new UsageError("--tls-ca-out is for --tls and --wss");
  if (o.tlsCaOut !== undefined && o.cert !== undefined) {
    throw new UsageError("--tls-ca-out writes the CA of a certificate made at start: not with --cert and --key");
  }
}

/** `--http`: the HTTP port; `PORT` alone binds 127.0.0.1, since the page shows every message. */
function _http(r: _Reading, v: string, flag: string): void {
  let spec: ListenSpec;
  try {
    spec = parseListenAddress(/^\d+$/.test(v) ? `:${v}` : v, "tcp", "127.0.0.1");
  } catch (e) {
    throw new UsageError(`${flag}: ${(e as Error).message.replace(/^tcp address/, "address")}`);
  }
  if (parseIpv4(spec.hostname) === undefined && parseIpv6(spec.hostname) === undefined) {
    throw new UsageError(
      `${flag}: "${v}": HOST must be an IP address (127.0.0.1, 0.0.0.0, [::1]), got "${spec.hostname}"`,
    );
  }
  r.o.http = { hostname: spec.hostname, port: spec.port };
}

/** `--auth-user USER:PASSWORD`: one more digest user; the password is what follows the first colon. */
function _authUser(r: _Reading, v: string, flag: string): void {
  const colon = v.indexOf(":");
  const user = colon < 0 ? "" : v.slice(0, colon);
  if (user === "" || _hasControl(v)) {
    throw new UsageError(`${flag}: expected USER:PASSWORD (a user name, a colon, the password), got "${v}"`);
  }
  if (r.o.authUsers.some(([u]) => u === user)) throw new UsageError(`${flag}: user "${user}" is given twice`);
  r.o.authUsers.push([user, v.slice(colon + 1)]);
}

/** `--udp`, `--tcp`, `--ws`, `--tls`, `--wss`: one more address to listen on. */
function _listen(r: _Reading, v: string, flag: string): void {
  let spec: ListenSpec;
  try {
    spec = parseListenAddress(v, flag.slice(2) as ListenSpec["transport"]);
  } catch (e) {
    throw new UsageError(`${flag}: ${(e as Error).message}`);
  }
  // A name would be resolved at bind time, where the error could not name the flag.
  if (parseIpv4(spec.hostname) === undefined && parseIpv6(spec.hostname) === undefined) {
    throw new UsageError(
      `${flag}: "${v}": HOST must be an IP address (0.0.0.0, 127.0.0.1, [::1], [::]), got "${spec.hostname}"`,
    );
  }
  r.o.listen.push(spec);
}

/**
 * A number flag: "off" is Infinity (no limit), else a number in [min, max] (an integer when
 * `integer`); the error names the flag and what it expects.
 */
function _number(flag: string, v: string, min: number, max: number, expected: string, integer = false): number {
  if (v === "off") return Infinity;
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${flag}: expected ${expected} or "off", got "${v}"`);
  }
  return n;
}

/** A duration flag in seconds (fractions allowed; "off" or 0: never), as ms. */
function _seconds(flag: string, v: string, max: number): number {
  if (v === "off") return 0;
  if (!/^\d{1,7}(\.\d{1,3})?$/.test(v) || Number(v) > max) {
    throw new UsageError(`${flag}: expected seconds 0..${max} (0 or "off": never), got "${v}"`);
  }
  return Math.round(Number(v) * 1000);
}
