#!/usr/bin/env python3
"""CPU per echoed RTP packet and peak RSS of the RTP echo alone (bench/rtp_echo_server.ts):
STREAMS streams, each sent a 172-byte packet (PCMU, 20 ms) every 20 ms from one socket, or as
fast as this script can send with --flood; the echoes are read back and counted.

    python3 bench/rtp_echo_bench.py [--root TREE] [--runtime deno|bun] [--streams 200] [--base 22000]
                                    [--seconds 10] [--flood]
"""
import argparse, json, os, select, socket, subprocess, time

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=os.path.dirname(HERE), help="the sipecho tree to measure")
    ap.add_argument("--runtime", default="deno", choices=["deno", "bun"])
    ap.add_argument("--streams", type=int, default=200)
    ap.add_argument("--base", type=int, default=22000, help="the first RTP port")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--flood", action="store_true", help="send without pacing")
    a = ap.parse_args()
    root = os.path.abspath(a.root)
    server = os.path.join(HERE, "rtp_echo_server.ts")
    args = [str(a.streams), str(a.base), str(a.seconds)]
    cmd = (["deno", "run", "-A", "--config", os.path.join(root, "deno.json"), server, root] if a.runtime == "deno"
           else ["bun", server, root]) + args
    srv = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    if srv.stdout.readline().strip() != "ready":
        raise SystemExit("the echo did not start")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind(("127.0.0.1", 0))
    s.setblocking(False)
    packet = bytearray(172)
    packet[0] = 0x80  # RTP version 2 (RFC 3550 §5.1)
    ports = [a.base + 2 * i for i in range(a.streams)]
    sent = echoed = 0
    start = time.time()
    tick = 0
    while time.time() - start < a.seconds + 10 and not select.select([srv.stdout], [], [], 0)[0]:
        due = start + tick * 0.02
        while True:
            ready, _, _ = select.select([s], [], [], 0 if a.flood else max(0, due - time.time()))
            while ready:
                try:
                    s.recv(2048)
                    echoed += 1
                except BlockingIOError:
                    break
            if a.flood or time.time() >= due:
                break
        for port in ports:
            try:
                s.sendto(packet, ("127.0.0.1", port))
                sent += 1
            except BlockingIOError:
                pass
        tick += 1
    result = json.loads(srv.stdout.readline())
    srv.wait()
    result.update({"streams": a.streams, "flood": a.flood, "sent": sent, "echoes_read": echoed})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
