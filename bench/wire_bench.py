#!/usr/bin/env python3
"""The wire comparison in one command: CPU per call, failures and peak RSS of sipecho
on Bun and on Deno beside Kamailio (the C reference) and the bare-floor responders, driven by
SIPp through the team's sipbench.py, plus cold start through startup.py. Rounds are interleaved
so every responder sees the same machine load; medians are reported, with ratios to Kamailio
(CPU) and to the floor of the same runtime (startup).

    python3 bench/wire_bench.py [--shared ../shared] [--rounds 3] [--rate 2500] [--calls 25000]

Needs sipp (sip-tester), kamailio, bun and deno on PATH.
"""
import argparse, json, os, statistics, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def responders(shared):
    floor = os.path.join(shared, "bench", "limit", "respond.mjs")
    kam = os.path.join(shared, "bench", "anchors", "kamailio-responder.cfg")
    mod = os.path.join(ROOT, "mod.ts")
    cfg = os.path.join(ROOT, "deno.json")
    return [
        ("kamailio", f"kamailio -f {kam} -DD -E -w /tmp", 5080, None),
        ("floor-bun", f"bun {floor} 5101", 5101, None),
        ("floor-deno", f"deno run -A --unstable-net {floor} 5102", 5102, None),
        # The same floor on the Deno shim's polled UDP socket (what sipecho uses on Deno).
        ("floor-deno-poll", f"deno run -A {os.path.join(HERE, 'floor_poll.ts')} 5107", 5107, None),
        # Kamailio's responder handles no media: compare like with like (--no-media); the
        # "+media" rows show the cost of the RTP echo sockets opened and closed per call.
        ("sipecho-bun", f"bun {mod} --udp 127.0.0.1:5103 --quiet --profile lab --no-media", 5103, "floor-bun"),
        ("sipecho-deno", f"deno run -A --config {cfg} {mod} --udp 127.0.0.1:5104 --quiet --profile lab --no-media", 5104,
         "floor-deno"),
        # The stateless UAS (RFC 3261 §8.2.7): what Kamailio's sl responder does, final responses only.
        ("sipecho-bun-stateless", f"bun {mod} --udp 127.0.0.1:5108 --quiet --profile lab --stateless", 5108, "floor-bun"),
        ("sipecho-deno-stateless", f"deno run -A --config {cfg} {mod} --udp 127.0.0.1:5109 --quiet --profile lab --stateless", 5109,
         "floor-deno"),
        ("sipecho-bun+media", f"bun {mod} --udp 127.0.0.1:5105 --quiet --profile lab", 5105, "floor-bun"),
        ("sipecho-deno+media", f"deno run -A --config {cfg} {mod} --udp 127.0.0.1:5106 --quiet --profile lab", 5106,
         "floor-deno"),
    ]


def run_json(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    for line in reversed(out.stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                # startup.py prints a Python dict
                return json.loads(line.replace("'", '"').replace("None", "null"))
    raise RuntimeError(f"no result from {' '.join(cmd)}:\n{out.stdout}\n{out.stderr}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.path.join(ROOT, "..", "shared"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rate", type=int, default=2500)
    ap.add_argument("--calls", type=int, default=25000)
    ap.add_argument("--only", default="", help="comma-separated labels")
    ap.add_argument("--no-startup", action="store_true")
    a = ap.parse_args()
    shared = os.path.abspath(a.shared)
    sipbench = os.path.join(shared, "bench", "sipbench.py")
    startup = os.path.join(shared, "bench", "startup.py")
    chosen = [r for r in responders(shared) if not a.only or r[0] in a.only.split(",")]
    load, start = {}, {}
    for rnd in range(a.rounds):
        for label, cmd, port, _ in chosen:
            r = run_json([sys.executable, sipbench, "--server", cmd, "--target", f"127.0.0.1:{port}",
                          "--rate", str(a.rate), "--calls", str(a.calls), "--label", label])
            load.setdefault(label, []).append(r)
            print(f"round {rnd + 1} {label}: {r['server_cpu_us_per_call']} µs/call, {r['failed']} failed, "
                  f"{r['server_peak_rss_mib']} MiB", file=sys.stderr)
    if not a.no_startup:
        for label, cmd, port, _ in chosen:
            if label == "kamailio":
                continue
            start[label] = run_json([sys.executable, startup, cmd, str(port), "7"])["startup_ms_median"]
    med = lambda xs: statistics.median(xs)
    kam = med([r["server_cpu_us_per_call"] for r in load["kamailio"]]) if "kamailio" in load else None
    print(f"\nSIPp uac over UDP, {a.rate} calls/s, {a.calls} calls, median of {a.rounds} interleaved rounds\n")
    print("| responder | CPU µs/call | vs Kamailio | failed calls (max) | peak RSS MiB (max) | cold start ms | vs floor |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for label, _, _, floor in chosen:
        rs = load[label]
        cpu = med([r["server_cpu_us_per_call"] for r in rs])
        ratio = f"{cpu / kam:.2f}x" if kam else "-"
        st = start.get(label)
        vs = f"{st / start[floor]:.2f}x" if st and floor in start else "-"
        print(f"| {label} | {cpu:.1f} | {ratio} | {max(r['failed'] for r in rs)} | "
              f"{max(r['server_peak_rss_mib'] for r in rs):.1f} | {st if st else '-'} | {vs} |")


if __name__ == "__main__":
    main()
