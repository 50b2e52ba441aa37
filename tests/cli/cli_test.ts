import { describe, test } from "node:test";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { _advertiseNotes, type CliRuntime, formatTraffic, main, parseArgs, UsageError } from "../../src/cli/cli.ts";
import { chooseAdvertised } from "../../src/net/listeners.ts";
import { detectRuntime } from "../../src/net/runtime/detect.ts";
import { freeBlock } from "../_ports.ts";
import { parseMessage } from "../../src/sip/parse.ts";

class Exit extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`exit ${code}`);
    this.code = code;
  }
}

interface Run {
  code: number;
  out: string[];
  err: string[];
}

/** Runs main() with a fake runtime; `during` runs once the server is up (for run mode). */
async function run(
  args: string[],
  opts: { stdin?: string; files?: Record<string, string>; during?: (out: string[], err: string[]) => Promise<void> } =
    {},
): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  let signal: (() => void) | undefined;
  const started = Promise.withResolvers<void>();
  const rt: CliRuntime = {
    args,
    stdin: () => Promise.resolve(new TextEncoder().encode(opts.stdin ?? "")),
    readTextFile: (path) => {
      const text = opts.files?.[path];
      return text === undefined ? Promise.reject(new Error(`No such file: ${path}`)) : Promise.resolve(text);
    },
    onSignal: (h) => {
      signal = h;
      started.resolve();
    },
    print: (line) => void out.push(line),
    printError: (line) => void err.push(line),
    exit: (c: number): never => {
      throw new Exit(c);
    },
  };
  let code = -1;
  const done = main(rt).then(
    () => assert.fail("main() returned without exiting"),
    (e) => {
      if (!(e instanceof Exit)) throw e;
      code = e.code;
    },
  );
  if (opts.during) {
    await Promise.race([started.promise, done]);
    if (signal) {
      try {
        await opts.during(out, err);
      } finally {
        signal();
      }
    }
  }
  await done;
  return { code, out, err };
}

const OPTIONS = "OPTIONS sip:echo@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1\r\n" +
  "From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:echo@127.0.0.1>\r\nCall-ID: 1@a\r\nCSeq: 1 OPTIONS\r\n\r\n";

