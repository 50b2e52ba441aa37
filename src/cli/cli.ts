/**
 * The command line: `deno run -A mod.ts [flags]`, `bun mod.ts [flags]`, `deno task start`.
 * It runs the responder on the given transports (UDP and TCP on port 5060 by default) and
 * logs what goes in and out; `--parse` reads one message from standard input instead and
 * prints what the parser read.
 *
 * @module
 */

import { VERSION } from "../version.ts";
import { type CliOptions, parseArgs, UsageError } from "./args.ts";
import { _readTlsFiles } from "./tls_files.ts";
import type { ServeTls } from "../net/serve_tls.ts";
import { formatStatsLine } from "./stats_line.ts";
import { SipParseError } from "../sip/errors.ts";
import type { SipMessage } from "../sip/message.ts";
import { parseMessage } from "../sip/parse.ts";
import { formatMessage } from "../sip/format.ts";
import {
  type AuthConfig,
  DEFAULT_AUTH_METHODS,
  DEFAULT_REALM,
  DEFAULT_RULE_DESCRIPTIONS,
  parseAuthConfig,
  parseRules,
  type Rule,
  RulesError,
  RulesSyntaxError,
} from "../rules/rules.ts";
import { _authProblem } from "../ua/auth_gate.ts";
import { detectProcess, detectRuntime, type RuntimeProcess } from "../net/runtime/detect.ts";
import { _shareRegistrar, type _WorkerSync } from "../net/worker_sync.ts";
import { _now } from "../net/clock.ts";
import { _startWorkers, _workerCount, _workerMedia, type _Workers } from "./workers.ts";
import type { EdgeOptions } from "../ua/guard.ts";
import type { PeerEvent } from "../ua/peer.ts";
import {
  type AdvertisedAddress,
  DEFAULT_RTP_PORTS,
  ListenError,
  serve,
  type ServeOptions,
  type SipServer,
  type TrafficEntry,
} from "../net/serve.ts";
import type { ServerStats } from "../net/server_stats.ts";

// `--version` prints it; it lives in src/version.ts, still exported from here as before.
export { VERSION };
export { type CliOptions, parseArgs, UsageError };

const TEST_USERS = Object.entries(DEFAULT_RULE_DESCRIPTIONS)
  .map(([user, what]) => `  ${user.padEnd(12)} ${what}`)
  .join("\n");

