#!/usr/bin/env python3
"""Steady-state CPU per call and peak RSS of sipecho beside Kamailio's stateless responder (`sl`).

Each round runs, one after the other (so every responder sees the same machine load):
Kamailio `sl` (bench/anchors/kamailio-responder.cfg), then sipecho on Deno and on Bun with
`--profile lab` in three modes: `--stateless`, stateful `--no-media`, and stateful with the RTP echo.
Every run is one call of the team's sipbench.py (../shared/bench/sipbench.py, not part of the
product; pass --shared to point elsewhere): SIPp's built-in `uac` call over UDP, `--warmup` calls
first (unmeasured), then `--calls` calls at `--rate`. The table gives the median and range of CPU
µs per call over the rounds, the median of the per-round ratios to Kamailio, failed calls and
peak RSS (whole process tree).

    python3 bench/steady_state.py [--rounds 3] [--out bench/results/steady-....jsonl]
    python3 bench/steady_state.py --sustained        # 150,000 calls at 2,500/s, no warm-up: peak RSS over 60 s
    python3 bench/steady_state.py --table FILE.jsonl # the table again, from saved runs
    python3 bench/steady_state.py --before DIR       # also DIR's sipecho (an earlier commit), labelled before-...

Needs sipp, kamailio, deno and bun on PATH.
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MODES = [("stateless", "--stateless"), ("no-media", "--no-media"), ("rtp-echo", "")]


def responders(base, kam_cfg, before=""):
    out = [("kamailio-sl", f"kamailio -f {kam_cfg} -DD -E -w /tmp", base)]
    port = base
    trees = [("", ROOT)] + ([("before-", os.path.abspath(before))] if before else [])
    for mode, flag in MODES:
        for rt in ("deno", "bun"):
            for prefix, root in trees:
                mod = os.path.join(root, "mod.ts")
                cfg = os.path.join(root, "deno.json")
                port += 1
                exe = f"deno run -A --config {cfg} {mod}" if rt == "deno" else f"bun {mod}"
                out.append((f"{prefix}{rt}-{mode}", f"{exe} --udp 127.0.0.1:{port} --quiet --profile lab {flag}".strip(), port))
    return out


def run(sipbench, label, cmd, port, a):
    args = [sys.executable, sipbench, "--server", cmd, "--target", f"127.0.0.1:{port}", "--rate", str(a.rate),
            "--calls", str(a.calls), "--warmup", str(a.warmup), "--label", label]
    out = subprocess.run(args, capture_output=True, text=True, cwd=ROOT)
    for line in reversed(out.stdout.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return {"label": label, "error": (out.stdout + out.stderr)[-500:]}


def table(rows, title):
    by = {}
    for r in rows:
        by.setdefault(r["label"], []).append(r)
    kam = {r["round"]: r["server_cpu_us_per_call"] for r in by.get("kamailio-sl", []) if r.get("server_cpu_us_per_call")}
    print(f"\n{title}\n")
    print("| responder | CPU µs/call, median (range) | vs Kamailio `sl`, median (range) | failed calls (max) | peak RSS MiB, median (max) |")
    print("| --- | --- | --- | --- | --- |")
    for label, rs in by.items():
        rs = [r for r in rs if r.get("server_cpu_us_per_call")]
        if not rs:
            print(f"| {label} | error | - | - | - |")
            continue
        cpu = [r["server_cpu_us_per_call"] for r in rs]
        ratios = [r["server_cpu_us_per_call"] / kam[r["round"]] for r in rs if r["round"] in kam]
        rss = [r["server_peak_rss_mib"] for r in rs]
        rt = f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})" if ratios else "-"
        print(f"| {label} | {statistics.median(cpu):.1f} ({min(cpu):.1f}-{max(cpu):.1f}) | {rt} | "
              f"{max(r['failed'] for r in rs)} | {statistics.median(rss):.1f} ({max(rss):.1f}) |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.path.join(ROOT, "..", "shared"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rate", type=int, default=2500)
    ap.add_argument("--calls", type=int, default=25000)
    ap.add_argument("--warmup", type=int, default=15000)
    ap.add_argument("--sustained", action="store_true", help="150,000 calls at 2,500/s without warm-up, 1 round")
    ap.add_argument("--only", default="", help="comma-separated labels")
    ap.add_argument("--port", type=int, default=5280, help="first UDP port (Kamailio's); the others follow")
    ap.add_argument("--out", default="")
    ap.add_argument("--before", default="", help="another tree (e.g. an earlier commit's) run beside, as before-LABEL")
    ap.add_argument("--table", default="", help="print the table of a saved jsonl file and exit")
    a = ap.parse_args()
    if a.table:
        rows = [json.loads(l) for l in open(a.table) if l.strip()]
        table(rows, a.table)
        return
    if a.sustained:
        a.calls, a.warmup = 150000, 0
        a.rounds = min(a.rounds, 1) if a.rounds == 3 else a.rounds
    sipbench = os.path.join(os.path.abspath(a.shared), "bench", "sipbench.py")
    # The anchor listens on 5080; run it on our own port so that other benchmarks on the machine do not collide.
    text = open(os.path.join(HERE, "anchors", "kamailio-responder.cfg")).read().replace("127.0.0.1:5080", f"127.0.0.1:{a.port}")
    kam_cfg = os.path.join(tempfile.mkdtemp(prefix="steady-"), "kamailio-responder.cfg")
    open(kam_cfg, "w").write(text)
    only = a.only.split(",") if a.only else []
    chosen = [r for r in responders(a.port, kam_cfg, a.before)
              if not only or r[0] in only or (r[0].startswith("before-") and r[0][7:] in only)]
    out = open(a.out, "a") if a.out else None
    rows = []
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    for rnd in range(a.rounds):
        for label, cmd, port in chosen:
            r = run(sipbench, label, cmd, port, a)
            r.update({"round": rnd + 1, "date": stamp, "warmup": a.warmup})
            rows.append(r)
            if out:
                out.write(json.dumps(r) + "\n")
                out.flush()
            print(f"round {rnd + 1} {label}: {r.get('server_cpu_us_per_call')} µs/call, {r.get('failed')} failed, "
                  f"{r.get('server_peak_rss_mib')} MiB", file=sys.stderr, flush=True)
    table(rows, f"SIPp uac over UDP, warm-up {a.warmup} calls, then {a.calls} calls at {a.rate}/s, {a.rounds} interleaved rounds")


if __name__ == "__main__":
    main()