describe("parseArgs()", () => {
  test("reads listen flags in both forms, repeatable, with IPv6", () => {
    const o = parseArgs(["--udp", "127.0.0.1:5070", "--tcp=[::1]:5071", "--ws", "8080", "--udp", "5072"]);
    assert.deepEqual(o.listen, [
      { transport: "udp", hostname: "127.0.0.1", port: 5070 },
      { transport: "tcp", hostname: "::1", port: 5071 },
      { transport: "ws", hostname: "0.0.0.0", port: 8080 },
      { transport: "udp", hostname: "0.0.0.0", port: 5072 },
    ]);
  });

  test("defaults to UDP and TCP on 5060, human logs, test users on", () => {
    const o = parseArgs([]);
    assert.deepEqual(o.listen, [
      { transport: "udp", hostname: "0.0.0.0", port: 5060 },
      { transport: "tcp", hostname: "0.0.0.0", port: 5060 },
    ]);
    assert.equal(o.log, "human");
    assert.equal(o.testUsers, true);
    assert.equal(o.quiet, false);
    assert.equal(o.mode, "run");
  });

  for (
    const [args, message] of [
      [["--bogus"], 'unknown flag "--bogus"'],
      [["stray"], 'unexpected argument "stray" (flags start with --)'],
      [["--udp"], "--udp needs a value"],
      [["--udp", "--quiet"], "--udp needs a value"],
      [["--tcp", "host:99999"], '--tcp: tcp address "host:99999": port 99999 is over 65535'],
      [["--udp", "a:b:c"], '--udp: udp address "a:b:c": expected PORT, HOST:PORT or [IPv6]:PORT'],
      [["--udp", "abc"], '--udp: "abc": HOST must be an IP address (0.0.0.0, 127.0.0.1, [::1], [::]), got "abc"'],
      [
        ["--tcp", "localhost:5060"],
        '--tcp: "localhost:5060": HOST must be an IP address (0.0.0.0, 127.0.0.1, [::1], [::]), got "localhost"',
      ],
      [["--ws", "[fe80::1%eth0]:80"], '--ws: ws address "[fe80::1%eth0]:80": expected PORT, HOST:PORT or [IPv6]:PORT'],
      [["--log", "xml"], '--log: expected human or json, got "xml"'],
      [["--seed", "-1"], '--seed: expected an integer 0..4294967295, got "-1"'],
      [["--quiet=yes"], "--quiet takes no value"],
      [["--trace", "--quiet"], "--trace cannot be combined with --quiet"],
      [["--rtp-ports", "20000"], '--rtp-ports: expected MIN-MAX, two ports 1..65535 with MIN <= MAX, got "20000"'],
      [
        ["--rtp-ports", "30000-20000"],
        '--rtp-ports: expected MIN-MAX, two ports 1..65535 with MIN <= MAX, got "30000-20000"',
      ],
      [["--rtp-ports", "0-100"], '--rtp-ports: expected MIN-MAX, two ports 1..65535 with MIN <= MAX, got "0-100"'],
      [
        ["--rtp-ports", "20000-70000"],
        '--rtp-ports: expected MIN-MAX, two ports 1..65535 with MIN <= MAX, got "20000-70000"',
      ],
      [
        ["--rtp-ports", "20001-20002"],
        "--rtp-ports: 20001-20002 holds no even port with the odd port after it (RTP and RTCP)",
      ],
      [["--echo-delay", "-5"], '--echo-delay: expected milliseconds 0..60000, got "-5"'],
      [["--echo-delay", "60001"], '--echo-delay: expected milliseconds 0..60000, got "60001"'],
      [["--echo-delay=1.5"], '--echo-delay: expected milliseconds 0..60000, got "1.5"'],
      [["--media-timeout", "soon"], '--media-timeout: expected seconds 0..86400 (0: never), got "soon"'],
      [["--media-timeout", "86401"], '--media-timeout: expected seconds 0..86400 (0: never), got "86401"'],
      [["--media-timeout"], "--media-timeout needs a value"],
      [["--no-media=1"], "--no-media takes no value"],
      [["--rewrite-ssrc=yes"], "--rewrite-ssrc takes no value"],
      [["--echo-delay", "100", "--no-media"], "--no-media cannot be combined with --echo-delay"],
      [["--no-media", "--rtp-ports", "20000-20099"], "--no-media cannot be combined with --rtp-ports"],
    ] as [string[], string][]
  ) {
    test(`refuses ${args.join(" ")}`, () => {
      assert.throws(() => parseArgs(args), (e) => e instanceof UsageError && e.message === message);
    });
  }
});

describe("parseArgs() media flags", () => {
  test("the RTP echo is on by default, on ports 20000-29999", () => {
    assert.deepEqual(parseArgs([]).media, { portRange: [20000, 29999] });
  });

  test("reads --rtp-ports, --echo-delay, --media-timeout (seconds, 0: never) and --rewrite-ssrc", () => {
    const o = parseArgs(["--rtp-ports", "30000-30099", "--echo-delay=250", "--media-timeout", "2.5", "--rewrite-ssrc"]);
    assert.deepEqual(o.media, { portRange: [30000, 30099], delay: 250, inactivityTimeout: 2500, rewriteSsrc: true });
    assert.deepEqual(parseArgs(["--media-timeout", "0"]).media, { portRange: [20000, 29999], inactivityTimeout: 0 });
    assert.deepEqual(parseArgs(["--rtp-ports", "20001-20003"]).media, { portRange: [20001, 20003] });
  });

  test("--no-media turns it off", () => {
    assert.equal(parseArgs(["--no-media"]).media, false);
  });

  test("--stateless turns the RTP echo off and refuses the media flags", () => {
    assert.equal(parseArgs([]).stateless, false);
    const o = parseArgs(["--stateless"]);
    assert.equal(o.stateless, true);
    assert.equal(o.media, false);
    assert.throws(
      () => parseArgs(["--stateless", "--echo-delay", "20"]),
      (e) => e instanceof UsageError && e.message === "--stateless cannot be combined with --echo-delay",
    );
    assert.throws(() => parseArgs(["--stateless=yes"]), /--stateless takes no value/);
  });

  test("--no-udp-poll turns the polled UDP sockets off; they are on by default", () => {
    assert.equal(parseArgs([]).udpPoll, true);
    assert.equal(parseArgs(["--no-udp-poll"]).udpPoll, false);
    assert.throws(() => parseArgs(["--no-udp-poll=1"]), /--no-udp-poll takes no value/);
  });
});

