#!/usr/bin/env python3
"""CPU per call of sipecho with `--workers 2` against one worker, and how the calls split.

SIPp's built-in `uac` call over UDP with a socket per call (`-t un`), so that the kernel's
SO_REUSEPORT hash spreads the calls over the workers (with one socket, `-t u1`, every call
would go to one worker). Each run: `--warmup` calls first (unmeasured), then `--calls` calls at
`--rate`; CPU is that of the responder's whole process tree (every worker), read from /proc as
the team's sipbench.py does (its helpers are imported from ../shared/bench/sipbench.py; it has
no `-t un` itself). The split is read from the lines each worker prints as it ends
(`sipecho: worker I: N INVITE, ...`), which count the warm-up too. Rounds are interleaved:
each round runs Deno 1 worker, Deno 2 workers, Bun 1 worker, Bun 2 workers, one after the other.

    python3 bench/workers_bench.py [--rounds 2] [--rate 800] [--calls 12000] [--warmup 6000]

Needs sipp, deno and bun on PATH.
"""
import argparse, glob, importlib.util, json, os, re, shutil, signal, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def load_sipbench(shared):
    spec = importlib.util.spec_from_file_location("sipbench", os.path.join(shared, "bench", "sipbench.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def sipp(port, rate, calls, cwd):
    cmd = ["sipp", f"127.0.0.1:{port}", "-i", "127.0.0.1", "-p", "0", "-t", "un", "-r", str(rate), "-m", str(calls),
           "-l", str(max(rate * 4, 100)), "-nostdin", "-trace_stat", "-fd", "1", "-timeout", f"{calls // rate + 30}s",
           "-max_socket", "5000", "-sn", "uac", "-d", "0"]
    return subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run(sb, label, server, port, a):
    work = tempfile.mkdtemp(prefix="workers-bench-")
    log_path = os.path.join(work, "server.log")
    log = open(log_path, "w")
    srv = subprocess.Popen(server, shell=True, stdout=subprocess.DEVNULL, stderr=log, cwd=ROOT, start_new_session=True)
    result = {"label": label, "rate": a.rate, "calls": a.calls, "warmup": a.warmup}
    try:
        if not sb.probe("127.0.0.1", port, "u1", time.time() + 60):
            result["error"] = "no answer to OPTIONS"
            return result
        time.sleep(1)  # worker 0 answers first; the startup line comes once every worker has joined
        warm = tempfile.mkdtemp(prefix="workers-bench-warm-")
        sipp(port, a.rate, a.warmup, warm).wait(timeout=a.warmup // a.rate + 60)
        shutil.rmtree(warm, ignore_errors=True)
        pids = sb.tree(srv.pid)
        cpu0 = sb.cpu_seconds(pids)
        t0 = time.time()
        p = sipp(port, a.rate, a.calls, work)
        p.wait(timeout=a.calls // a.rate + 60)
        wall = time.time() - t0
        cpu = sb.cpu_seconds(sb.tree(srv.pid)) - cpu0
        csv = sorted(glob.glob(os.path.join(work, "*_.csv")))
        stats = {}
        if csv:
            lines = open(csv[-1]).read().strip().splitlines()
            stats = dict(zip(lines[0].split(";"), lines[-1].split(";")))
        ok = int(stats.get("SuccessfulCall(C)", 0))
        result.update({"ok": ok, "failed": int(stats.get("FailedCall(C)", 0)), "wall_s": round(wall, 2),
                       "server_cpu_s": round(cpu, 3), "server_cpu_us_per_call": round(cpu / ok * 1e6, 1) if ok else None})
    finally:
        try:
            left = sb.tree(srv.pid)
            os.killpg(srv.pid, signal.SIGTERM)
            srv.wait(timeout=15)
            # The workers write their counts as they end, after the shell has gone.
            deadline = time.time() + 15
            while time.time() < deadline and any(os.path.exists(f"/proc/{p}") for p in left):
                time.sleep(0.1)
        except Exception:
            try: os.killpg(srv.pid, signal.SIGKILL)
            except Exception: pass
        log.close()
        text = open(log_path).read()
        split = {int(m[1]): int(m[2]) for m in re.finditer(r"worker (\d+): (\d+) INVITE", text)}
        if split:
            result["invites_per_worker"] = [split[k] for k in sorted(split)]
        shutil.rmtree(work, ignore_errors=True)
    return result


def table(rows):
    by = {}
    for r in rows:
        by.setdefault(r["label"], []).append(r)
    one = {(r["label"].split()[0], r["round"]): r.get("server_cpu_us_per_call") for r in rows if r["label"].endswith("1 worker")}
    print("\n| runtime, workers | CPU µs/call, median (range) | vs 1 worker, per round | failed calls (max) | INVITEs per worker, each round |")
    print("| --- | --- | --- | --- | --- |")
    for label, rs in by.items():
        cpu = [r["server_cpu_us_per_call"] for r in rs if r.get("server_cpu_us_per_call")]
        if not cpu:
            print(f"| {label} | error | - | - | - |")
            continue
        ratios = [r["server_cpu_us_per_call"] / one[(label.split()[0], r["round"])] for r in rs
                  if r.get("server_cpu_us_per_call") and one.get((label.split()[0], r["round"]))]
        vs = ", ".join(f"{x:.2f}x" for x in ratios) if not label.endswith("1 worker") else "1"
        split = "; ".join("/".join(str(n) for n in r.get("invites_per_worker", [])) or "-" for r in rs)
        print(f"| {label} | {statistics.median(cpu):.1f} ({min(cpu):.1f}-{max(cpu):.1f}) | {vs} | "
              f"{max(r.get('failed', 0) for r in rs)} | {split} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.path.join(ROOT, "..", "shared"))
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--rate", type=int, default=800)
    ap.add_argument("--calls", type=int, default=12000)
    ap.add_argument("--warmup", type=int, default=6000)
    ap.add_argument("--port", type=int, default=5780, help="first UDP port; the next three follow, per round")
    ap.add_argument("--out", default="")
    ap.add_argument("--table", default="", help="print the table of saved runs (JSON lines)")
    a = ap.parse_args()
    if a.table:
        table([json.loads(l) for l in open(a.table) if l.strip()])
        return 0
    sb = load_sipbench(a.shared)
    mod, cfg = os.path.join(ROOT, "mod.ts"), os.path.join(ROOT, "deno.json")
    rows = []
    out = open(a.out, "a") if a.out else None
    for rnd in range(1, a.rounds + 1):
        port = a.port
        for rt in ("deno", "bun"):
            exe = f"deno run -A --config {cfg} {mod}" if rt == "deno" else f"bun {mod}"
            for n in (1, 2):
                port += 1
                label = f"{rt} {n} worker{'s' if n > 1 else ''}"
                cmd = f"{exe} --udp 127.0.0.1:{port} --quiet --profile lab --no-media --workers {n}"
                r = run(sb, label, cmd, port, a)
                r["round"] = rnd
                r["command"] = cmd
                print(json.dumps(r), flush=True)
                rows.append(r)
                if out:
                    out.write(json.dumps(r) + "\n")
                    out.flush()
    table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