const USAGE = `sipecho ${VERSION}: a SIP echo peer and auto-responder

usage: deno run -A mod.ts [flags]     bun mod.ts [flags]     deno task start [flags]

Listening (each flag repeatable; default: --udp 5060 --tcp 5060 on all interfaces):
  --udp [HOST:]PORT     SIP over UDP          (HOST: 0.0.0.0, 127.0.0.1, [::1], ...)
  --tcp [HOST:]PORT     SIP over TCP
  --ws [HOST:]PORT      SIP over WebSocket (RFC 7118, subprotocol "sip")
  --tls [HOST:]PORT     SIP over TLS (RFC 3261 §26; port 5061 by default)
  --wss [HOST:]PORT     SIP over secure WebSocket (RFC 7118 over TLS)
  --cert FILE           the certificate chain of --tls and --wss, PEM (own certificate first);
                        without --cert and --key one is made at start (a CA and a leaf for
                        localhost, 127.0.0.1, ::1 and the listen and --advertise addresses,
                        30 days), its SHA-256 fingerprint on the startup line
  --key FILE            its private key, PEM
  --tls-ca-out FILE     write the CA of the certificate made at start there (PEM), for
                        clients to trust
  --advertise HOST      address for Contact and SDP (default: the first bound address;
                        behind 0.0.0.0 or [::] the first interface address that is not
                        loopback, named on the startup line; 127.0.0.1, with a warning,
                        when there is none)
  --no-udp-poll         Deno: read UDP with the runtime's own sockets, woken per datagram
                        (default: polled every timer tick through FFI, on Linux with -A:
                        less CPU, up to ~2 ms more latency in)
  --workers N|auto      N processes share the ports (SO_REUSEPORT, Linux; auto: one per
                        core; default 1): each UDP source and TCP connection stays on one;
                        registrations are shared; limits are per worker; only the first
                        serves --http. Deno: needs -A and UDP polling
Answers:
  --rules FILE          JSON rules, tried before the built-in test users (see README)
  --no-test-users       no built-in test users: every user gets the echo behaviour
  --auth-user USER:PASSWORD
                        a digest user (repeatable, RFC 3261 §22): REGISTER and INVITE
                        outside a dialog then need credentials (401; OPTIONS never);
                        rules may say otherwise ("auth" in the rules file)
  --realm NAME          the digest realm (default: the rules file's, else "sipecho")
  --seed N              seed of the random choices of the rules and of the tags
                        (default: random, printed on the first startup line to replay a run)
  --stateless           a stateless UAS (RFC 3261 §8.2.7), for load tests: only final
                        responses, at once; no transaction, dialog or retransmission is
                        kept; ACK and CANCEL ignored; no RTP echo
Edge limits (see README, "On a public address"; each number may also be "off"):
  --profile public|lab  public (default): the limits below; lab: no amplification or
                        rate limit, no per-source share and tables ten times larger, for
                        a load generator you run
  --amplification X     a UDP source not validated yet gets at most X times the bytes it
                        sent (default 3, RFC 9000 §8.1)
  --rate N              messages a second per source (default 100); over it: 503 once,
                        then ignored for --ban seconds
  --burst N             messages at once above the rate (default 200)
  --ban SEC             how long a source over the rate is ignored (default 10)
  --share F             the share of each table one source may hold, 0 < F <= 1 (default 0.1)
  --max-transactions N  transactions, tombstones included (default 100000)
  --max-pending N       transactions at work, not yet tombstones (default 5000)
  --max-dialogs N       dialogs (default 10000)
  --max-bindings N      registrar bindings (default 10000)
  --max-contacts N      bindings per address of record (default 10)
  --max-connections N   TCP and WebSocket connections (default 512)
  --idle-timeout SEC    close a connection silent this long (default 300)
  --message-timeout SEC a connection must complete each message within this (default 10)
  --dialog-timeout SEC  end a dialog with no request this long with BYE (default 7200)
Media (the RTP echo of every call; on by default):
  --rtp-ports MIN-MAX   ports for RTP and RTCP, an even/odd pair per stream (default
                        ${DEFAULT_RTP_PORTS[0]}-${DEFAULT_RTP_PORTS[1]}); when none is free an INVITE gets 503
  --echo-delay MS       send each packet back MS milliseconds later (default 0; at most 60000)
  --media-timeout SEC   end a call with a BYE after SEC seconds without RTP or RTCP
                        (default 30; 0: never)
  --rewrite-ssrc        put our own SSRC into the echoed packets
  --record DIR          write each call's received audio (PCMU or PCMA, the first 60 s)
                        to DIR/<Call-ID>.wav when the call ends
  --no-media            no echo: SDP answers carry placeholder ports
Output:
  --log human|json      a line per message on standard output (default human)
  --trace               each message line followed by the whole message, headers and body
                        (in JSON: as "text")
  --quiet               no line per message or call, and only the first startup line
                        (where it listens); warnings and errors still go to standard error
  --http [HOST:]PORT    an HTTP port (off by default; HOST 127.0.0.1 unless given):
                        /metrics (Prometheus), /healthz, / (a live page of the calls)
  --stats SEC           every SEC seconds a line on standard error: calls/s, calls
                        active, failures sent, drops (also with --quiet)
  --parse               read one SIP message from standard input, print it as JSON, exit
  --help, --version

Built-in test users (Request-URI user of an INVITE; anything else gets the echo call):
  echo         100, 180, 200 OK with an SDP answer
${TEST_USERS}

Exit status: 0 after SIGINT/SIGTERM, 1 when a port cannot be bound, 2 for bad flags or a bad
rules file. With --parse: 0 parsed, 1 rejected.
`;