describe("main()", () => {
  test("--parse prints a parsed message as JSON and exits 0", async () => {
    const { code, out } = await run(["--parse"], { stdin: OPTIONS });
    assert.equal(code, 0);
    const json = JSON.parse(out.join("\n"));
    assert.equal(json.method, "OPTIONS");
    assert.deepEqual(json.cseq, { seq: 1, method: "OPTIONS" });
    assert.equal(json.via[0].branch, "z9hG4bK1");
  });

  test("--parse exits 1 on a rejected message, naming the reason, offset and status", async () => {
    const { code, err } = await run(["--parse"], { stdin: "OPTIONS sip:a@b SIP/3.0\r\n\r\n" });
    assert.equal(code, 1);
    assert.deepEqual(err, [
      'sipecho: SIP-Version "SIP/3.0" is not supported (only SIP/2.0) (byte 16; a UAS answers 505)',
    ]);
  });

  test("exits 2 on a bad flag, 0 on --help and --version", async () => {
    const bad = await run(["--bogus"]);
    assert.equal(bad.code, 2);
    assert.deepEqual(bad.err, ['sipecho: unknown flag "--bogus"\nTry --help.']);
    const help = await run(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.out[0], /^sipecho 0\.1\.0/);
    assert.match(help.out[0], /busy +486 Busy Here/);
    for (
      const flag of ["--rtp-ports MIN-MAX", "--echo-delay MS", "--media-timeout SEC", "--rewrite-ssrc", "--no-media"]
    ) {
      assert.ok(help.out[0].includes(`  ${flag}`), `--help lists ${flag}`);
    }
    const version = await run(["--version"]);
    assert.deepEqual([version.code, version.out], [0, ["sipecho 0.1.0"]]);
  });

  test("exits 2 on a bad media flag, naming it", async () => {
    const bad = await run(["--udp", "127.0.0.1:0", "--rtp-ports", "9-8"]);
    assert.equal(bad.code, 2);
    assert.deepEqual(bad.err, [
      'sipecho: --rtp-ports: expected MIN-MAX, two ports 1..65535 with MIN <= MAX, got "9-8"\nTry --help.',
    ]);
    const both = await run(["--no-media", "--media-timeout", "5"]);
    assert.equal(both.code, 2);
    assert.deepEqual(both.err, ["sipecho: --no-media cannot be combined with --media-timeout\nTry --help."]);
  });

  test("says where the RTP echo runs; --no-media leaves it out", async () => {
    const on = await run(["--udp", "127.0.0.1:0", "--rtp-ports", "26900-26909", "--media-timeout", "0"], {
      during: () => Promise.resolve(),
    });
    assert.equal(on.code, 0);
    assert.equal(on.err[1], "sipecho: RTP echo on ports 26900-26909 (5 streams), delay 0 ms, media timeout never");
    const off = await run(["--udp", "127.0.0.1:0", "--no-media"], { during: () => Promise.resolve() });
    assert.equal(off.code, 0);
    assert.ok(!off.err.some((l) => /RTP echo/.test(l)), off.err.join("\n"));
  });

  test("--stateless says so at startup, and runs no RTP echo", async () => {
    const r = await run(["--udp", "127.0.0.1:0", "--stateless"], { during: () => Promise.resolve() });
    assert.equal(r.code, 0);
    assert.equal(r.err[1], "sipecho: stateless (RFC 3261 §8.2.7): final responses only, nothing kept, no RTP echo");
    assert.ok(!r.err.some((l) => /RTP echo on/.test(l)), r.err.join("\n"));
  });

  test("exits 2 on a bad rules file, naming the file and the JSON path", async () => {
    const files = { "bad.json": '[{ "respond": { "status": 99 } }]' };
    const r = await run(["--udp", "127.0.0.1:0", "--rules", "bad.json"], { files });
    assert.equal(r.code, 2);
    assert.match(r.err[0], /^sipecho: bad\.json: \[0\]\.respond\.status: must be an integer 100\.\.699, got 99\n/);
    const missing = await run(["--rules", "nope.json"]);
    assert.equal(missing.code, 2);
    assert.match(missing.err[0], /^sipecho: --rules nope\.json: cannot read the file/);
    const syntax = await run(["--rules", "s.json"], { files: { "s.json": "[\n  {,\n]" } });
    assert.equal(syntax.code, 2);
    assert.equal(
      syntax.err[0],
      'sipecho: s.json:2:4: unexpected token "," (expected a property name in double quotes)\nTry --help.',
    );
  });

  test("runs the responder, answers with the rules file, logs a line per message, exits 0 on a signal", async () => {
    const files = {
      "r.json": '[{ "match": { "method": "OPTIONS" }, "respond": { "status": 299, "reason": "Fine" } }]',
    };
    const r = await run(["--udp", "127.0.0.1:0", "--rules", "r.json"], {
      files,
      during: async (out, err) => {
        const port = Number(/127\.0\.0\.1:(\d+)/.exec(err[0])?.[1]);
        assert.ok(port > 0, err[0]);
        const answer = await udpAsk(port, OPTIONS);
        assert.equal(answer.type === "response" && answer.status, 299);
        await waitFor(() => out.some((l) => / -> udp 127\.0\.0\.1:\d+ 299 Fine 1@a$/.test(l)));
        assert.ok(
          out.some((l) => / <- udp 127\.0\.0\.1:\d+ OPTIONS sip:echo@127\.0\.0\.1 1@a$/.test(l)),
          out.join("\n"),
        );
      },
    });
    assert.equal(r.code, 0);
    assert.match(
      r.err[0],
      /^sipecho 0\.1\.0 listening on udp 127\.0\.0\.1:\d+; try sip:echo@127\.0\.0\.1:\d+; seed \d+$/,
    );
  });

  test("--log json writes one JSON object per message; --quiet writes only the startup line", async () => {
    const json = await run(["--udp", "127.0.0.1:0", "--log", "json"], {
      during: async (out, err) => {
        const port = Number(/127\.0\.0\.1:(\d+)/.exec(err[0])?.[1]);
        await udpAsk(port, OPTIONS);
        await waitFor(() => out.length >= 2);
      },
    });
    const lines = json.out.map((l) => JSON.parse(l)).filter((l) => l.direction !== undefined);
    assert.deepEqual(lines.map((l) => [l.direction, l.transport, l.method ?? l.status, l.callId, l.cseq]), [
      ["in", "udp", "OPTIONS", "1@a", "1 OPTIONS"],
      ["out", "udp", 200, "1@a", "1 OPTIONS"],
    ]);
    // --quiet still prints the startup line, on standard error: a script learns the port of :0 from it.
    const quiet = await run(["--udp", "127.0.0.1:0", "--quiet"], {
      during: async (_out, err) => {
        const port = Number(/127\.0\.0\.1:(\d+)/.exec(err[0] ?? "")?.[1]);
        assert.ok(port > 0, `a port on the startup line: ${err.join("\n")}`);
        const answer = await udpAsk(port, OPTIONS);
        assert.equal(answer.type === "response" && answer.status, 200);
      },
    });
    assert.equal(quiet.code, 0);
    // The OPTIONS was answered, and nothing was written about it: only the startup line.
    assert.deepEqual(quiet.out, []);
    assert.equal(quiet.err.length, 1, quiet.err.join("\n"));
    assert.match(quiet.err[0], /^sipecho 0\.1\.0 listening on udp 127\.0\.0\.1:\d+; try sip:echo@127\.0\.0\.1:\d+/);
  });

  test("the seed is random unless --seed gives it; the startup line prints it, and --seed replays it", async () => {
    assert.equal(parseArgs([]).seed, undefined);
    // Ten equal alternatives: two runs with different seeds answer six requests alike once in a million.
    const alternatives = Array.from({ length: 10 }, (_, i) => ({ weight: 1, respond: { status: 200 + i } }));
    const files = { "r.json": JSON.stringify([{ match: { method: "OPTIONS" }, choose: alternatives }]) };
    const answers = async (args: string[]) => {
      const statuses: number[] = [];
      const r = await run(["--udp", "127.0.0.1:0", "--rules", "r.json", "--profile", "lab", ...args], {
        files,
        during: async (_out, err) => {
          const port = Number(/127\.0\.0\.1:(\d+)/.exec(err[0])?.[1]);
          for (let i = 0; i < 6; i++) {
            const answer = await udpAsk(port, OPTIONS.replace("z9hG4bK1", `z9hG4bK${i}`).replace("1@a", `${i}@a`));
            statuses.push(answer.type === "response" ? answer.status : 0);
          }
        },
      });
      const seed = /; seed (\d+)$/.exec(r.err[0])?.[1];
      assert.ok(seed !== undefined, `the seed on the startup line: ${r.err[0]}`);
      return { seed: Number(seed), statuses };
    };
    const first = await answers([]);
    const second = await answers([]);
    assert.notDeepEqual(second.statuses, first.statuses, "another run, another seed, other choices");
    assert.notEqual(second.seed, first.seed);
    const replay = await answers(["--seed", String(first.seed)]);
    assert.deepEqual(replay, first);
  });

  test("behind a wildcard bind the startup line says which interface address is advertised, or warns", async () => {
    const interfaces = (await detectRuntime()).networkInterfaces?.();
    const r = await run(["--udp", "0.0.0.0:0", "--quiet"], { during: () => Promise.resolve() });
    assert.equal(r.code, 0);
    const chosen = chooseAdvertised([{ transport: "udp", address: "0.0.0.0", port: 0 }], interfaces);
    if (chosen.why === "interface") {
      assert.match(
        r.err[0],
        new RegExp(
          `^sipecho 0\\.1\\.0 listening on udp 0\\.0\\.0\\.0:(\\d+), advertising ${chosen.address} ` +
            `\\(interface ${chosen.name}; --advertise to change\\); try sip:echo@${chosen.address}:\\1; seed \\d+$`,
        ),
      );
      assert.equal(r.err.length, 1, r.err.join("\n"));
    } else {
      assert.match(r.err[1], /^sipecho: warning: no interface address but loopback: advertising 127\.0\.0\.1/);
    }
    // Given, the address wins, and nothing more is said.
    const given = await run(["--udp", "0.0.0.0:0", "--advertise", "198.51.100.7", "--quiet"], {
      during: () => Promise.resolve(),
    });
    assert.match(
      given.err[0],
      /^sipecho 0\.1\.0 listening on udp 0\.0\.0\.0:\d+; try sip:echo@198\.51\.100\.7:\d+; seed/,
    );
    assert.equal(given.err.length, 1, given.err.join("\n"));
  });

  test("a wildcard bind with only loopback warns on standard error, --quiet or not", () => {
    const lines = _advertiseNotes({ address: "127.0.0.1", why: "loopback" });
    assert.deepEqual(lines, {
      where: "",
      warning: "sipecho: warning: no interface address but loopback: advertising 127.0.0.1 in Contact and SDP, " +
        "which callers on other machines cannot reach; give --advertise HOST",
    });
    assert.deepEqual(_advertiseNotes({ address: "192.0.2.2", why: "interface", name: "eth0" }), {
      where: ", advertising 192.0.2.2 (interface eth0; --advertise to change)",
      warning: undefined,
    });
    assert.deepEqual(_advertiseNotes({ address: "192.0.2.2", why: "bound" }), {
      where: "",
      warning: undefined,
    });
  });

  test("--log json: events carry the call's callId and a reason of their own that agrees with the text", async () => {
    const rtp = await freeBlock(4);
    const files = { "r.json": '[{ "match": { "method": "INVITE" }, "default": true }]' };
    const r = await run([
      "--udp",
      "127.0.0.1:0",
      "--log",
      "json",
      "--rules",
      "r.json",
      "--rtp-ports",
      `${rtp}-${rtp + 3}`,
    ], {
      files,
      during: async (out, err) => {
        const port = Number(/127\.0\.0\.1:(\d+)/.exec(err[0])?.[1]);
        await udpCall(port, "json-bye-1");
        await waitFor(() => out.some((l) => l.includes('"event":"media"')));
      },
    });
    assert.equal(r.code, 0);
    const events = r.out.map((l) => JSON.parse(l)).filter((o) => o.event !== undefined);
    const rule = events.find((e) => e.event === "rule");
    assert.equal(rule?.callId, "json-bye-1", JSON.stringify(rule));
    const media = events.find((e) => e.event === "media");
    assert.match(media?.message ?? "", /^call json-bye-1 ended \(bye\) /);
    assert.deepEqual([media.reason, media.callId], ["bye", "json-bye-1"]);
    // The counters, without a reason of the echo's own ("closed") to contradict the event's.
    assert.equal(media.media.reason, undefined);
    assert.equal(media.media.packetsIn, 0);
  });

  test("--trace logs whole messages in and out", async () => {
    assert.equal(parseArgs([]).trace, false);
    const r = await run(["--udp", "127.0.0.1:0", "--trace"], {
      during: async (out, err) => {
        const port = Number(/127\.0\.0\.1:(\d+)/.exec(err[0])?.[1]);
        await udpAsk(port, OPTIONS);
        await waitFor(() => out.length >= 2);
      },
    });
    assert.match(
      r.out[0],
      /<- udp 127\.0\.0\.1:\d+ OPTIONS sip:echo@127\.0\.0\.1 1@a\n {4}OPTIONS sip:echo@127\.0\.0\.1 SIP\/2\.0\n {4}Via: /,
    );
    assert.match(r.out[1], /-> udp 127\.0\.0\.1:\d+ 200 OK 1@a\n {4}SIP\/2\.0 200 OK\n[^]*\n {4}CSeq: 1 OPTIONS\n/);
  });

  test("exits 1 when the port cannot be bound", async () => {
    const holder = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => holder.bind(0, "127.0.0.1", resolve));
    try {
      const port = holder.address().port;
      const r = await run(["--udp", `127.0.0.1:${port}`]);
      assert.equal(r.code, 1);
      assert.deepEqual(r.err, [`sipecho: cannot listen on udp 127.0.0.1:${port}: address in use`]);
    } finally {
      holder.close();
    }
  });
});

