#!/usr/bin/env python3
"""Where a call's CPU goes on the wire: sipecho under a SIPp load with the runtime's sampling profiler
(`--cpu-prof`, a V8-format .cpuprofile on both Deno and Bun), summarised by self time.

Starts sipecho with `--cpu-prof`, runs a SIPp `uac` warm-up, then the measured calls, stops the
server with SIGINT (the profile is written on exit), and keeps only the samples of the measured
window (the last `wall` seconds before the stop). Prints self time per call by category, by
module and by function (top 25). The profiler's own overhead inflates every figure; read shares.

    python3 bench/profile_wire.py --runtime deno|bun [--mode stateless|no-media|rtp-echo]
        [--warmup 15000] [--calls 25000] [--rate 2500] [--port 5299] [--keep DIR]
    python3 bench/profile_wire.py --summarize FILE.cpuprofile --calls N [--window SECONDS]

Needs sipp, and deno or bun, on PATH.
"""
import argparse, collections, glob, json, os, signal, socket, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# Categories by module path (first match wins) and by V8/JSC pseudo-function name.
CATEGORIES = [
    ("parse", ("/src/sip/parse", "/src/sip/headers", "/src/sip/message", "/src/sip/uri", "/src/sip/chars",
               "/src/sip/via", "/src/sip/name_addr", "/src/sip/params")),
    ("SDP / media", ("/src/media/",)),
    ("rules", ("/src/rules/",)),
    ("response writing", ("/src/sip/response", "/src/sip/format", "/src/sip/serialize", "/src/ua/replies",
                          "/src/ua/reply")),
    ("transactions, dialogs, timers", ("/src/ua/transaction", "/src/ua/context", "/src/ua/scheduler",
                                       "/src/ua/dialog", "/src/ua/expiry", "/src/ua/tomb")),
    ("peer (other src/ua)", ("/src/ua/",)),
    ("sockets, server loop (src/net)", ("/src/net/",)),
    ("other sipecho", ("/src/",)),
]


def category(node):
    name, url = node["callFrame"]["functionName"], node["callFrame"].get("url", "")
    if name in ("(garbage collector)",):
        return "GC"
    if name in ("(idle)",):
        return "idle"
    if name in ("(program)",):
        return "native (runtime, syscalls, compiler)"
    for cat, prefixes in CATEGORIES:
        if any(p in url for p in prefixes):
            return cat
    if url.startswith("ext:") or url.startswith("node:") or "deno:" in url or url.startswith("bun:") or url.startswith("builtin:"):
        return "runtime JS (ext:, node:, builtins)"
    if not url:
        return "native / builtins (no url)"
    return "other JS"


def summarize(path, calls, window=None, top=25):
    prof = json.load(open(path))
    nodes = {n["id"]: n for n in prof["nodes"]}
    samples, deltas = prof["samples"], prof["timeDeltas"]
    times, t = [], prof["startTime"]
    for d in deltas:
        t += d
        times.append(t)
    end = prof["endTime"] if window is None else times[-1]
    lo = end - window * 1e6 if window else prof["startTime"]
    # Each sample stands for the interval up to the next one.
    self_us = collections.Counter()
    for i, nid in enumerate(samples):
        if times[i] < lo:
            continue
        dt = (times[i + 1] - times[i]) if i + 1 < len(times) else 0
        self_us[nid] += dt
    by_cat, by_mod, by_fn = collections.Counter(), collections.Counter(), collections.Counter()
    for nid, us in self_us.items():
        n = nodes[nid]
        cf = n["callFrame"]
        url = cf.get("url", "")
        mod = url.split("/src/", 1)[1] if "/src/" in url else (url or "(native)")
        by_cat[category(n)] += us
        by_mod["src/" + mod if "/src/" in url else mod] += us
        by_fn[f"{cf['functionName'] or '(anonymous)'} {mod}:{cf.get('lineNumber', -1) + 1}"] += us
    busy = sum(us for c, us in by_cat.items() if c != "idle")
    print(f"\n{path}: window {window or 'all'} s, {calls} calls; busy {busy / 1e3:.0f} ms = {busy / calls:.1f} µs/call "
          f"(main thread, sampled)\n")
    print("| category | µs/call | share of busy |\n| --- | --- | --- |")
    for c, us in by_cat.most_common():
        if c != "idle":
            print(f"| {c} | {us / calls:.1f} | {100 * us / busy:.0f}% |")
    print("\n| module | µs/call | share |\n| --- | --- | --- |")
    for m, us in by_mod.most_common(top):
        if m != "(native)" or True:
            print(f"| {m} | {us / calls:.2f} | {100 * us / busy:.1f}% |")
    print("\n| function | µs/call | share |\n| --- | --- | --- |")
    for f, us in by_fn.most_common(top + 15):
        print(f"| {f} | {us / calls:.2f} | {100 * us / busy:.1f}% |")