/** What the CLI needs from the runtime (see `RuntimeProcess`); tests pass their own. */
export type CliRuntime = RuntimeProcess;

/**
 * The startup line that says which edge limits are on.
 *
 * @param profile `public` or `lab`.
 * @param o The limits in force.
 * @returns The line (without the `sipecho: ` prefix).
 * @example
 * ```ts
 * import { describeEdge } from "./cli.ts";
 * import { EDGE_LAB, EDGE_PUBLIC } from "../ua/guard.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   describeEdge("public", EDGE_PUBLIC),
 *   "edge limits (public): unvalidated UDP sources get at most 3x their bytes; 100 messages/s per source " +
 *     "(burst 200, then ignored 10 s); a source holds at most 10% of each table",
 * );
 * assert.equal(describeEdge("lab", EDGE_LAB), "edge limits (lab): no amplification limit; no rate limit; no per-source share");
 * ```
 */
export function describeEdge(profile: string, o: Readonly<EdgeOptions>): string {
  const amplification = o.amplification === Infinity
    ? "no amplification limit"
    : `unvalidated UDP sources get at most ${o.amplification}x their bytes`;
  const rate = o.rate === Infinity
    ? "no rate limit"
    : `${o.rate} messages/s per source (burst ${o.burst}, then ignored ${o.ban / 1000} s)`;
  const share = o.share >= 1
    ? "no per-source share"
    : `a source holds at most ${Math.round(o.share * 1000) / 10}% of each table`;
  return `edge limits (${profile}): ${amplification}; ${rate}; ${share}`;
}

/** What a parsed message looks like as JSON (`--parse`). */
export function describeMessage(message: SipMessage): Record<string, unknown> {
  return {
    ...(message.type === "request"
      ? { type: "request", method: message.method, uri: message.uri, requestUri: message.requestUri }
      : { type: "response", status: message.status, reason: message.reason }),
    headers: message.headers.fields.map((f) => [f.name, f.value]),
    via: message.via,
    from: message.from,
    to: message.to,
    callId: message.callId,
    cseq: message.cseq,
    contact: message.contact,
    body: message.bodyText,
  };
}