test("--trace: formatTraffic() adds the whole message, headers and body, to each line", () => {
  const invite = "INVITE sip:echo@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1\r\n" +
    "From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:echo@127.0.0.1>\r\nCall-ID: 1@a\r\nCSeq: 1 INVITE\r\n" +
    "Content-Type: application/sdp\r\nContent-Length: 5\r\n\r\nv=0\r\n";
  const entry = {
    time: 0,
    direction: "in" as const,
    transport: "udp" as const,
    remote: { address: "127.0.0.1", port: 5061 },
    message: parseMessage(invite),
  };
  const human = formatTraffic(entry, "human", true).split("\n");
  assert.equal(human[0], "00:00:00.000 <- udp 127.0.0.1:5061 INVITE sip:echo@127.0.0.1 1@a");
  assert.deepEqual(human.slice(1), [
    "    INVITE sip:echo@127.0.0.1 SIP/2.0",
    "    Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1",
    "    From: <sip:a@127.0.0.1>;tag=1",
    "    To: <sip:echo@127.0.0.1>",
    "    Call-ID: 1@a",
    "    CSeq: 1 INVITE",
    "    Content-Type: application/sdp",
    "    Content-Length: 5",
    "    ",
    "    v=0",
    "",
  ]);
  const json = JSON.parse(formatTraffic(entry, "json", true));
  assert.equal(json.text, invite);
  assert.equal(JSON.parse(formatTraffic(entry, "json")).text, undefined);
});