def probe(port, deadline):
    msg = (f"OPTIONS sip:probe@127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;rport;branch=z9hG4bKp{time.time_ns()}\r\n"
           f"From: <sip:p@127.0.0.1>;tag=p\r\nTo: <sip:p@127.0.0.1>\r\nCall-ID: p{time.time_ns()}\r\nCSeq: 1 OPTIONS\r\n"
           f"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode()
    while time.time() < deadline:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.3)
        try:
            s.sendto(msg, ("127.0.0.1", port))
            if s.recv(65535).startswith(b"SIP/2.0 "):
                return True
        except OSError:
            time.sleep(0.2)
        finally:
            s.close()
    return False


def sipp(port, calls, rate, cwd):
    cmd = ["sipp", f"127.0.0.1:{port}", "-i", "127.0.0.1", "-p", "0", "-t", "u1", "-r", str(rate), "-m", str(calls),
           "-l", str(rate * 4), "-nostdin", "-timeout", f"{calls // rate + 30}s", "-max_socket", "2000", "-sn", "uac", "-d", "0"]
    t0 = time.time()
    subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.time() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runtime", choices=["deno", "bun"])
    ap.add_argument("--mode", default="no-media", choices=["stateless", "no-media", "rtp-echo"])
    ap.add_argument("--warmup", type=int, default=15000)
    ap.add_argument("--calls", type=int, default=25000)
    ap.add_argument("--rate", type=int, default=2500)
    ap.add_argument("--port", type=int, default=5299)
    ap.add_argument("--keep", default="")
    ap.add_argument("--summarize", default="")
    ap.add_argument("--window", type=float, default=None)
    a = ap.parse_args()
    if a.summarize:
        summarize(a.summarize, a.calls, a.window)
        return
    out = a.keep or tempfile.mkdtemp(prefix="prof-")
    os.makedirs(out, exist_ok=True)
    flag = {"stateless": ["--stateless"], "no-media": ["--no-media"], "rtp-echo": []}[a.mode]
    mod = os.path.join(ROOT, "mod.ts")
    prof = ["--cpu-prof", f"--cpu-prof-dir={out}", "--cpu-prof-interval=200"]
    exe = (["deno", "run", "-A", *prof, "--config", os.path.join(ROOT, "deno.json"), mod] if a.runtime == "deno"
           else ["bun", *prof, mod])
    srv = subprocess.Popen(exe + ["--udp", f"127.0.0.1:{a.port}", "--quiet", "--profile", "lab", *flag],
                           cwd=ROOT, start_new_session=True)
    try:
        if not probe(a.port, time.time() + 30):
            sys.exit("server never answered")
        work = tempfile.mkdtemp(prefix="prof-sipp-")
        if a.warmup:
            sipp(a.port, a.warmup, a.rate, work)
        wall = sipp(a.port, a.calls, a.rate, work)
    finally:
        srv.send_signal(signal.SIGINT)
        srv.wait(timeout=30)
    files = sorted(glob.glob(os.path.join(out, "*.cpuprofile")), key=os.path.getmtime)
    if not files:
        sys.exit("no .cpuprofile written")
    summarize(files[-1], a.calls, wall)


if __name__ == "__main__":
    main()
