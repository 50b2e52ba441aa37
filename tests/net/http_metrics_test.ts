// serve({ http }): /metrics read back by a parser of the Prometheus text format 0.0.4 written
// here, after calls placed by the mock peer's UAC; /healthz, 404, 405, 414; bind errors.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ListenError, serve } from "../../src/net/serve.ts";
import { MockPeer } from "../../src/testing/mock.ts";
import type { RuntimeNet } from "../../src/net/transport.ts";
import { detectRuntime } from "../../src/net/runtime/detect.ts";
import { parseArgs, UsageError } from "../../src/cli/args.ts";
import { until } from "../_wait.ts";

const UDP = [{ transport: "udp" as const, hostname: "127.0.0.1", port: 0 }];

interface Family {
  help: string | undefined;
  type: string | undefined;
  samples: Map<string, number>;
}

/**
 * The exposition text read into families by name (`_bucket`, `_sum`, `_count` under their
 * histogram), each sample keyed by its name and labels as written (`name{a="b"}`). Throws on a
 * line that is not a comment or a sample, and on a sample before its family's TYPE line.
 */
function parseExposition(text: string): Map<string, Family> {
  assert.ok(text.endsWith("\n"), "the text ends in a newline");
  const families = new Map<string, Family>();
  const family = (name: string) => {
    let f = families.get(name);
    if (f === undefined) families.set(name, f = { help: undefined, type: undefined, samples: new Map() });
    return f;
  };
  for (const line of text.slice(0, -1).split("\n")) {
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta !== null) {
      if (meta[1] === "HELP") family(meta[2]).help = meta[3];
      else family(meta[2]).type = meta[3];
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*",?)*\})? (\S+)$/.exec(line);
    assert.ok(sample !== null, `not a sample line: ${JSON.stringify(line)}`);
    const name = sample[1];
    const base = families.has(name) ? name : name.replace(/_(bucket|sum|count)$/, "");
    const f = families.get(base);
    assert.ok(f?.type !== undefined, `${name}: a sample before its TYPE line`);
    const value = sample[3] === "+Inf" ? Infinity : Number(sample[3]);
    assert.ok(!Number.isNaN(value), `${line}: not a number`);
    f.samples.set(name + (sample[2] ?? ""), value);
  }
  return families;
}

function sample(families: Map<string, Family>, family: string, key: string): number | undefined {
  return families.get(family)?.samples.get(key);
}

