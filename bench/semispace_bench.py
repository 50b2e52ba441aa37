#!/usr/bin/env python3
"""Peak RSS and CPU per call of sipecho on Deno with V8's young generation capped (issue 20).

Runs, in each round and in turn: Kamailio `sl` (the CPU anchor), the bare floor on Deno's polled
UDP socket (bench/floor_poll.ts, the memory anchor), then `deno run -A mod.ts --stateless` (or
`--no-media` with --mode no-media) with V8's default young generation and with
`--v8-flags=--max-semi-space-size=N` for each N in --semi. Each run is one call of the team's
../shared/bench/sipbench.py: SIPp `uac` over UDP, --calls at --rate, no warm-up (peak RSS of the
whole run). One JSON line per run goes to --out.

    python3 bench/semispace_bench.py --rounds 2 --out bench/results/semispace-....jsonl
    python3 bench/semispace_bench.py --table bench/results/semispace-....jsonl

Needs sipp, kamailio and deno on PATH.
"""
import argparse, json, os, statistics, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def responders(a, kam_cfg):
    port = a.port
    out = [("kamailio-sl", f"kamailio -f {kam_cfg} -DD -E -w /tmp", port)]
    port += 1
    out.append(("floor-deno-poll", f"deno run -A {os.path.join(HERE, 'floor_poll.ts')} {port}", port))
    for n in [None] + [int(x) for x in a.semi.split(",") if x]:
        port += 1
        v8 = f" --v8-flags=--max-semi-space-size={n}" if n is not None else ""
        label = f"deno-{a.mode}" + (f"-semi{n}" if n is not None else "")
        out.append((label, f"deno run -A{v8} {os.path.join(ROOT, 'mod.ts')} --udp 127.0.0.1:{port} --quiet --profile lab --{a.mode}", port))
    return out


def table(rows):
    by = {}
    for r in rows:
        by.setdefault(r["label"], []).append(r)
    kam = {r["round"]: r["server_cpu_us_per_call"] for r in by.get("kamailio-sl", []) if r.get("server_cpu_us_per_call")}
    print("| responder | CPU µs/call, per round | vs `sl`, per round | peak RSS MiB, per round | failed calls |")
    print("| --- | --- | --- | --- | --- |")
    for label, rs in by.items():
        cpu = ", ".join(f"{r.get('server_cpu_us_per_call', '-')}" for r in rs)
        ratio = ", ".join(f"{r['server_cpu_us_per_call'] / kam[r['round']]:.2f}x" for r in rs if r["round"] in kam and r.get("server_cpu_us_per_call"))
        rss = ", ".join(f"{r.get('server_peak_rss_mib', '-')}" for r in rs)
        failed = max(r.get("failed", 0) for r in rs)
        print(f"| {label} | {cpu} | {ratio} | {rss} | {failed} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--calls", type=int, default=150000)
    ap.add_argument("--rate", type=int, default=2500)
    ap.add_argument("--semi", default="1,2,4", help="the --max-semi-space-size values (MiB) to run")
    ap.add_argument("--mode", default="stateless", choices=["stateless", "no-media"])
    ap.add_argument("--port", type=int, default=5380)
    ap.add_argument("--only", default="", help="comma-separated labels to run")
    ap.add_argument("--out", default="")
    ap.add_argument("--shared", default=os.path.join(ROOT, "..", "shared", "bench"))
    ap.add_argument("--table", default="")
    a = ap.parse_args()
    if a.table:
        table([json.loads(l) for l in open(a.table) if l.strip()])
        return
    text = open(os.path.join(HERE, "anchors", "kamailio-responder.cfg")).read().replace("127.0.0.1:5080", f"127.0.0.1:{a.port}")
    kam_cfg = os.path.join(tempfile.mkdtemp(prefix="semispace-"), "kamailio-responder.cfg")
    open(kam_cfg, "w").write(text)
    sipbench = os.path.join(a.shared, "sipbench.py")
    only = set(a.only.split(",")) if a.only else None
    rows = []
    for rnd in range(1, a.rounds + 1):
        for label, cmd, port in responders(a, kam_cfg):
            if only and label not in only:
                continue
            args = [sys.executable, sipbench, "--server", cmd, "--target", f"127.0.0.1:{port}", "--rate", str(a.rate),
                    "--calls", str(a.calls), "--label", label]
            out = subprocess.run(args, capture_output=True, text=True, cwd=ROOT)
            r = next((json.loads(l) for l in reversed(out.stdout.strip().splitlines()) if l.startswith("{")),
                     {"label": label, "error": (out.stdout + out.stderr)[-500:]})
            r["round"] = rnd
            r["command"] = cmd
            rows.append(r)
            print(json.dumps(r), flush=True)
            if a.out:
                with open(a.out, "a") as f:
                    f.write(json.dumps(r) + "\n")
    table(rows)


if __name__ == "__main__":
    main()