test("formatTraffic() writes IPv6 remotes in brackets", () => {
  const message = parseMessage(OPTIONS);
  const line = formatTraffic(
    { time: 0, direction: "in", transport: "tcp", remote: { address: "::1", port: 5060 }, message },
    "human",
  );
  assert.equal(line, "00:00:00.000 <- tcp [::1]:5060 OPTIONS sip:echo@127.0.0.1 1@a");
});

function udpAsk(port: number, text: string) {
  return new Promise<ReturnType<typeof parseMessage>>((resolve, reject) => {
    const socket = dgram.createSocket("udp4");
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error("no answer"));
    }, 2000);
    socket.on("message", (data) => {
      clearTimeout(timer);
      socket.close();
      resolve(parseMessage(new Uint8Array(data)));
    });
    // rport (RFC 3581): the answer comes back to this socket, not to the Via's default port 5060.
    socket.send(new TextEncoder().encode(text.replace(";branch=", ";rport;branch=")), port, "127.0.0.1");
  });
}

/** A whole call over UDP from one socket: INVITE with SDP, ACK of the 200, BYE, its 200. */
async function udpCall(port: number, callId: string): Promise<void> {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const me = `127.0.0.1:${socket.address().port}`;
  const answers: string[] = [];
  socket.on("message", (d) => void answers.push(new TextDecoder().decode(d)));
  const send = (text: string) => socket.send(new TextEncoder().encode(text), port, "127.0.0.1");
  const head = (method: string, seq: number, branch: string, toTag = "") =>
    `${method} sip:echo@127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/UDP ${me};branch=z9hG4bK${branch}\r\n` +
    `From: <sip:a@127.0.0.1>;tag=a1\r\nTo: <sip:echo@127.0.0.1>${toTag}\r\nCall-ID: ${callId}\r\n` +
    `CSeq: ${seq} ${method}\r\nContact: <sip:a@${me}>\r\n`;
  const sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n";
  const final = async (seq: string) => {
    await waitFor(() => answers.some((a) => /^SIP\/2\.0 [2-6]/.test(a) && a.includes(`CSeq: ${seq}`)));
    return answers.find((a) => /^SIP\/2\.0 [2-6]/.test(a) && a.includes(`CSeq: ${seq}`))!;
  };
  try {
    send(head("INVITE", 1, "inv") + `Content-Type: application/sdp\r\nContent-Length: ${sdp.length}\r\n\r\n${sdp}`);
    const ok = await final("1 INVITE");
    const toTag = /^To:.*(;tag=[^;\r\n]+)/m.exec(ok)?.[1] ?? "";
    send(head("ACK", 1, "ack", toTag) + "Content-Length: 0\r\n\r\n");
    send(head("BYE", 2, "bye", toTag) + "Content-Length: 0\r\n\r\n");
    await final("2 BYE");
  } finally {
    socket.close();
  }
}