describe("serve({ http }) /metrics", () => {
  test("/metrics counts calls made by the mock UAC, in the Prometheus text format 0.0.4", async () => {
    await using server = await serve({ listen: UDP, http: { port: 0 } });
    await using uac = await MockPeer.start();
    const base = `http://127.0.0.1:${server.http!.port}`;
    for (let i = 0; i < 3; i++) {
      const call = await uac.request({ method: "INVITE", uri: server.uri("echo"), sdp: true });
      assert.equal(call.status, 200);
      assert.equal((await call.bye()).status, 200);
    }
    assert.equal((await uac.request({ method: "INVITE", uri: server.uri("busy"), sdp: true })).status, 486);
    await until(() => server.stats().requests.ACK.udp === 4, "the four ACKs");
    const response = await fetch(`${base}/metrics`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    const m = parseExposition(await response.text());
    for (const [name, f] of m) {
      assert.ok(f.help !== undefined && f.help.length > 0, `${name} has HELP`);
      assert.ok(f.type === "counter" || f.type === "gauge" || f.type === "histogram", `${name} has a TYPE`);
      if (f.type === "counter") assert.match(name, /_total$/);
    }
    assert.equal(sample(m, "sipecho_requests_total", 'sipecho_requests_total{method="INVITE",transport="udp"}'), 4);
    assert.equal(sample(m, "sipecho_requests_total", 'sipecho_requests_total{method="BYE",transport="udp"}'), 3);
    assert.equal(sample(m, "sipecho_requests_total", 'sipecho_requests_total{method="ACK",transport="udp"}'), 4);
    assert.equal(sample(m, "sipecho_requests_total", 'sipecho_requests_total{method="INVITE",transport="tcp"}'), 0);
    assert.equal(sample(m, "sipecho_responses_total", 'sipecho_responses_total{class="2xx",code="200"}'), 6);
    assert.equal(sample(m, "sipecho_responses_total", 'sipecho_responses_total{class="4xx",code="486"}'), 1);
    // The 180 and the final go at once: no 100 Trying (RFC 3261 §17.2.1).
    assert.equal(sample(m, "sipecho_responses_total", 'sipecho_responses_total{class="1xx",code="180"}'), 3);
    assert.equal(sample(m, "sipecho_responses_total", 'sipecho_responses_total{class="1xx",code="100"}'), undefined);
    // Seven final responses (3 INVITE, 3 BYE, 1 busy INVITE), all at once on the peer's clock.
    assert.equal(sample(m, "sipecho_response_time_seconds", "sipecho_response_time_seconds_count"), 7);
    assert.equal(sample(m, "sipecho_response_time_seconds", 'sipecho_response_time_seconds_bucket{le="0.001"}'), 7);
    assert.equal(sample(m, "sipecho_response_time_seconds", 'sipecho_response_time_seconds_bucket{le="+Inf"}'), 7);
    const buckets = [...m.get("sipecho_response_time_seconds")!.samples].filter(([k]) => k.includes("_bucket"));
    assert.deepEqual(buckets.map(([, v]) => v), [...buckets.map(([, v]) => v)].sort((a, b) => a - b), "cumulative");
    assert.equal(sample(m, "sipecho_dialogs", "sipecho_dialogs"), 0);
    assert.equal(sample(m, "sipecho_dialogs_limit", "sipecho_dialogs_limit"), 10_000);
    assert.equal(sample(m, "sipecho_rtp_streams_limit", "sipecho_rtp_streams_limit"), 0); // no media
    assert.equal(sample(m, "sipecho_parse_errors_total", "sipecho_parse_errors_total"), 0);
    assert.equal(
      sample(m, "sipecho_dropped_messages_total", 'sipecho_dropped_messages_total{reason="rate"}'),
      0,
    );
  });

  test("/healthz answers 200 while listening; other paths 404, other methods 405, long targets 414", async () => {
    const server = await serve({ listen: UDP, http: "127.0.0.1:0" });
    const base = `http://127.0.0.1:${server.http!.port}`;
    try {
      const health = await fetch(`${base}/healthz`);
      assert.deepEqual([health.status, await health.text()], [200, "ok\n"]);
      const missing = await fetch(`${base}/nothing`);
      assert.equal(missing.status, 404);
      await missing.body?.cancel();
      const post = await fetch(`${base}/metrics`, { method: "POST", body: "x" });
      assert.deepEqual([post.status, post.headers.get("allow")], [405, "GET, HEAD"]);
      await post.body?.cancel();
      const long = await fetch(`${base}/metrics?${"a".repeat(2048)}`);
      assert.equal(long.status, 414);
      await long.body?.cancel();
      const head = await fetch(`${base}/metrics`, { method: "HEAD" });
      assert.equal(head.status, 200);
    } finally {
      await server.close();
    }
    // Closed: the port no longer answers.
    await assert.rejects(fetch(`${base}/healthz`));
  });

  test("serve({ http }) rejects with a ListenError naming http when the port is taken, and closes what it bound", async () => {
    await using first = await serve({ listen: UDP, http: { port: 0 } });
    const port = first.http!.port;
    const error = await serve({ listen: UDP, http: { hostname: "127.0.0.1", port } }).catch((e) => e);
    assert.ok(error instanceof ListenError, String(error));
    assert.match(error.message, new RegExp(`^cannot listen on http 127\\.0\\.0\\.1:${port}: `));
  });

  test("serve({ http }) refuses a shim without serveHttp, and a bad port", async () => {
    const real = await detectRuntime();
    const { serveHttp: _, ...rest } = real;
    const net: RuntimeNet = { ...rest, name: "bare" };
    await assert.rejects(serve({ net, listen: UDP, http: { port: 0 } }), /the bare socket shim cannot serve HTTP/);
    await assert.rejects(serve({ listen: UDP, http: { port: 70000 } }), RangeError);
  });

  test("the Node.js shim's serveHttp (node:http) serves /metrics and /healthz, here on this runtime", async () => {
    const { nodeNet } = await import("../../src/net/runtime/node.ts");
    await using server = await serve({ net: nodeNet, listen: UDP, http: { port: 0 } });
    const base = `http://127.0.0.1:${server.http!.port}`;
    assert.equal(await (await fetch(`${base}/healthz`)).text(), "ok\n");
    assert.match(await (await fetch(`${base}/metrics`)).text(), /^sipecho_dialogs 0$/m);
  });

  test("server.http is undefined without the http option", async () => {
    await using server = await serve({ listen: UDP });
    assert.equal(server.http, undefined);
  });
});

describe("--http", () => {
  test("parseArgs() reads --http PORT as 127.0.0.1:PORT, and HOST:PORT as given", () => {
    assert.deepEqual(parseArgs(["--http", "9100"]).http, { hostname: "127.0.0.1", port: 9100 });
    assert.deepEqual(parseArgs(["--http=0.0.0.0:9100"]).http, { hostname: "0.0.0.0", port: 9100 });
    assert.deepEqual(parseArgs(["--http", "[::1]:9100"]).http, { hostname: "::1", port: 9100 });
    assert.equal(parseArgs([]).http, undefined);
  });

  test("parseArgs() refuses --http with a host name or a port over 65535", () => {
    assert.throws(() => parseArgs(["--http", "localhost:9100"]), UsageError);
    assert.throws(() => parseArgs(["--http", "99999"]), /--http: .*over 65535/);
  });
});