function hostPort(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * One log line for a message: in human form `time dir transport remote what Call-ID`, in JSON
 * form an object per line. With `trace`, the whole message too: in human form after the line,
 * each of its lines indented by four spaces (the body's too), in JSON form as `text`.
 *
 * @param entry The message and where it went.
 * @param format `human` or `json`.
 * @param trace Whether to add the whole message (`--trace`).
 * @returns The line (with `trace` in human form, several).
 * @example
 * ```ts
 * import { formatTraffic } from "./cli.ts";
 * import { parseMessage } from "../sip/parse.ts";
import { formatMessage } from "../sip/format.ts";
 * import assert from "node:assert/strict";
 *
 * const message = parseMessage(
 *   "OPTIONS sip:echo@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1\r\n" +
 *     "From: <sip:a@192.0.2.9>;tag=1\r\nTo: <sip:echo@192.0.2.1>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n\r\n",
 * );
 * const remote = { address: "192.0.2.9", port: 5060 };
 * const entry = { time: 0, direction: "in" as const, transport: "udp" as const, remote, message };
 * assert.equal(formatTraffic(entry, "human"), "00:00:00.000 <- udp 192.0.2.9:5060 OPTIONS sip:echo@192.0.2.1 c1");
 * const [line, first, via] = formatTraffic(entry, "human", true).split("\n");
 * assert.deepEqual([line, first, via], [
 *   "00:00:00.000 <- udp 192.0.2.9:5060 OPTIONS sip:echo@192.0.2.1 c1",
 *   "    OPTIONS sip:echo@192.0.2.1 SIP/2.0",
 *   "    Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1",
 * ]);
 * ```
 */
export function formatTraffic(entry: TrafficEntry, format: "human" | "json", trace = false): string {
  const m = entry.message;
  // As it went on the wire (formatMessage writes the parsed message back), body included.
  const text = trace ? _decoder.decode(formatMessage(m)) : undefined;
  const callId = m.headers.get("Call-ID") ?? "";
  const remote = hostPort(entry.remote.address, entry.remote.port);
  if (format === "json") {
    return JSON.stringify({
      time: new Date(entry.time).toISOString(),
      direction: entry.direction,
      transport: entry.transport,
      remote,
      ...(m.type === "request" ? { method: m.method, uri: m.uri } : { status: m.status, reason: m.reason }),
      callId,
      cseq: m.headers.get("CSeq") ?? "",
      ...(text === undefined ? {} : { text }),
    });
  }
  const what = m.type === "request" ? `${m.method} ${m.uri}` : `${m.status} ${m.reason}`;
  const arrow = entry.direction === "in" ? "<-" : "->";
  const line = `${
    new Date(entry.time).toISOString().slice(11, 23)
  } ${arrow} ${entry.transport} ${remote} ${what} ${callId}`;
  return text === undefined
    ? line
    : `${line}\n${text.split(/\r?\n/).map((l) => `    ${l}`).join("\n").replace(/ {4}$/, "")}`;
}

const _decoder = new TextDecoder();

/** The events of the media flows (a digit, an announcement, a recording): what the calls did. */
const _MEDIA_FLOW_EVENTS: readonly PeerEvent["kind"][] = ["dtmf", "play", "record"];

function formatEvent(event: PeerEvent, format: "human" | "json"): string {
  const remote = event.remote ? hostPort(event.remote.address, event.remote.port) : undefined;
  if (format === "json") {
    // The echo's own end reason ("closed" for a call the SIP side ended) would contradict the
    // event's: the counters go without it.
    const { reason: _, error: __, ...counters } = event.media ?? {};
    return JSON.stringify({
      time: new Date().toISOString(),
      event: event.kind,
      ...(event.reason === undefined ? {} : { reason: event.reason }),
      message: event.message,
      ...(event.callId === undefined ? {} : { callId: event.callId }),
      ...(event.user === undefined ? {} : { user: event.user }),
      ...(event.remote ? { transport: event.remote.transport, remote } : {}),
      ...(event.media ? { media: counters } : {}),
      ...(event.dtmf ? { dtmf: event.dtmf } : {}),
    });
  }
  const where = event.remote ? ` ${event.remote.transport} ${remote}` : "";
  return `${new Date().toISOString().slice(11, 23)} !! ${event.kind}${where}: ${event.message}`;
}

async function loadRulesFile(rt: CliRuntime, path: string): Promise<{ rules: Rule[]; auth?: AuthConfig }> {
  let text: string;
  try {
    text = await rt.readTextFile(path);
  } catch (e) {
    throw new UsageError(`--rules ${path}: cannot read the file: ${(e as Error).message}`);
  }
  try {
    const auth = parseAuthConfig(text, path);
    return { rules: parseRules(text, path), ...(auth === undefined ? {} : { auth }) };
  } catch (e) {
    if (e instanceof RulesError || e instanceof RulesSyntaxError) throw new UsageError(e.message);
    throw e;
  }
}

/** What the command line asks for, read and checked: its options, and the files they name. */
type _Setup = { options: CliOptions; rules: Rule[]; tls: ServeTls | undefined; auth: AuthConfig | undefined };

/** Where this process stands among `--workers` (see workers.ts), and the seed of the run. */
type _Place = { seed: number; index: number; count: number };

/**
 * Reads the flags and the files they name (rules, TLS certificate and key) and checks them.
 *
 * @throws {UsageError} For a bad flag or file.
 */
async function _setup(rt: CliRuntime): Promise<_Setup> {
  let rules: Rule[] = [];
  let tls: ServeTls | undefined;
  let auth: AuthConfig | undefined;
  const options = parseArgs(rt.args);
  if (options.mode === "run" && options.rules !== undefined) {
    ({ rules, auth } = await loadRulesFile(rt, options.rules));
  }
  auth = _cliAuth(options, auth);
  const problem = _authProblem(auth, rules);
  if (problem !== undefined) throw new UsageError(problem);
  if (options.mode === "run") tls = await _readTlsFiles(rt, options);
  // --tls or --wss without --cert and --key: a certificate made at start.
  if (tls === undefined && options.listen.some((l) => l.transport === "tls" || l.transport === "wss")) {
    tls = "self-signed";
  }
  return { options, rules, tls, auth };
}

/** The options of `serve()` for the checked command line. */
function _serveOptions(rt: CliRuntime, setup: _Setup, place: _Place): ServeOptions {
  const { options, rules, tls, auth } = setup;
  const format = options.log;
  return {
    listen: options.listen,
    rules,
    defaultRules: options.testUsers,
    seed: place.seed,
    advertise: options.advertise,
    media: _workerMedia(options.media, place.index, place.count, DEFAULT_RTP_PORTS),
    stateless: options.stateless,
    udpPoll: options.udpPoll,
    reusePort: place.count > 1,
    edge: { profile: options.edge.profile, ...options.edge.options },
    limits: options.limits,
    connections: options.connections,
    tls,
    http: options.http,
    registrar: options.maxContacts === undefined ? undefined : { maxContactsPerAor: options.maxContacts },
    timers: options.dialogIdle === undefined ? undefined : { dialogIdle: options.dialogIdle },
    auth,
    onTraffic: options.quiet ? undefined : (entry) => rt.print(formatTraffic(entry, format, options.trace)),
    onEvent: (event) => {
      // What the calls did goes to standard output (not with --quiet); what went wrong to standard error.
      const info = event.kind === "rule" || event.kind === "answer" || event.kind === "media" ||
        event.kind === "bye" || event.kind === "refresh" || event.kind === "auth" ||
        _MEDIA_FLOW_EVENTS.includes(event.kind);
      if (info && options.quiet) return;
      const line = formatEvent(event, format);
      if (info) rt.print(line);
      else rt.printError(line);
    },
  };
}

/**
 * Runs the started server until it stops (a signal; for a worker, worker 0 gone; for worker
 * 0, a worker ended), with its `--stats` lines, then closes what the workers share.
 *
 * @returns The exit status: 1 when a worker ended badly, else 0.
 */
async function _runUntilStopped(
  rt: CliRuntime,
  options: CliOptions,
  server: SipServer,
  place: _Place,
  joined: { sync?: _WorkerSync; workers?: _Workers },
): Promise<number> {
  const { index, count } = place;
  const { sync, workers } = joined;
  let status = 0;
  const stopStats = options.stats === undefined ? undefined : _statsEvery(rt, server, options.stats, index, count);
  rt.onSignal(() => {
    if (!options.quiet && index === 0) rt.printError("sipecho: stopping");
    void server.close();
  });
  // A worker stops when worker 0 is gone (its end of the pipe closes); worker 0 when a worker ends.
  if (index > 0) void rt.stdin().catch(() => {}).then(() => server.close());
  void workers?.ended.then((e) => {
    if (e.status !== 0) {
      rt.printError(`sipecho: worker ${e.index} (pid ${e.pid}) ended with status ${e.status}; stopping every worker`);
      status = 1;
    }
    void server.close();
  });
  await server.closed;
  await workers?.stop();
  await sync?.close();
  stopStats?.();
  if (count > 1) rt.printError(`sipecho: worker ${index}: ${_workerTally(server.stats())}`);
  return status;
}

/**
 * Runs the command line.
 *
 * @param rt The runtime abilities (tests pass their own); detected when omitted.
 * @returns Once the server has closed after a signal (or at once for `--help`, `--version`,
 *   `--parse`); exits the process with the status described in the usage text.
 */
export async function main(rt?: CliRuntime): Promise<void> {
  rt ??= await detectProcess();
  let setup: _Setup;
  try {
    setup = await _setup(rt);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    rt.printError(`sipecho: ${e.message}\nTry --help.`);
    return rt.exit(2);
  }
  const options = setup.options;
  if (options.mode === "help") {
    rt.print(USAGE);
    return rt.exit(0);
  }
  if (options.mode === "version") {
    rt.print(`sipecho ${VERSION}`);
    return rt.exit(0);
  }
  if (options.mode === "parse") return await parseStdin(rt);

  const place: _Place = {
    // Random unless given, so that "random" faults differ from run to run; the startup line
    // prints it, so that a run can be replayed with --seed.
    seed: options.seed ?? Math.floor(Math.random() * 2 ** 32),
    // --workers: this process is worker `index` of `count` (see workers.ts).
    index: options.worker?.index ?? 0,
    count: options.worker?.count ?? _workerCount(options.workers),
  };
  const { seed, index, count } = place;
  let server;
  try {
    server = await serve(_serveOptions(rt, setup, place));
  } catch (e) {
    // A ListenError names the transport, address and port itself.
    rt.printError(`sipecho: ${e instanceof ListenError ? "" : "cannot start: "}${(e as Error).message}`);
    return rt.exit(1);
  }
  if (options.tlsCaOut !== undefined && !await _writeCa(rt, options.tlsCaOut, server)) {
    await server.close();
    return rt.exit(1);
  }
  let joined: { sync?: _WorkerSync; workers?: _Workers } = {};
  if (count > 1) {
    try {
      joined = await _joinWorkers(rt, server, index, count, options.worker?.hub);
    } catch (e) {
      rt.printError(`sipecho: cannot start: ${(e as Error).message}`);
      await server.close();
      return rt.exit(1);
    }
  }
  if (index === 0) _announce(rt, options, server, seed, setup.auth, count);
  return rt.exit(await _runUntilStopped(rt, options, server, place, joined));
}

/**
 * `--workers`: joins this worker to the shared registrar; worker 0 then starts the others and
 * waits until each has joined.
 */
async function _joinWorkers(
  rt: CliRuntime,
  server: SipServer,
  index: number,
  count: number,
  hub: number | undefined,
): Promise<{ sync: _WorkerSync; workers?: _Workers }> {
  const all = Promise.withResolvers<void>();
  const sync = await _shareRegistrar(await detectRuntime(), server.peer.registrar, {
    hub,
    workers: count,
    now: _now,
    onError: (m) => rt.printError(`sipecho: worker ${index}: ${m}`),
    onMembers: (n) => n >= count && all.resolve(),
  });
  if (index > 0) {
    await sync.joined;
    return { sync };
  }
  let workers: _Workers | undefined;
  try {
    workers = _startWorkers(rt, count, sync.port, all.promise);
    await workers.ready;
  } catch (e) {
    await workers?.stop();
    await sync.close();
    throw e;
  }
  return { sync, workers };
}

/** What a worker did, printed as it ends: the requests it took, to see how the load was spread. */
function _workerTally(stats: ServerStats): string {
  const sum = (m: "INVITE" | "REGISTER") => Object.values(stats.requests[m]).reduce((a, b) => a + b, 0);
  return `${sum("INVITE")} INVITE, ${sum("REGISTER")} REGISTER received, ${stats.responseClasses["2xx"]} 2xx sent`;
}

/**
 * What the startup lines say of the advertised address: which interface address a wildcard bind
 * advertises (on the first line), or a warning when it can only advertise loopback.
 *
 * @param advertised `server.advertised`.
 * @returns `where`, to follow the bound addresses on the first line (maybe empty), and the
 *   warning line, if any.
 * @example
 * ```ts
 * import { _advertiseNotes } from "./cli.ts";
 * import assert from "node:assert/strict";
 *
 * const notes = _advertiseNotes({ address: "192.0.2.2", why: "interface", name: "eth0" });
 * assert.equal(notes.where, ", advertising 192.0.2.2 (interface eth0; --advertise to change)");
 * assert.equal(notes.warning, undefined);
 * ```
 */
export function _advertiseNotes(advertised: AdvertisedAddress): { where: string; warning: string | undefined } {
  if (advertised.why === "interface") {
    const host = hostPort(advertised.address, 0).replace(/:0$/, "");
    return { where: `, advertising ${host} (interface ${advertised.name}; --advertise to change)`, warning: undefined };
  }
  if (advertised.why === "loopback") {
    return {
      where: "",
      warning:
        `sipecho: warning: no interface address but loopback: advertising ${advertised.address} in Contact and ` +
        "SDP, which callers on other machines cannot reach; give --advertise HOST",
    };
  }
  return { where: "", warning: undefined };
}

/**
 * The startup lines on standard error: where it listens, and what is on. The first is written
 * even with --quiet: a script that asked for port 0 learns the port from it.
 */
function _announce(
  rt: CliRuntime,
  options: CliOptions,
  server: SipServer,
  seed: number,
  auth: AuthConfig | undefined,
  workers = 1,
): void {
  let where = server.addresses.map((a) => `${a.transport} ${hostPort(a.address, a.port)}`).join(", ");
  if (server.http !== undefined) where += `, http ${hostPort(server.http.address, server.http.port)}`;
  if (workers > 1) where += ` (${workers} workers)`;
  const notes = _advertiseNotes(server.advertised);
  rt.printError(
    `sipecho ${VERSION} listening on ${where}${notes.where}; try ${server.uri("echo")}; seed ${seed}` +
      _tlsNote(server, options.tlsCaOut),
  );
  if (notes.warning !== undefined) rt.printError(notes.warning);
  if (options.quiet) return;
  if (options.stateless) {
    rt.printError("sipecho: stateless (RFC 3261 §8.2.7): final responses only, nothing kept, no RTP echo");
  }
  if (options.media !== false) {
    const m = options.media;
    const [low, high] = m.portRange ?? DEFAULT_RTP_PORTS;
    const timeout = m.inactivityTimeout ?? 30_000;
    rt.printError(
      `sipecho: RTP echo on ports ${low}-${high} (${server.media?.capacity} streams${
        workers > 1 ? ` in worker 0 of ${workers}, each with its share of the ports` : ""
      }), delay ${m.delay ?? 0} ms, ` +
        `media timeout ${timeout === 0 ? "never" : `${timeout / 1000} s`}${m.rewriteSsrc ? ", SSRC rewritten" : ""}`,
    );
  }
  rt.printError(`sipecho: ${describeEdge(options.edge.profile, server.peer.guard!.options)}`);
  if (auth !== undefined) rt.printError(`sipecho: ${_describeAuth(auth)}`);
}

/**
 * What the first startup line says of the TLS certificate: its SHA-256 fingerprint, whether it
 * was made at start, and where its CA was written.
 *
 * @param server The running server.
 * @param caOut `--tls-ca-out`.
 * @returns The text to add to the line (empty without TLS).
 * @example
 * ```ts
 * import { _tlsNote } from "./cli.ts";
 * import assert from "node:assert/strict";
 *
 * const tls = { cert: "", fingerprint: "AB:CD", selfSigned: true, ca: "", caFingerprint: "", names: [], notAfter: undefined };
 * assert.equal(_tlsNote({ tls }, "ca.pem"), "; TLS certificate made at start, SHA-256 AB:CD, its CA in ca.pem");
 * assert.equal(_tlsNote({ tls: { ...tls, selfSigned: false } }, undefined), "; TLS certificate SHA-256 AB:CD");
 * assert.equal(_tlsNote({}, undefined), "");
 * ```
 */
export function _tlsNote(server: Pick<SipServer, "tls">, caOut: string | undefined): string {
  const tls = server.tls;
  if (tls === undefined) return "";
  const fp = tls.fingerprint ?? "unknown";
  if (!tls.selfSigned) return `; TLS certificate SHA-256 ${fp}`;
  return `; TLS certificate made at start, SHA-256 ${fp}${caOut === undefined ? "" : `, its CA in ${caOut}`}`;
}

/** `--tls-ca-out`: writes the CA of the certificate made at start; false (said why) when it cannot. */
async function _writeCa(rt: CliRuntime, path: string, server: SipServer): Promise<boolean> {
  try {
    if (rt.writeTextFile === undefined) throw new Error("this runtime cannot write files");
    await rt.writeTextFile(path, server.tls?.ca ?? "");
    return true;
  } catch (e) {
    rt.printError(`sipecho: --tls-ca-out ${path}: cannot write the file: ${(e as Error).message}`);
    return false;
  }
}

/**
 * The digest settings of the command line: the rules file's top-level `auth`, with the users of
 * `--auth-user` added (replacing a user of the same name) and `--realm` over its realm.
 *
 * @param options The flags read.
 * @param file The rules file's settings, if any.
 * @returns The settings, or undefined when neither gives any.
 * @example
 * ```ts
 * import { _cliAuth, parseArgs } from "./cli.ts";
 * import assert from "node:assert/strict";
 *
 * const auth = _cliAuth(parseArgs(["--auth-user", "alice:s:e", "--realm", "lab"]), { users: { bob: { password: "b" } } });
 * assert.deepEqual(auth, { users: { bob: { password: "b" }, alice: { password: "s:e" } }, realm: "lab" });
 * assert.equal(_cliAuth(parseArgs([]), undefined), undefined);
 * ```
 */
export function _cliAuth(options: CliOptions, file: AuthConfig | undefined): AuthConfig | undefined {
  if (options.authUsers.length === 0 && options.realm === undefined) return file;
  const users = { ...file?.users };
  for (const [user, password] of options.authUsers) {
    Object.defineProperty(users, user, { value: { password }, enumerable: true, writable: true, configurable: true });
  }
  return { ...file, users, ...(options.realm === undefined ? {} : { realm: options.realm }) };
}

/**
 * The startup line of the digest settings.
 *
 * @param auth The settings.
 * @returns The line (without the `sipecho: ` prefix).
 * @example
 * ```ts
 * import { _describeAuth } from "./cli.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   _describeAuth({ users: { alice: { password: "x" } } }),
 *   'digest auth (realm "sipecho", 1 user): REGISTER and INVITE outside a dialog need it, and rules with auth',
 * );
 * ```
 */
export function _describeAuth(auth: AuthConfig): string {
  const n = Object.keys(auth.users ?? {}).length;
  const methods = auth.methods ?? DEFAULT_AUTH_METHODS;
  const what = methods.length === 0
    ? "rules with auth need it"
    : `${methods.join(" and ")} outside a dialog need it, and rules with auth`;
  return `digest auth (realm "${auth.realm ?? DEFAULT_REALM}", ${n} user${n === 1 ? "" : "s"}${
    auth.proxy ? ", as a proxy: 407" : ""
  }): ${what}`;
}

/** `--stats`: a summary line every `seconds`; returns what stops it. */
function _statsEvery(rt: CliRuntime, server: SipServer, seconds: number, index = 0, count = 1): () => void {
  let before = server.stats();
  const timer = setInterval(() => {
    const after = server.stats();
    const line = formatStatsLine(before, after, seconds);
    rt.printError(count > 1 ? line.replace(/^sipecho: /, `sipecho: worker ${index}: `) : line);
    before = after;
  }, seconds * 1000);
  return () => clearInterval(timer);
}

async function parseStdin(rt: CliRuntime): Promise<void> {
  const input = await rt.stdin();
  try {
    rt.print(JSON.stringify(describeMessage(parseMessage(input)), null, 2));
    return rt.exit(0);
  } catch (e) {
    if (!(e instanceof SipParseError)) throw e;
    rt.printError(`sipecho: ${e.message} (byte ${e.offset}; a UAS answers ${e.status})`);
    return rt.exit(1);
  }
}