async function waitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), "condition not met in 2 s");
}

describe("digest authentication flags", () => {
  const REGISTER = "REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKr1\r\n" +
    "From: <sip:alice@127.0.0.1>;tag=1\r\nTo: <sip:alice@127.0.0.1>\r\nCall-ID: r@a\r\nCSeq: 1 REGISTER\r\n" +
    "Contact: <sip:alice@127.0.0.1:5999>\r\n\r\n";

  test("--auth-user is repeatable, splits at the first colon, and refuses what is not USER:PASSWORD", () => {
    const o = parseArgs(["--auth-user", "alice:se:cret", "--auth-user=bob:", "--realm", "lab"]);
    assert.deepEqual(o.authUsers, [["alice", "se:cret"], ["bob", ""]]);
    assert.equal(o.realm, "lab");
    assert.deepEqual(parseArgs([]).authUsers, []);
    assert.throws(
      () => parseArgs(["--auth-user", "alice"]),
      new UsageError('--auth-user: expected USER:PASSWORD (a user name, a colon, the password), got "alice"'),
    );
    assert.throws(() => parseArgs(["--auth-user", ":x"]), /--auth-user: expected USER:PASSWORD/);
    assert.throws(() => parseArgs(["--auth-user", "a:1", "--auth-user", "a:2"]), /user "a" is given twice/);
    assert.throws(() => parseArgs(["--realm", ""]), /--realm: expected a name without control characters, got ""/);
  });

  test("exits 2 when nobody could pass: --realm without users, a rule with auth and no users", async () => {
    const realm = await run(["--udp", "127.0.0.1:0", "--realm", "lab"]);
    assert.equal(realm.code, 2);
    assert.match(realm.err[0], /^sipecho: auth: no users, so REGISTER and INVITE could never pass/);
    const files = { "r.json": '[{ "match": { "user": "pbx" }, "auth": true, "default": true }]' };
    const rule = await run(["--udp", "127.0.0.1:0", "--rules", "r.json"], { files });
    assert.equal(rule.code, 2);
    assert.match(rule.err[0], /^sipecho: r\.json: \[0\]\.auth: no users here nor in the global settings/);
    const bad = await run(["--rules", "a.json"], { files: { "a.json": '{ "auth": { "users": [] }, "rules": [] }' } });
    assert.equal(bad.code, 2);
    assert.match(bad.err[0], /^sipecho: a\.json: auth\.users: must be an object of users by name/);
  });

  test("with --auth-user a REGISTER is challenged, the startup line says so, and an auth line is printed", async () => {
    const r = await run(["--udp", "127.0.0.1:0", "--auth-user", "alice:secret", "--no-media"], {
      during: async (out, err) => {
        const port = Number(/127\.0\.0\.1:(\d+)/.exec(err[0])?.[1]);
        const answer = await udpAsk(port, REGISTER);
        assert.equal(answer.type === "response" && answer.status, 401);
        assert.equal(answer.headers.getFields("WWW-Authenticate").length, 1);
        await waitFor(() =>
          out.some((l) => / !! auth udp 127\.0\.0\.1:\d+: REGISTER sip:127\.0\.0\.1: challenged: 401/.test(l))
        );
        const options = await udpAsk(port, OPTIONS);
        assert.equal(options.type === "response" && options.status, 200);
      },
    });
    assert.equal(r.code, 0);
    assert.ok(
      r.err.includes(
        'sipecho: digest auth (realm "sipecho", 1 user): REGISTER and INVITE outside a dialog need it, and rules with auth',
      ),
      r.err.join("\n"),
    );
  });

  test("the rules file's auth is used, with --auth-user added and --realm over it; --log json carries user and reason", async () => {
    const files = {
      "r.json": '{ "auth": { "realm": "file", "users": { "bob": "b" }, "methods": ["OPTIONS"] }, "rules": [] }',
    };
    const r = await run([
      "--udp",
      "127.0.0.1:0",
      "--rules",
      "r.json",
      "--auth-user",
      "alice:a",
      "--realm",
      "flag",
      "--log",
      "json",
    ], {
      files,
      during: async (out, err) => {
        const port = Number(/127\.0\.0\.1:(\d+)/.exec(err[0])?.[1]);
        const answer = await udpAsk(
          port,
          OPTIONS.replace("OPTIONS sip:", "OPTIONS sip:").replace("Call-ID: 1@a", "Call-ID: 2@a"),
        );
        assert.equal(answer.type === "response" && answer.status, 401);
        assert.match(answer.headers.getFields("WWW-Authenticate")[0], /^Digest realm="flag"/);
        await waitFor(() => out.some((l) => l.includes('"event":"auth"')));
        const event = JSON.parse(out.find((l) => l.includes('"event":"auth"'))!);
        assert.equal(event.reason, "missing");
        assert.equal(event.callId, "2@a");
      },
    });
    assert.equal(r.code, 0);
    assert.ok(
      r.err.some((l) => l.startsWith('sipecho: digest auth (realm "flag", 2 users): OPTIONS outside')),
      r.err.join("\n"),
    );
  });
});
