#!/usr/bin/env python3
"""What --http costs a call: CPU per call of the stateful peer without and with --http
(every message also recorded for the live page), with a client scraping /metrics every
second during the --http runs. Runs /work/shared/bench/sipbench.py (SIPp uac over UDP,
2,500 calls/s, 15,000 calls of warm-up, 25,000 measured), two interleaved rounds on each
runtime, and appends one JSON line per run to OUT (each with the scrapes it made).

usage: python3 bench/http_bench.py OUT.jsonl [SIPBENCH]   (from the repository's top)
"""
import json, subprocess, sys, threading, time, urllib.request

OUT = sys.argv[1]
SIPBENCH = sys.argv[2] if len(sys.argv) > 2 else "/work/shared/bench/sipbench.py"
SIP, HTTP = 7297, 7298
RUNTIMES = {"deno": "deno run -A mod.ts", "bun": "bun mod.ts"}


def scrape(stop, counts):
    """GET /metrics once a second until stopped; counts the answers (ok, failed)."""
    while not stop.wait(1.0):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{HTTP}/metrics", timeout=2) as r:
                r.read()
                counts["ok"] += 1
        except OSError:
            counts["failed"] += 1


def run(runtime, http, round_):
    server = f"{RUNTIMES[runtime]} --udp 127.0.0.1:{SIP} --no-media --quiet --profile lab"
    if http:
        server += f" --http 127.0.0.1:{HTTP}"
    label = f"{runtime}-{'http' if http else 'off'}-r{round_}"
    stop, counts = threading.Event(), {"ok": 0, "failed": 0}
    scraper = threading.Thread(target=scrape, args=(stop, counts)) if http else None
    if scraper:
        scraper.start()
    try:
        out = subprocess.run(
            ["python3", SIPBENCH, "--server", server, "--target", f"127.0.0.1:{SIP}", "--warmup", "15000",
             "--calls", "25000", "--rate", "2500", "--label", label],
            capture_output=True, text=True, check=False).stdout.strip().splitlines()[-1]
    finally:
        stop.set()
        if scraper:
            scraper.join()
    result = json.loads(out)
    result["server"] = server
    if http:
        result["scrapes"] = counts
    print(json.dumps(result), flush=True)
    with open(OUT, "a") as f:
        f.write(json.dumps(result) + "\n")


for round_ in (1, 2):
    for runtime in RUNTIMES:
        for http in (False, True):
            run(runtime, http, round_)
