#!/usr/bin/env python3
"""Edge benchmark: what each abuse scenario of a public address costs a running sipecho.

Starts the server command afresh for each probe (a probe that fills tables must not affect the
next), waits until it answers an OPTIONS over UDP, runs the probe, stops the server with SIGTERM
(timing the exit; SIGKILL after 10 s) while the probe's client sockets are still open, and prints
one JSON line per probe: what was sent, what was measured, the server's process-tree peak RSS
(VmRSS summed over the tree, sampled every 100 ms) and CPU (utime+stime of the tree), and a
"pass" field where the probe has a target.

    python3 bench/edge_bench.py --server "deno run -A mod.ts --udp 127.0.0.1:5099 --tcp 127.0.0.1:5099 \
        --ws 127.0.0.1:5098 --quiet" --udp 127.0.0.1:5099 --tcp 127.0.0.1:5099 --ws 127.0.0.1:5098 \
        [--probe NAME ...] [--json] [--out FILE]

Everything runs on loopback. "Another host" is another loopback address: all of 127.0.0.0/8 is
local on Linux, so client sockets are bound to 127.0.0.2, 127.0.0.3, ... to appear as distinct
sources. Python standard library only; the WebSocket client frames are written here by hand.
"""
import argparse, base64, collections, hashlib, json, os, random, re, select, shlex, signal, socket, struct, \
    subprocess, sys, tempfile, threading, time, traceback, fcntl, termios

TICK = os.sysconf("SC_CLK_TCK")
T1 = 0.5  # RFC 3261 §17.1.1.1
MIB = 1024.0
PROBES = ["amp", "invite-fill", "mlines", "register-fill", "tcp-hog", "slowloris", "options-flood", "garbage-flood",
          "ws-handshake", "keepalive-flood", "pipeline", "maddr", "big-response", "idle-dialogs", "ws-big",
          "ws-protocol", "held-invite"]
# Flags a probe adds to the server command.
PROBE_FLAGS = {"invite-fill": " --rtp-ports 20000-29999", "idle-dialogs": " --no-media"}


def src(n):
    return f"127.0.0.{n}"


# ---------------------------------------------------------------- the server's process tree
# (after the team's shared/bench/sipbench.py)

def tree(pid):
    """pid, its descendants, and everything in its process group."""
    kids, group = {}, []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            f = open(f"/proc/{d}/stat").read()
            rest = f[f.rindex(")") + 2:].split()
            me = int(d)
            kids.setdefault(int(rest[1]), []).append(me)
            if int(rest[2]) == pid:
                group.append(me)
        except (OSError, ValueError):
            pass
    out, todo = set(), [pid] + group
    while todo:
        p = todo.pop()
        if p not in out:
            out.add(p)
            todo.extend(kids.get(p, []))
    return sorted(out)


def cpu_seconds(pids):
    total = 0
    for p in pids:
        try:
            f = open(f"/proc/{p}/stat").read()
            rest = f[f.rindex(")") + 2:].split()
            total += int(rest[11]) + int(rest[12])
        except (OSError, ValueError):
            pass
    return total / TICK


def rss_kib(pids):
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total


def fd_count(pids):
    n = 0
    for p in pids:
        try:
            n += len(os.listdir(f"/proc/{p}/fd"))
        except OSError:
            pass
    return n


class Sampler(threading.Thread):
    """RSS of the tree every 100 ms (the tree itself re-read every second); peak kept."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.pids = pid, [pid]
        self.peak = self.last = self.window = 0
        self.halt = threading.Event()

    def run(self):
        n = 0
        while not self.halt.is_set():
            if n % 10 == 0:
                self.pids = tree(self.pid)
            v = rss_kib(self.pids)
            self.last = v
            self.peak = max(self.peak, v)
            self.window = max(self.window, v)
            n += 1
            self.halt.wait(0.1)

    def reset_window(self):
        self.window = self.last = rss_kib(self.pids)
        return self.last


class Server:
    def __init__(self, cmd, udp):
        self.cmd, self.udp = cmd, udp
        self.log = tempfile.NamedTemporaryFile(prefix="edge-bench-server-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(shlex.split(cmd), stdout=self.log, stderr=self.log, start_new_session=True,
                                     cwd=os.getcwd())

    def ready(self, limit=30.0):
        deadline = time.monotonic() + limit
        s = udp_socket("127.0.0.1")
        try:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    return False
                r = udp_request(s, self.udp, options_msg(s, self.udp, "ready"), timeout=0.5, retransmit=False)
                if r["status"] is not None:
                    return True
                time.sleep(0.1)
            return False
        finally:
            s.close()

    def pids(self):
        return tree(self.proc.pid)

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        """SIGTERM to the server; seconds until it exited (None when it had to be killed)."""
        out = {"exit_code_before_stop": self.proc.poll()}
        t0 = time.monotonic()
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            while self.proc.poll() is None and time.monotonic() - t0 < 10:
                time.sleep(0.005)
            if self.proc.poll() is None:
                out["sigterm_exit_s"] = None
                out["killed"] = True
            else:
                out["sigterm_exit_s"] = round(time.monotonic() - t0, 3)
                out["exit_code"] = self.proc.returncode
        self.kill()
        self.log.close()
        try:
            size = os.path.getsize(self.log.name)
            out["server_stderr_bytes"] = size
            if size:
                with open(self.log.name, "rb") as f:
                    f.seek(max(0, size - 400))
                    out["server_stderr_tail"] = f.read().decode("utf-8", "replace")
            os.unlink(self.log.name)
        except OSError:
            pass
        return out

    def kill(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


# ---------------------------------------------------------------- SIP messages

_CALLID = re.compile(rb"\r\n(?:call-id|i)[ \t]*:[ \t]*([^\r\n]+)", re.I)
_CSEQ = re.compile(rb"\r\n(?:cseq)[ \t]*:[ \t]*([0-9]+)[ \t]+([A-Za-z]+)", re.I)
_TO = re.compile(rb"\r\n(?:to|t)[ \t]*:[ \t]*([^\r\n]+)", re.I)
_CONTACT = re.compile(rb"\r\n(?:contact|m)[ \t]*:[ \t]*([^\r\n]+)", re.I)
_CLEN = re.compile(rb"\r\n(?:content-length|l)[ \t]*:[ \t]*([0-9]+)", re.I)
_SERIAL = [0]


def uid(prefix="x"):
    _SERIAL[0] += 1
    return f"{prefix}{os.getpid()}-{_SERIAL[0]}-{random.getrandbits(32):08x}"


def sip_request(method, ruri, me, *, transport="UDP", call_id=None, cseq=1, branch=None, from_uri=None,
                to_uri=None, to_tag=None, contact=None, headers=(), body=b"", ctype=None, rport=True,
                via_params="", cseq_method=None):
    ip, port = me
    branch = branch or uid("z9hG4bK")
    call_id = call_id or uid("c")
    from_uri = from_uri or f"sip:bench@{ip}"
    to_uri = to_uri or ruri
    if isinstance(body, str):
        body = body.encode()
    lines = [f"{method} {ruri} SIP/2.0",
             f"Via: SIP/2.0/{transport} {ip}:{port}{';rport' if rport else ''};branch={branch}{via_params}",
             f"Max-Forwards: 70",
             f"From: <{from_uri}>;tag=f{abs(hash(call_id)) % 10 ** 8}",
             f"To: <{to_uri}>" + (f";tag={to_tag}" if to_tag else ""),
             f"Call-ID: {call_id}",
             f"CSeq: {cseq} {cseq_method or method}"]
    if contact:
        lines.append(f"Contact: {contact}")
    for name, value in headers:
        lines.append(f"{name}: {value}")
    if body:
        lines.append(f"Content-Type: {ctype or 'application/sdp'}")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def sdp(ip, port, mlines=1, pad=0):
    """An SDP offer (RFC 4566); `pad` bytes of a= attribute lines to make it big."""
    out = [f"v=0", f"o=bench 1 1 IN IP4 {ip}", "s=-", f"c=IN IP4 {ip}", "t=0 0"]
    for i in range(mlines):
        out.append(f"m=audio {port + 2 * i} RTP/AVP 0 8")
    out.append("a=rtpmap:0 PCMU/8000")
    line = "a=x-pad:" + "p" * 90
    for _ in range(pad // (len(line) + 2)):
        out.append(line)
    return "\r\n".join(out) + "\r\n"


def options_msg(sock_or_me, dest, user="bench", transport="UDP", headers=()):
    me = sock_or_me.getsockname() if hasattr(sock_or_me, "getsockname") else sock_or_me
    return sip_request("OPTIONS", f"sip:{user}@{dest[0]}:{dest[1]}", me, transport=transport, headers=headers)


def status_of(data):
    if data[:8] != b"SIP/2.0 ":
        return None, None
    try:
        code = int(data[8:11])
    except ValueError:
        return None, None
    end = data.find(b"\r\n")
    return code, data[12:end].decode("utf-8", "replace")


def call_id_of(data):
    m = _CALLID.search(data)
    return m.group(1).strip() if m else None


def cseq_of(data):
    m = _CSEQ.search(data)
    return (int(m.group(1)), m.group(2).upper().decode()) if m else (None, None)


def first_line_kind(data):
    code, _ = status_of(data)
    if code is not None:
        return str(code)
    sp = data.find(b" ")
    return data[:sp].decode("ascii", "replace") if 0 < sp < 20 else "?"


def count_contacts(data):
    if not data:
        return 0
    head = data.split(b"\r\n\r\n", 1)[0]
    n = 0
    for m in _CONTACT.finditer(head):
        n += m.group(1).count(b"expires=")
    return n


def sdp_body(data):
    parts = data.split(b"\r\n\r\n", 1)
    return parts[1] if len(parts) > 1 else b""


# ---------------------------------------------------------------- UDP helpers

def udp_socket(ip, port=0, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind((ip, port))
    return s


def udp_request(sock, dest, msg, timeout=4.0, retransmit=True, method=None):
    """Send a request and read until its final response (matched by Call-ID and CSeq method).
    Retransmits at T1, 2*T1, ... (RFC 3261 §17.1.1.2 Timer A, §17.1.2.2 Timer E capped at T2=4 s)."""
    cid = call_id_of(msg)
    method = method or msg.split(b" ", 1)[0].decode()
    t0 = time.monotonic()
    deadline = t0 + timeout
    interval, next_tx = T1, t0 + T1
    sock.sendto(msg, dest)
    prov = []
    sock.setblocking(True)
    while True:
        now = time.monotonic()
        if now >= deadline:
            return {"status": None, "reason": None, "data": None, "provisional": prov, "latency": None}
        if retransmit and now >= next_tx:
            sock.sendto(msg, dest)
            interval = min(interval * 2, 4.0)
            next_tx = now + interval
        wait = min(deadline, next_tx if retransmit else deadline) - now
        r, _, _ = select.select([sock], [], [], max(0.0, wait))
        if not r:
            continue
        data, _ = sock.recvfrom(65535)
        code, reason = status_of(data)
        if code is None or call_id_of(data) != cid or cseq_of(data)[1] != method:
            continue
        if code < 200:
            prov.append(code)
            continue
        return {"status": code, "reason": reason, "data": data, "provisional": prov,
                "latency": time.monotonic() - t0}


def ack_for(final, invite_ruri, me, call_id, branch=None, transport="UDP"):
    """ACK of an INVITE's final response: for a 2xx a new transaction to the Contact (RFC 3261
    §13.2.2.4), for a non-2xx the same branch as the INVITE (§17.1.1.3)."""
    to = _TO.search(final).group(1).decode()
    code, _ = status_of(final)
    ruri = invite_ruri
    if 200 <= code < 300:
        m = _CONTACT.search(final)
        if m:
            c = m.group(1).decode()
            ruri = c[c.find("<") + 1:c.find(">")] if "<" in c else c.split(";")[0].strip()
        branch = None
    seq = cseq_of(final)[0]
    to_tag = re.search(r";\s*tag=([^;>\s]+)", to)
    to_uri = re.search(r"<([^>]+)>", to)
    return sip_request("ACK", ruri, me, transport=transport, call_id=call_id, cseq=seq, branch=branch,
                       to_uri=to_uri.group(1) if to_uri else invite_ruri, to_tag=to_tag.group(1) if to_tag else None,
                       cseq_method="ACK", rport=True), ruri, (to_uri.group(1) if to_uri else invite_ruri), \
        (to_tag.group(1) if to_tag else None)


def udp_call(ip, dest, user="echo", with_sdp=True, bye=True, timeout=8.0):
    """INVITE, read the final, ACK, BYE: a normal call from `ip`."""
    s = udp_socket(ip)
    me = s.getsockname()
    ruri = f"sip:{user}@{dest[0]}:{dest[1]}"
    cid, branch = uid("call"), uid("z9hG4bK")
    inv = sip_request("INVITE", ruri, me, call_id=cid, branch=branch, contact=f"<sip:caller@{me[0]}:{me[1]}>",
                      body=sdp(ip, 40000) if with_sdp else b"")
    r = udp_request(s, dest, inv, timeout=timeout)
    out = {"invite_status": r["status"], "invite_reason": r["reason"], "provisional": r["provisional"],
           "latency_ms": round(r["latency"] * 1000, 1) if r["latency"] else None}
    if r["status"] is not None:
        ack, target, to_uri, to_tag = ack_for(r["data"], ruri, me, cid, branch)
        s.sendto(ack, dest)
        if 200 <= r["status"] < 300 and bye:
            b = sip_request("BYE", target, me, call_id=cid, cseq=2, to_uri=to_uri, to_tag=to_tag)
            out["bye_status"] = udp_request(s, dest, b, timeout=timeout)["status"]
    s.close()
    return out


def udp_options(ip, dest, timeout=2.0, retransmit=True):
    s = udp_socket(ip)
    try:
        r = udp_request(s, dest, options_msg(s, dest), timeout=timeout, retransmit=retransmit)
        return r["status"], r["latency"]
    finally:
        s.close()


def blast(sock, dest, n, make, *, rate, window, timeout, deadline_s, on_final=None, keep_unanswered=False):
    """Open-loop-with-a-window sender: at most `rate` requests/s, at most `window` without a final
    response; a request without a final after `timeout` s frees its slot and counts as unanswered.
    make(i) -> (call_id bytes, message bytes). Reads everything that comes back."""
    st = {"finals": collections.Counter(), "final_reasons": collections.Counter(), "provisional": collections.Counter(), "late_finals": collections.Counter(),
          "server_requests": collections.Counter(), "no_final": 0, "rx_packets": 0, "rx_bytes": 0, "tx_bytes": 0}
    out = collections.OrderedDict()
    unanswered = st["unanswered"] = []  # Call-IDs without a final (popped by the caller, not printed)
    sock.setblocking(False)
    t0 = time.monotonic()
    end = t0 + deadline_s
    i = 0
    while True:
        now = time.monotonic()
        if now > end:
            break
        allowed = min(n, int((now - t0) * rate) + 20)
        while i < allowed and len(out) < window:
            cid, msg = make(i)
            try:
                sock.sendto(msg, dest)
            except (BlockingIOError, OSError):
                break
            st["tx_bytes"] += len(msg)
            out[cid] = now
            i += 1
        r, _, _ = select.select([sock], [], [], 0.001 if i < n else 0.01)
        if r:
            for _ in range(4000):
                try:
                    data = sock.recv(65535)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    break
                st["rx_packets"] += 1
                st["rx_bytes"] += len(data)
                code, _ = status_of(data)
                if code is None:
                    st["server_requests"][first_line_kind(data)] += 1
                    continue
                if code < 200:
                    st["provisional"][code] += 1
                    continue
                cid = call_id_of(data)
                if cid in out:
                    del out[cid]
                    st["finals"][code] += 1
                    if code >= 300:
                        st["final_reasons"][f"{code} {status_of(data)[1]}"] += 1
                    if on_final:
                        on_final(code, cid, data, False)
                else:
                    st["late_finals"][code] += 1
                    if on_final:
                        on_final(code, cid, data, True)
        now = time.monotonic()
        while out:
            cid, ts = next(iter(out.items()))
            if now - ts < timeout:
                break
            del out[cid]
            st["no_final"] += 1
            unanswered.append(cid)
        if i >= n and not out:
            break
    st["no_final"] += len(out)
    unanswered.extend(out)
    if not keep_unanswered:
        del st["unanswered"]
    st["sent"] = i
    st["elapsed_s"] = round(time.monotonic() - t0, 2)
    st["rate_per_s"] = round(i / max(1e-9, time.monotonic() - t0))
    for k in ("finals", "final_reasons", "provisional", "late_finals", "server_requests"):
        st[k] = {str(a): b for a, b in sorted(st[k].items(), key=lambda kv: str(kv[0]))}
    return st


def drain(sock, seconds):
    """Read (and count) whatever arrives on a UDP socket for `seconds`."""
    sock.setblocking(False)
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        r, _, _ = select.select([sock], [], [], 0.05)
        if r:
            while True:
                try:
                    sock.recv(65535)
                    n += 1
                except (BlockingIOError, OSError):
                    break
    return n


def pct(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def ping_series(ip, dest, interval, phases, answer_window=2.0, start_at=None):
    """One OPTIONS every `interval` s from `ip` (no retransmission), through the named phases
    [(name, seconds)], then `answer_window` s more for stragglers. Per phase: sent, share answered
    2xx, p50/p99/max latency (ms) of the answered ones, and how many were answered within 1 s."""
    s = udp_socket(ip, rcvbuf=1 << 20)
    s.setblocking(False)
    me = s.getsockname()
    if start_at:
        time.sleep(max(0.0, start_at - time.monotonic()))
    t0 = time.monotonic()
    bounds, acc = [], 0.0
    for name, secs in phases:
        bounds.append((name, t0 + acc, t0 + acc + secs))
        acc += secs
    end_send = t0 + acc
    sent = {}  # call-id -> (phase, t)
    lat = {name: [] for name, _ in phases}
    other = collections.Counter()
    count = collections.Counter()
    nxt = t0
    seq = 0
    while True:
        now = time.monotonic()
        if now >= end_send + answer_window:
            break
        if now >= nxt and now < end_send:
            phase = next(nm for nm, a, b in bounds if a <= now < b) if any(a <= now < b for _, a, b in bounds) else bounds[-1][0]
            seq += 1
            cid = f"ping-{os.getpid()}-{seq}"
            msg = sip_request("OPTIONS", f"sip:ping@{dest[0]}:{dest[1]}", me, call_id=cid)
            try:
                s.sendto(msg, dest)
            except OSError:
                pass
            sent[cid.encode()] = (phase, now)
            count[phase] += 1
            nxt += interval
            if nxt < now:
                nxt = now + interval
        wait = max(0.0, min(nxt if now < end_send else end_send + answer_window, end_send + answer_window) - time.monotonic())
        r, _, _ = select.select([s], [], [], min(wait, 0.02))
        if r:
            while True:
                try:
                    data = s.recv(65535)
                except (BlockingIOError, OSError):
                    break
                t = time.monotonic()
                code, _ = status_of(data)
                cid = call_id_of(data)
                if code is None or code < 200 or cid not in sent:
                    continue
                phase, ts = sent.pop(cid)
                if 200 <= code < 300:
                    lat[phase].append((t - ts) * 1000)
                else:
                    other[(phase, code)] += 1
    s.close()
    res = {}
    for name, _ in phases:
        xs = lat[name]
        n = count[name]
        res[name] = {"sent": n, "answered_2xx": len(xs), "share_2xx": round(len(xs) / n, 4) if n else None,
                     "within_1s": sum(1 for x in xs if x <= 1000),
                     "p50_ms": round(pct(xs, 50), 2) if xs else None, "p99_ms": round(pct(xs, 99), 2) if xs else None,
                     "max_ms": round(max(xs), 2) if xs else None,
                     "other_status": {str(c): k for (p, c), k in other.items() if p == name}}
    return res


class PingThread(threading.Thread):
    def __init__(self, *a, **kw):
        super().__init__(daemon=True)
        self.a, self.kw, self.result = a, kw, None

    def run(self):
        self.result = ping_series(*self.a, **self.kw)


# ---------------------------------------------------------------- TCP helpers

def tcp_connect(ip, dest, timeout=2.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((ip, 0))
    s.settimeout(timeout)
    s.connect(dest)
    return s


def read_sip(sock, buf=b"", timeout=2.0):
    """One SIP message from a stream (RFC 3261 §18.3: Content-Length frames it). Leading CRLFs
    (RFC 5626 pongs) are skipped. Returns (message or None, rest)."""
    deadline = time.monotonic() + timeout
    while True:
        buf = buf.lstrip(b"\r\n")
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            m = _CLEN.search(buf[:end + 2])
            need = end + 4 + (int(m.group(1)) if m else 0)
            if len(buf) >= need:
                return buf[:need], buf[need:]
        left = deadline - time.monotonic()
        if left <= 0:
            return None, buf
        sock.settimeout(left)
        try:
            chunk = sock.recv(1 << 20)
        except (socket.timeout, OSError):
            return None, buf
        if not chunk:
            return None, buf
        buf += chunk


def tcp_options(ip, dest, timeout=1.0):
    """Connect from `ip`, send an OPTIONS, read the answer: (status or None, what happened)."""
    try:
        s = tcp_connect(ip, dest, timeout)
    except OSError as e:
        return None, f"connect: {e.__class__.__name__}"
    try:
        s.sendall(options_msg(s, dest, transport="TCP"))
        msg, _ = read_sip(s, timeout=timeout)
        if msg is None:
            return None, "closed without answer" if is_closed(s) else "no answer in time"
        return status_of(msg)[0], "answered"
    except OSError as e:
        return None, e.__class__.__name__
    finally:
        s.close()


def is_closed(sock):
    """True when the peer closed (EOF or reset) a socket we never read from otherwise."""
    t = sock.gettimeout()
    sock.setblocking(False)  # a socket with a timeout would wait for data despite MSG_DONTWAIT
    try:
        data = sock.recv(65536, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        return data == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        sock.settimeout(t)


def outq(sock):
    return struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0"))[0]


def inq(sock):
    return struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]


def peer_queues(local, remote):
    """The server side's (rx_queue, tx_queue) of the connection local->remote, from /proc/net/tcp."""
    def enc(addr):
        ip, port = addr
        return "%08X:%04X" % (struct.unpack("<I", socket.inet_aton(ip))[0], port)
    want_l, want_r = enc(remote), enc(local)  # server side: its local is our remote
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            p = line.split()
            if p[1] == want_l and p[2] == want_r:
                tx, rx = p[4].split(":")
                return int(rx, 16), int(tx, 16)
    return None, None


# ---------------------------------------------------------------- WebSocket (RFC 6455), by hand

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def ws_open(ip, dest, protocol="sip", version="13", timeout=3.0):
    """Opening handshake (RFC 6455 §4.1). Returns (sock, status, headers, rest, accept_ok)."""
    s = tcp_connect(ip, dest, timeout)
    key = base64.b64encode(os.urandom(16)).decode()
    req = (f"GET / HTTP/1.1\r\nHost: {dest[0]}:{dest[1]}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: {version}\r\n")
    if protocol is not None:
        req += f"Sec-WebSocket-Protocol: {protocol}\r\n"
    s.sendall((req + "\r\n").encode())
    buf = b""
    deadline = time.monotonic() + timeout
    while b"\r\n\r\n" not in buf and time.monotonic() < deadline:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = s.recv(65536)
        except (socket.timeout, OSError):
            break
        if not chunk:
            break
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        status = None
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    want = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
    return s, status, headers, rest, headers.get("sec-websocket-accept") == want


def ws_frame(opcode, payload, mask=True, fin=True, rsv=0):
    """A frame (RFC 6455 §5.2); client frames are masked (§5.3)."""
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", b0, (0x80 if mask else 0) | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, (0x80 if mask else 0) | 126, n)
    else:
        head = struct.pack("!BBQ", b0, (0x80 if mask else 0) | 127, n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    reps = (n + 3) // 4
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes((key * reps)[:n], "big")).to_bytes(n, "big") if n else b""
    return head + key + masked


def ws_read_frame(sock, buf, timeout):
    """(opcode, payload, rest) or (None, reason, rest) with reason eof/reset/timeout."""
    deadline = time.monotonic() + timeout
    while True:
        if len(buf) >= 2:
            b1 = buf[1] & 0x7F
            off = 2
            if b1 == 126:
                if len(buf) >= 4:
                    n, off = struct.unpack("!H", buf[2:4])[0], 4
                else:
                    n = None
            elif b1 == 127:
                if len(buf) >= 10:
                    n, off = struct.unpack("!Q", buf[2:10])[0], 10
                else:
                    n = None
            else:
                n = b1
            if n is not None:
                if buf[1] & 0x80:
                    off += 4
                if len(buf) >= off + n:
                    return buf[0] & 0x0F, buf[off:off + n], buf[off + n:]
        left = deadline - time.monotonic()
        if left <= 0:
            return None, "timeout", buf
        sock.settimeout(left)
        try:
            chunk = sock.recv(1 << 20)
        except socket.timeout:
            return None, "timeout", buf
        except OSError:
            return None, "reset", buf
        if not chunk:
            return None, "eof", buf
        buf += chunk


def ws_outcome(sock, buf, timeout=3.0):
    """What the server did after our frame: close code, 'answered', 'no close frame', 'open'."""
    seen = []
    while True:
        op, payload, buf = ws_read_frame(sock, buf, timeout)
        if op is None:
            if seen:
                return {"result": "answered", "frames": seen, "then": payload}
            return {"result": "no close frame" if payload in ("eof", "reset") else "open (nothing within %gs)" % timeout,
                    "how": payload}
        if op == 0x8:
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
            return {"result": code if code is not None else "close without code", "frames": seen,
                    "reason": payload[2:].decode("utf-8", "replace")}
        seen.append({1: "text", 2: "binary", 9: "ping", 10: "pong"}.get(op, f"op{op}") +
                    (":" + payload[:12].decode("latin-1") if op in (1, 2) else ""))
        timeout = 1.0


# ---------------------------------------------------------------- probes

class Ctx:
    pass


def probe_amp(ctx):
    """RFC 9000 §8.1's rule (no more than 3x the bytes received before the address is validated)
    applied to each request kind: one request, never answered or ACKed, everything that comes back
    counted for 40 s (RFC 3261 Timers H and L: 64*T1 = 32 s)."""
    dest = ctx.udp
    H, P = dest
    # A well-behaved source fills one AOR with up to 300 Contacts, one REGISTER each, reading each answer.
    filler = udp_socket(src(40))
    fme = filler.getsockname()
    fcid = uid("fill")
    fstat, last = collections.Counter(), None
    for i in range(300):
        m = sip_request("REGISTER", f"sip:{H}:{P}", fme, call_id=fcid, cseq=i + 1, from_uri=f"sip:many@{H}",
                        to_uri=f"sip:many@{H}", contact=f"<sip:c{i}@{src(40)}:{10000 + i}>",
                        headers=[("Expires", "3600")])
        r = udp_request(filler, dest, m, timeout=3)
        fstat[str(r["status"])] += 1
        if r["status"] == 200:
            last = r["data"]
    filler.close()
    ruri = lambda user: f"sip:{user}@{H}:{P}"

    def invite(user, with_sdp=True):
        return lambda me, rtp: sip_request("INVITE", ruri(user), me, contact=f"<sip:amp@{me[0]}:{me[1]}>",
                                           body=sdp(me[0], rtp) if with_sdp else b"")
    kinds = [
        ("invite-echo-sdp", invite("echo")),
        ("invite-echo-nosdp", invite("echo", False)),
        ("invite-busy", invite("busy")),
        ("invite-redirect", invite("redirect")),
        ("invite-noanswer", invite("noanswer")),
        ("options", lambda me, rtp: sip_request("OPTIONS", ruri("echo"), me)),
        ("options-accept-text", lambda me, rtp: sip_request("OPTIONS", ruri("echo"), me,
                                                             headers=[("Accept", "text/plain")])),
        ("message", lambda me, rtp: sip_request("MESSAGE", ruri("echo"), me, body="hello", ctype="text/plain")),
        ("register", lambda me, rtp: sip_request("REGISTER", f"sip:{H}:{P}", me, from_uri=f"sip:amp@{H}",
                                                 to_uri=f"sip:amp@{H}", contact=f"<sip:amp@{me[0]}:{me[1]}>",
                                                 headers=[("Expires", "3600")])),
        # RFC 3261 §10.2.3: a REGISTER without Contact queries the bindings; the 200 lists them all.
        ("register-query", lambda me, rtp: sip_request("REGISTER", f"sip:{H}:{P}", me, from_uri=f"sip:many@{H}",
                                                       to_uri=f"sip:many@{H}")),
        ("subscribe", lambda me, rtp: sip_request("SUBSCRIBE", ruri("echo"), me, contact=f"<sip:amp@{me[0]}:{me[1]}>",
                                                  headers=[("Event", "presence"), ("Expires", "3600"),
                                                           ("Accept", "application/pidf+xml")])),
    ]
    socks, info = {}, {}
    for k, (label, build) in enumerate(kinds):
        ip = src(10 + k)
        s = udp_socket(ip, rcvbuf=1 << 20)
        rtp = udp_socket(ip)  # the SDP's media port: whatever the server sends there counts too
        msg = build(s.getsockname(), rtp.getsockname()[1])
        info[label] = {"source": ip, "pkts_in": 1, "bytes_in": len(msg), "pkts_out": 0, "bytes_out": 0,
                       "what_came": collections.Counter()}
        for x in (s, rtp):
            x.setblocking(False)
            socks[x] = label
            ctx.keep.append(x)
        s.sendto(msg, dest)
    end = time.monotonic() + ctx.a.amp_wait
    while time.monotonic() < end:
        r, _, _ = select.select(list(socks), [], [], 0.1)
        for x in r:
            while True:
                try:
                    data = x.recv(65535)
                except (BlockingIOError, OSError):
                    break
                d = info[socks[x]]
                d["pkts_out"] += 1
                d["bytes_out"] += len(data)
                d["what_came"][first_line_kind(data)] += 1
    worst = 0
    for d in info.values():
        d["factor"] = round(d["bytes_out"] / d["bytes_in"], 2)
        d["what_came"] = dict(d["what_came"])
        worst = max(worst, d["factor"])
    return {"sent": "one UDP request per kind from its own 127.0.0.x, never answered/ACKed; read %gs" % ctx.a.amp_wait,
            "register_query_aor_fill": {"registers": 300, "statuses": dict(fstat), "contacts_bound": count_contacts(last)},
            "kinds": info, "worst_factor": worst, "target": "factor <= 3 for every kind (RFC 9000 §8.1)",
            "pass": worst <= 3}


def probe_invite_fill(ctx):
    dest = ctx.udp
    H, P = dest
    n = ctx.scale(100_000)
    s = udp_socket(src(2), rcvbuf=4 << 20)
    ctx.keep.append(s)
    me = s.getsockname()
    body = sdp(src(2), 4000).encode()
    pre = f"INVITE sip:echo@{H}:{P} SIP/2.0\r\nVia: SIP/2.0/UDP {me[0]}:{me[1]};rport;branch=z9hG4bKif".encode()
    mid = f"\r\nMax-Forwards: 70\r\nFrom: <sip:fill@{me[0]}>;tag=fill\r\nTo: <sip:echo@{H}>\r\nCall-ID: if-".encode()
    tail = (f"\r\nCSeq: 1 INVITE\r\nContact: <sip:fill@{me[0]}:{me[1]}>\r\nContent-Type: application/sdp\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body

    def make(i):
        k = b"%d" % i
        return b"if-" + k, pre + k + mid + k + tail
    fill = blast(s, dest, n, make, rate=ctx.a.fill_rate, window=1000, timeout=4.0, deadline_s=ctx.a.fill_deadline)
    call = udp_call(src(3), dest, "echo")
    opt, lat = udp_options(src(3), dest)
    pids = ctx.server.pids()
    fds = fd_count(pids)
    ok = call["invite_status"] == 200 and opt == 200 and ctx.sampler.peak / MIB <= 256
    return {"sent": f"{fill['sent']} INVITEs echo@ with SDP, distinct Call-IDs, never ACKed, from {src(2)} "
                    f"(<= {ctx.a.fill_rate}/s, <= 1000 without a final)",
            "fill": fill, "other_source_call": call, "other_source_options": opt,
            "server_fds_at_end": fds, "target": "other source's call and OPTIONS get 200; peak RSS <= 256 MiB",
            "pass": ok}


def probe_mlines(ctx):
    out = {"sent": "one INVITE echo@ whose SDP has 1,000 audio m-lines, over UDP and over TCP"}
    H, P = ctx.udp
    offer = sdp(src(2), 30000, mlines=1000)
    for transport in ("udp", "tcp"):
        ruri = f"sip:echo@{H}:{P}"
        if transport == "udp":
            s = udp_socket(src(2))
            ctx.keep.append(s)
            me = s.getsockname()
            msg = sip_request("INVITE", ruri, me, contact=f"<sip:m@{me[0]}:{me[1]}>", body=offer)
            r = udp_request(s, ctx.udp, msg, timeout=6)
            data = r["data"]
        else:
            s = tcp_connect(src(2), ctx.tcp)
            ctx.keep.append(s)
            me = s.getsockname()
            msg = sip_request("INVITE", ruri, me, transport="TCP", contact=f"<sip:m@{me[0]}:{me[1]};transport=tcp>",
                              body=offer)
            s.sendall(msg)
            data, buf = None, b""
            while True:
                m, buf = read_sip(s, buf, timeout=6)
                if m is None or (status_of(m)[0] or 0) >= 200:
                    data = m
                    break
        res = {"request_bytes": len(msg)}
        if data is None:
            res["answer"] = "none"
        else:
            code, reason = status_of(data)
            ports = [int(x) for x in re.findall(rb"\r\nm=[a-z]+ ([0-9]+)", b"\r\n" + sdp_body(data))]
            res.update({"status": code, "reason": reason, "response_bytes": len(data), "answer_mlines": len(ports),
                        "nonzero_ports": sum(1 for p in ports if p != 0)})
        out[transport] = res
    return out


def probe_register_fill(ctx):
    dest = ctx.udp
    H, P = dest
    s = udp_socket(src(2), rcvbuf=4 << 20)
    ctx.keep.append(s)
    me = s.getsockname()

    def maker(tag, same_aor=False):
        def make(i):
            user = tag if same_aor else f"{tag}{i}"
            cid = f"{tag}-{i}"
            return cid.encode(), sip_request("REGISTER", f"sip:{H}:{P}", me, call_id=cid, from_uri=f"sip:{user}@{H}",
                                             to_uri=f"sip:{user}@{H}", contact=f"<sip:{user}@{me[0]}:{me[1]}>",
                                             headers=[("Expires", "3600")])
        return make

    def measured(tag, count, same=False):
        pids = ctx.server.pids()
        c0 = cpu_seconds(pids)
        st = blast(s, dest, count, maker(tag, same), rate=50_000, window=100, timeout=4.0, deadline_s=120)
        c1 = cpu_seconds(ctx.server.pids())
        st["server_cpu_s"] = round(c1 - c0, 3)
        st["server_cpu_us_per_register"] = round((c1 - c0) / max(1, st["sent"]) * 1e6, 1)
        return st
    k = ctx.scale(2000)
    warm = measured("warm", k, same=True)  # refreshes of one binding: JIT warm-up, the table stays at 1
    empty = measured("a", k)
    fill = blast(s, dest, ctx.scale(100_000), maker("f"), rate=ctx.a.fill_rate * 2, window=500, timeout=5.0,
                 deadline_s=ctx.a.fill_deadline)
    v = udp_socket(src(3))
    vme = v.getsockname()
    r = udp_request(v, dest, sip_request("REGISTER", f"sip:{H}:{P}", vme, from_uri=f"sip:victim@{H}",
                                         to_uri=f"sip:victim@{H}", contact=f"<sip:victim@{vme[0]}:{vme[1]}>",
                                         headers=[("Expires", "3600")]), timeout=8)
    v.close()
    full = measured("z", k)
    ok = r["status"] == 200 and ctx.sampler.peak / MIB <= 256
    return {"sent": f"{warm['sent']} refreshes of one AOR (warm-up), {empty['sent']} new AORs (table near empty), "
                    f"{fill['sent']} new AORs (fill), then {full['sent']} new AORs (table full), all from {src(2)}",
            "warmup": warm, "near_empty": empty, "fill": fill, "at_full": full,
            "cpu_us_per_register_empty": empty["server_cpu_us_per_register"],
            "cpu_us_per_register_full": full["server_cpu_us_per_register"],
            "other_source_register": {"status": r["status"], "reason": r["reason"]},
            "target": "other source's REGISTER gets 200; peak RSS <= 256 MiB", "pass": ok}


def probe_tcp_hog(ctx):
    n = ctx.scale(2000)
    hog, failed = [], collections.Counter()
    t0 = time.monotonic()
    for _ in range(n):
        try:
            hog.append(tcp_connect(src(2), ctx.tcp, timeout=2))
        except OSError as e:
            failed[e.__class__.__name__] += 1
    ctx.keep.extend(hog)
    open_s = time.monotonic() - t0
    time.sleep(2)
    closed_before = sum(1 for x in hog if is_closed(x))
    answered, how = 0, collections.Counter()
    lat = []
    for _ in range(100):
        t = time.monotonic()
        code, what = tcp_options(src(3), ctx.tcp, timeout=1.0)
        if code == 200:
            answered += 1
            lat.append((time.monotonic() - t) * 1000)
        how[f"{code} {what}"] += 1
    closed_after = sum(1 for x in hog if is_closed(x))
    return {"sent": f"{n} idle TCP connections from {src(2)}, then 100 sequential connect+OPTIONS from {src(3)}",
            "hog_connected": len(hog), "hog_connect_failed": dict(failed), "hog_open_s": round(open_s, 2),
            "hog_closed_by_server_before": closed_before, "hog_closed_by_server_after": closed_after,
            "hog_still_open": len(hog) - closed_after,
            "other_source_answered_200": answered, "other_source_outcomes": dict(how),
            "other_source_p50_ms": round(pct(lat, 50), 1) if lat else None,
            "target": "100 of 100 answered 200", "pass": answered == 100}


def probe_slowloris(ctx):
    n = ctx.scale(500)
    dest = ctx.tcp
    conns = []
    for _ in range(n):
        try:
            c = tcp_connect(src(2), dest, timeout=2)
            c.setblocking(False)
            conns.append([c, options_msg(c, dest, transport="TCP"), 0, None])
        except OSError:
            pass
    ctx.keep.extend(c[0] for c in conns)
    victim = {"answered": 0, "tries": 0, "outcomes": collections.Counter()}
    stop = threading.Event()

    def vict():
        while not stop.is_set():
            code, what = tcp_options(src(3), dest, timeout=2.0)
            victim["tries"] += 1
            victim["answered"] += code == 200
            victim["outcomes"][f"{code} {what}"] += 1
            stop.wait(1.0)
    th = threading.Thread(target=vict, daemon=True)
    th.start()
    t0 = time.monotonic()
    duration = ctx.a.slowloris_s
    got_data = 0
    while time.monotonic() - t0 < duration:
        tick = time.monotonic()
        for c in conns:
            if c[3] is not None:
                continue
            if is_closed(c[0]):
                c[3] = time.monotonic() - t0
                continue
            try:
                if c[2] < len(c[1]):
                    c[0].send(c[1][c[2]:c[2] + 1])
                    c[2] += 1
            except BlockingIOError:
                pass
            except OSError:
                c[3] = time.monotonic() - t0
        time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
    for c in conns:
        if c[3] is None and is_closed(c[0]):
            c[3] = duration
        try:
            if c[3] is None and c[0].recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT):
                got_data += 1
        except OSError:
            pass
    stop.set()
    th.join(5)
    still = sum(1 for c in conns if c[3] is None)
    closes = sorted(c[3] for c in conns if c[3] is not None)
    return {"sent": f"{len(conns)} TCP connections from {src(2)}, one byte of an OPTIONS per second each, "
                    f"{duration}s; another source's TCP OPTIONS every ~1 s",
            "connections": len(conns), "bytes_sent_each_max": max((c[2] for c in conns), default=0),
            "still_open_after_s": duration, "still_open": still, "closed": len(closes),
            "first_close_s": round(closes[0], 1) if closes else None,
            "median_close_s": round(pct(closes, 50), 1) if closes else None,
            "open_with_data_from_server": got_data,
            "other_source": {"tries": victim["tries"], "answered_200": victim["answered"],
                             "outcomes": dict(victim["outcomes"])},
            "target": "every slow connection closed by a deadline; other source always answered",
            "pass": still == 0 and victim["answered"] == victim["tries"]}


def flood_child(kind, ip, host, port, duration, start_at):
    """Hidden mode (--_flood): send as fast as one Python loop can, print the count."""
    dest = (host, int(port))
    s = udp_socket(ip)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    s.setblocking(False)
    me = s.getsockname()
    n = 0
    if kind == "options":
        pre = (f"OPTIONS sip:flood@{host}:{port} SIP/2.0\r\nVia: SIP/2.0/UDP {me[0]}:{me[1]};rport;branch=z9hG4bKfl"
               f"{os.getpid()}x").encode()
        mid = f"\r\nMax-Forwards: 70\r\nFrom: <sip:flood@{me[0]}>;tag=fl\r\nTo: <sip:flood@{host}>\r\nCall-ID: fl{os.getpid()}-".encode()
        tail = b"\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        make = lambda i: pre + b"%d" % i + mid + b"%d" % i + tail
    else:
        rnd = random.Random(os.getpid())
        pool = []
        printable = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 :;=<>@./-_\r\n"
        sipish = [b"INVITE ", b"SIP/2.0 ", b"Via: ", b"Call-ID: ", b"Content-Length: 99999\r\n", b"\r\n\r\n"]
        for i in range(1024):
            size = rnd.randint(20, 1400)
            if i % 2:
                pool.append(bytes(rnd.getrandbits(8) for _ in range(size)))
            else:
                pool.append(rnd.choice(sipish) + bytes(rnd.choice(printable) for _ in range(size)))
        make = lambda i: pool[i & 1023]
    time.sleep(max(0.0, float(start_at) - time.monotonic()))
    end = time.monotonic() + float(duration)
    while True:
        for _ in range(512):
            try:
                s.sendto(make(n), dest)
                n += 1
            except OSError:
                pass
        if time.monotonic() >= end:
            break
    print(n, flush=True)


def flood_probe(ctx, kind, target_share, target_p99):
    dest = ctx.udp
    dur, after = ctx.a.flood_s, ctx.a.after_s
    start_at = time.monotonic() + 1.0
    procs = []
    for _ in range(ctx.a.flood_procs):
        p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--_flood", kind, src(2), dest[0], str(dest[1]),
                              str(dur), repr(start_at)], stdout=subprocess.PIPE, text=True)
        procs.append(p)
        ctx.procs.append(p)
    c0 = cpu_seconds(ctx.server.pids())
    res = ping_series(src(3), dest, 0.02, [("during", dur), ("after", after)], start_at=start_at)
    sent = 0
    for p in procs:
        out, _ = p.communicate(timeout=30)
        sent += int(out.strip() or 0)
    cpu = cpu_seconds(ctx.server.pids()) - c0
    ok = all(res[ph]["share_2xx"] is not None and res[ph]["share_2xx"] >= target_share and
             (target_p99 is None or (res[ph]["p99_ms"] is not None and res[ph]["p99_ms"] <= target_p99))
             for ph in ("during", "after"))
    what = "OPTIONS (distinct Call-IDs)" if kind == "options" else "random bytes and printable garbage (50/50, 20-1400 B)"
    return {"sent": f"{what} from {src(2)} by {len(procs)} sender process(es) for {dur}s; "
                    f"one OPTIONS every 20 ms from {src(3)} during and {after}s after",
            "flood_packets": sent, "flood_rate_per_s": round(sent / dur), "server_cpu_s": round(cpu, 2),
            "other_source": res,
            "target": f">= {target_share * 100:g}% answered 2xx" + (f", p99 <= {target_p99} ms" if target_p99 else "")
                      + " during and after", "pass": ok}


def probe_options_flood(ctx):
    return flood_probe(ctx, "options", 0.99, 50)


def probe_garbage_flood(ctx):
    return flood_probe(ctx, "garbage", 0.90, None)


def probe_ws_handshake(ctx):
    out = {"sent": "three opening handshakes from " + src(2)}
    s, st, h, _, acc = ws_open(src(2), ctx.ws, protocol="sip")
    ctx.keep.append(s)
    out["control_sip"] = {"status": st, "protocol": h.get("sec-websocket-protocol"), "accept_ok": acc}
    s, st, h, _, acc = ws_open(src(2), ctx.ws, protocol="SIP, chat")
    ctx.keep.append(s)
    out["protocol_SIP_chat"] = {"status": st, "protocol": h.get("sec-websocket-protocol"), "accept_ok": acc}
    s, st, h, _, acc = ws_open(src(2), ctx.ws, protocol="sip", version="8")
    ctx.keep.append(s)
    out["version_8"] = {"status": st, "sec_websocket_version": h.get("sec-websocket-version")}
    # RFC 6455 §4.2.2 (and §4.4): an unknown version gets an error such as 426 with
    # Sec-WebSocket-Version naming the versions understood (13).
    v = out["version_8"]
    out["target"] = "version 8: 426 with Sec-WebSocket-Version: 13 (RFC 6455 §4.2.2)"
    out["pass"] = v["status"] == 426 and "13" in (v["sec_websocket_version"] or "")
    return out


def probe_keepalive_flood(ctx):
    total = 4 << 20
    c = tcp_connect(src(2), ctx.tcp)
    ctx.keep.append(c)
    rss0 = ctx.sampler.reset_window()
    c0 = cpu_seconds(ctx.server.pids())
    stop = threading.Event()
    during = {"sent": 0, "within_1s": 0}

    def vict():
        while not stop.is_set():
            code, lat = udp_options(src(3), ctx.udp, timeout=1.0, retransmit=False)
            during["sent"] += 1
            during["within_1s"] += code is not None
            stop.wait(0.2)
    th = threading.Thread(target=vict, daemon=True)
    th.start()
    chunk = b"\r\n\r\n" * (1 << 14)
    sent, t0 = 0, time.monotonic()
    c.settimeout(0.5)
    blocked = False
    # RFC 5626 §4.4.1: each CRLFCRLF ping is answered with a CRLF pong; we never read them.
    while sent < total and time.monotonic() - t0 < ctx.a.stream_s:
        try:
            sent += c.send(chunk[:min(len(chunk), total - sent)])
        except socket.timeout:
            blocked = True
        except OSError:
            break
    send_s = time.monotonic() - t0
    time.sleep(1.0)
    stop.set()
    th.join(3)
    after = {"sent": 0, "within_1s": 0}
    for _ in range(10):
        code, _ = udp_options(src(3), ctx.udp, timeout=1.0, retransmit=False)
        after["sent"] += 1
        after["within_1s"] += code is not None
        time.sleep(0.2)
    cpu = cpu_seconds(ctx.server.pids()) - c0
    rxq, txq = peer_queues(c.getsockname(), ctx.tcp)
    res = {"sent": f"{sent} bytes of CRLFCRLF on one TCP connection from {src(2)} in {send_s:.1f}s, never read",
           "bytes_sent": sent, "send_blocked": blocked, "send_s": round(send_s, 2),
           "rss_growth_mib": round((ctx.sampler.window - rss0) / MIB, 1), "server_cpu_s": round(cpu, 2),
           "pong_bytes_unread_client": inq(c), "server_conn_rx_queue": rxq, "server_conn_tx_queue": txq,
           "connection_closed_by_server": is_closed(c),
           "other_source_udp_options_during": during, "other_source_udp_options_after": after,
           "target": "other source answered within 1 s during and after; SIGTERM exit < 1 s"}
    ctx.pass_after_stop = lambda stopped: (during["within_1s"] == during["sent"] and after["within_1s"] == after["sent"]
                                           and stopped.get("sigterm_exit_s") is not None
                                           and stopped["sigterm_exit_s"] < 1.0)
    return res


def probe_pipeline(ctx):
    c = tcp_connect(src(2), ctx.tcp)
    ctx.keep.append(c)
    me = c.getsockname()
    H, P = ctx.tcp
    pre = f"OPTIONS sip:pipe@{H}:{P} SIP/2.0\r\nVia: SIP/2.0/TCP {me[0]}:{me[1]};branch=z9hG4bKpp".encode()
    mid = f"\r\nMax-Forwards: 70\r\nFrom: <sip:pipe@{me[0]}>;tag=pp\r\nTo: <sip:pipe@{H}>\r\nCall-ID: pp-".encode()
    tail = b"\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    rss0 = ctx.sampler.reset_window()
    c0 = cpu_seconds(ctx.server.pids())
    during = {"sent": 0, "within_1s": 0}
    stop = threading.Event()

    def vict():
        while not stop.is_set():
            code, _ = udp_options(src(3), ctx.udp, timeout=1.0, retransmit=False)
            during["sent"] += 1
            during["within_1s"] += code is not None
            stop.wait(0.2)
    th = threading.Thread(target=vict, daemon=True)
    th.start()
    c.settimeout(0.2)
    n, sent, pending, blocked = 0, 0, b"", 0
    lens = []
    t0 = time.monotonic()
    while time.monotonic() - t0 < ctx.a.stream_s:
        if not pending:
            batch = []
            for _ in range(64):
                k = b"%d" % n
                m = pre + k + mid + k + tail
                batch.append(m)
                n += 1
            lens.append(len(batch[-1]))
            pending = b"".join(batch)
        try:
            k = c.send(pending)
            sent += k
            pending = pending[k:]
        except socket.timeout:
            blocked += 1
        except OSError:
            break
    stop.set()
    th.join(3)
    time.sleep(1.0)
    avg = sum(lens) / len(lens)
    our_out = outq(c)
    rxq, txq = peer_queues(me, ctx.tcp)
    unread = inq(c)
    after = {"sent": 0, "within_1s": 0}
    for _ in range(10):
        code, _ = udp_options(src(3), ctx.udp, timeout=1.0, retransmit=False)
        after["sent"] += 1
        after["within_1s"] += code is not None
        time.sleep(0.2)
    growth = (ctx.sampler.window - rss0) / MIB
    cpu = cpu_seconds(ctx.server.pids()) - c0
    taken = sent - our_out - (rxq or 0)
    res = {"sent": f"OPTIONS pipelined on one TCP connection from {src(2)} for {ctx.a.stream_s}s, never read",
           "requests_written": round(sent / avg), "bytes_written": sent, "sends_blocked_0_2s": blocked,
           "client_send_queue": our_out, "server_rx_queue": rxq, "server_tx_queue": txq,
           "client_unread_response_bytes": unread,
           "requests_read_by_server_est": round(taken / avg),
           "rss_growth_mib": round(growth, 1), "server_cpu_s": round(cpu, 2),
           "connection_closed_by_server": is_closed(c),
           "other_source_udp_options_during": during, "other_source_udp_options_after": after,
           "target": "RSS growth <= 8 MiB; other source answered; SIGTERM exit < 1 s"}
    ctx.pass_after_stop = lambda stopped: (growth <= 8 and during["within_1s"] == during["sent"]
                                           and after["within_1s"] == after["sent"]
                                           and stopped.get("sigterm_exit_s") is not None
                                           and stopped["sigterm_exit_s"] < 1.0)
    return res


def probe_maddr(ctx):
    """RFC 3261 §18.2.2 sends a UDP response to the top Via's maddr; the hardening target honours it
    only for a multicast address or one equal to the source, and never resolves a host name."""
    dest = ctx.udp
    out = {"sent": "OPTIONS over UDP from 127.0.0.2 with maddr in the top Via (no rport)"}
    ok = True
    for label, maddr in (("maddr_127.0.0.9", "127.0.0.9"), ("maddr_example.invalid", "example.invalid"),
                         ("maddr_equal_source", src(2))):
        s = udp_socket(src(2))
        port = s.getsockname()[1]
        other = udp_socket("127.0.0.9", port)
        ctx.keep += [s, other]
        msg = sip_request("OPTIONS", f"sip:echo@{dest[0]}:{dest[1]}", s.getsockname(), rport=False,
                          via_params=f";maddr={maddr}")
        t0 = time.monotonic()
        s.sendto(msg, dest)
        got = {"source": [], "127.0.0.9": []}
        end = t0 + 2.0
        for x in (s, other):
            x.setblocking(False)
        while time.monotonic() < end:
            r, _, _ = select.select([s, other], [], [], 0.05)
            for x in r:
                try:
                    data = x.recv(65535)
                except OSError:
                    continue
                got["source" if x is s else "127.0.0.9"].append(
                    {"status": status_of(data)[0], "after_ms": round((time.monotonic() - t0) * 1000, 1)})
        where = [k for k, v in got.items() if v]
        out[label] = {"went_to": where or ["nowhere"], "detail": got}
        ok = ok and where == ["source"]
    out["target"] = "every response to the source (maddr not honoured: not multicast, not the source; no resolution)"
    out["pass"] = ok
    return out


def probe_big_response(ctx):
    H, P = ctx.udp
    out = {"sent": "REGISTER with 2,000 Contacts; OPTIONS with 2,000 Via values; each over UDP and TCP"}
    ok = True
    for transport in ("udp", "tcp"):
        for kind in ("register", "options"):
            if transport == "udp":
                s = udp_socket(src(2), rcvbuf=1 << 20)
            else:
                s = tcp_connect(src(2), ctx.tcp)
            ctx.keep.append(s)
            me = s.getsockname()
            T = transport.upper()
            if kind == "register":
                # 2,000 Contacts, 100 a line (comma-separated, RFC 3261 §7.3.1), to stay within 65,535 bytes
                contacts = [("Contact", ",".join(f"<sip:{i:04d}@{src(2)}:{10000 + i}>" for i in range(k, k + 100)))
                            for k in range(0, 2000, 100)]
                msg = sip_request("REGISTER", f"sip:{H}:{P}", me, transport=T, from_uri=f"sip:big{T}@{H}",
                                  to_uri=f"sip:big{T}@{H}", headers=[("Expires", "3600")] + contacts)
            else:
                vias = [("Via", ",".join(["SIP/2.0/UDP 10.0.0.1:5060"] * 100)) for _ in range(20)]
                base = sip_request("OPTIONS", f"sip:echo@{H}:{P}", me, transport=T).decode()
                head, rest = base.split("\r\n", 1)
                first, rest2 = rest.split("\r\n", 1)
                extra = "".join(f"{n}: {v}\r\n" for n, v in vias)
                msg = (head + "\r\n" + first + "\r\n" + extra + rest2).encode()
                # the top Via is ours, so 2,001 Via values in all
            res_err = None
            if transport == "udp":
                try:
                    data = udp_request(s, ctx.udp, msg, timeout=4)["data"]
                except OSError as e:  # EMSGSIZE: more than a datagram can carry
                    data = None
                    res_err = e.__class__.__name__
            else:
                s.sendall(msg)
                data, buf = None, b""
                while True:
                    m, buf = read_sip(s, buf, timeout=4)
                    if m is None or (status_of(m)[0] or 0) >= 200:
                        data = m
                        break
            res = {"request_bytes": len(msg)}
            if data is None:
                res["answer"] = "none" + (f" (send failed: {res_err})" if res_err else "")
                ok = False
            else:
                code, reason = status_of(data)
                res.update({"status": code, "reason": reason, "response_bytes": len(data)})
                if kind == "register":
                    res["contacts_in_response"] = count_contacts(data)
                else:
                    res["via_values_in_response"] = sum(
                        m.group(1).count(b"SIP/2.0/") for m in re.finditer(rb"\r\n(?:via|v)[ \t]*:([^\r\n]*)", data, re.I))
            out[f"{kind}_{transport}"] = res
    out["target"] = "an answer always comes"
    out["pass"] = ok
    return out


def probe_idle_dialogs(ctx):
    dest = ctx.udp
    H, P = dest
    s = udp_socket(src(2), rcvbuf=4 << 20)
    ctx.keep.append(s)
    me = s.getsockname()
    ruri = f"sip:echo@{H}:{P}"
    body = sdp(src(2), 4000)
    established = set()

    def make(i):
        cid = f"idle-{i}"  # the same branch when sent again: a retransmission (RFC 3261 §17.1.1.2)
        return cid.encode(), sip_request("INVITE", ruri, me, call_id=cid, branch=f"z9hG4bKidle{i}",
                                         contact=f"<sip:idle@{me[0]}:{me[1]}>", body=body)

    def on_final(code, cid, data, late):
        if cseq_of(data)[1] != "INVITE":
            return
        ack = ack_for(data, ruri, me, cid.decode())[0]
        try:
            s.sendto(ack, dest)  # also for a retransmitted 2xx (RFC 3261 §13.2.2.4)
        except OSError:
            pass
        if 200 <= code < 300:
            established.add(cid)
    n = ctx.scale(10_000)
    rounds = []
    todo = list(range(n))
    finals = collections.Counter()
    for rnd in range(4):  # INVITEs that got nothing are sent again, slower
        st = blast(s, dest, len(todo), lambda k, todo=todo: make(todo[k]), rate=5000 if rnd == 0 else 1000,
                   window=300 if rnd == 0 else 50, timeout=4.0, deadline_s=120, on_final=on_final,
                   keep_unanswered=True)
        finals.update(st["finals"])
        todo = [int(c.decode().split("-")[1]) for c in st.pop("unanswered") if c not in established]
        rounds.append(st)
        if not todo:
            break
    drain(s, 1.0)
    call = udp_call(src(3), dest, "echo")
    return {"sent": f"{n} calls from {src(2)} answered and ACKed, never ended (INVITEs that got no final sent again, "
                    f"{len(rounds)} round(s)); then one INVITE from {src(3)} (server with --no-media)",
            "calls_finals": dict(finals), "dialogs_established": len(established), "rounds": rounds,
            "other_source_call": call,
            "other_source_status": call["invite_status"], "other_source_reason": call["invite_reason"]}


def probe_ws_big(ctx):
    size = 15 << 20
    payload = b"OPTIONS sip:big@x SIP/2.0\r\n" + b"a" * (size - 27)
    frame = ws_frame(0x2, payload)
    rss0 = ctx.sampler.reset_window()
    results = [None] * 8

    def one(k):
        try:
            s, st, h, rest, _ = ws_open(src(2), ctx.ws)
            ctx.keep.append(s)
            if st != 101:
                results[k] = {"handshake": st}
                return
            s.settimeout(30)
            t0 = time.monotonic()
            sent_all = True
            try:
                s.sendall(frame)
            except OSError as e:
                sent_all = e.__class__.__name__
            r = ws_outcome(s, rest, timeout=10)
            r["sent_whole_frame"] = sent_all
            r["after_s"] = round(time.monotonic() - t0, 2)
            results[k] = r
        except Exception as e:
            results[k] = {"error": repr(e)}
    ths = [threading.Thread(target=one, args=(k,), daemon=True) for k in range(8)]
    for t in ths:
        t.start()
    for t in ths:
        t.join(60)
    growth = (ctx.sampler.window - rss0) / MIB
    codes = collections.Counter(str(r.get("result") if r else None) for r in results)
    return {"sent": "8 concurrent WebSocket connections, one masked 15 MiB binary frame each",
            "rss_growth_mib": round(growth, 1), "outcomes": dict(codes), "connections": results}


def probe_ws_protocol(ctx):
    """RFC 6455: an unmasked client frame (§5.1), a reserved opcode and RSV1 without an extension
    (§5.2), a control frame over 125 bytes (§5.5) fail the connection with 1002; a text frame that is
    not UTF-8 with 1007 (§8.1)."""
    H, P = ctx.udp
    opt = lambda me: sip_request("OPTIONS", f"sip:echo@{H}:{P}", me, transport="WS")
    cases = [
        ("unmasked", lambda me: ws_frame(0x1, opt(me), mask=False), 1002),
        ("reserved_opcode_3", lambda me: ws_frame(0x3, opt(me)), 1002),
        ("rsv1", lambda me: ws_frame(0x1, opt(me), rsv=4), 1002),
        ("ping_200_bytes", lambda me: ws_frame(0x9, b"p" * 200), 1002),
        ("invalid_utf8_text", lambda me: ws_frame(0x1, opt(me).replace(b"Max-Forwards: 70",
                                                                           b"Max-Forwards: 70\r\nSubject: \xff\xfe\xc3")), 1007),
    ]
    out = {"sent": "one WebSocket connection per case from " + src(2)}
    ok = True
    for label, build, want in cases:
        try:
            s, st, h, rest, _ = ws_open(src(2), ctx.ws)
            ctx.keep.append(s)
            if st != 101:
                out[label] = {"handshake": st}
                ok = False
                continue
            s.sendall(build(s.getsockname()))
            r = ws_outcome(s, rest, timeout=3)
            r["expected"] = want
            out[label] = r
            ok = ok and r["result"] == want
        except OSError as e:
            out[label] = {"error": repr(e)}
            ok = False
    out["target"] = "close codes 1002, 1002, 1002, 1002, 1007"
    out["pass"] = ok
    return out


def probe_held_invite(ctx):
    dest = ctx.udp
    H, P = dest
    n = ctx.scale(500)
    s = udp_socket(src(2), rcvbuf=4 << 20)
    ctx.keep.append(s)
    me = s.getsockname()
    body = sdp(src(2), 4000, pad=59_000)
    ruri = f"sip:noanswer@{H}:{P}"
    sample = sip_request("INVITE", ruri, me, call_id="size", contact=f"<sip:held@{me[0]}:{me[1]}>", body=body)
    time.sleep(1.0)
    rss0 = ctx.sampler.reset_window()

    def make(i):
        cid = f"held-{i}"
        return cid.encode(), sip_request("INVITE", ruri, me, call_id=cid, contact=f"<sip:held@{me[0]}:{me[1]}>",
                                         body=body)
    # One at a time: each INVITE is sent (again at T1 if nothing came, RFC 3261 §17.1.1.2) and the
    # next goes once its 180 is in, so the server's socket buffer never drops a 60 KB datagram.
    s.setblocking(True)
    held, lost, t0 = 0, 0, time.monotonic()
    for i in range(n):
        cid, msg = make(i)
        got = False
        for attempt in range(3):
            s.sendto(msg, dest)
            end = time.monotonic() + T1 * (2 ** attempt)
            while not got and time.monotonic() < end:
                r, _, _ = select.select([s], [], [], max(0.0, end - time.monotonic()))
                if not r:
                    break
                data = s.recv(65535)
                got = status_of(data)[0] == 180 and call_id_of(data) == cid
            if got:
                break
        held += got
        lost += not got
    st = {"sent": n, "held_180": held, "no_180": lost, "elapsed_s": round(time.monotonic() - t0, 2)}
    time.sleep(3.0)
    rss1 = ctx.sampler.last
    growth = (rss1 - rss0)
    per = growth / max(1, held)
    target = 2 * len(sample) / 1024 + 2
    return {"sent": f"{st['sent']} INVITEs to noanswer@ of {len(sample)} bytes each (padded SDP) from {src(2)}",
            "request_bytes": len(sample), "held": held, "answers": st, "rss_before_mib": round(rss0 / MIB, 1),
            "rss_after_mib": round(rss1 / MIB, 1), "rss_growth_mib": round(growth / MIB, 1),
            "kib_per_held_invite": round(per, 1), "target_kib": round(target, 1),
            "target": "RSS growth per held INVITE <= 2x the request size + 2 KiB", "pass": per <= target}


PROBE_FUNCS = {
    "amp": probe_amp, "invite-fill": probe_invite_fill, "mlines": probe_mlines, "register-fill": probe_register_fill,
    "tcp-hog": probe_tcp_hog, "slowloris": probe_slowloris, "options-flood": probe_options_flood,
    "garbage-flood": probe_garbage_flood, "ws-handshake": probe_ws_handshake, "keepalive-flood": probe_keepalive_flood,
    "pipeline": probe_pipeline, "maddr": probe_maddr, "big-response": probe_big_response,
    "idle-dialogs": probe_idle_dialogs, "ws-big": probe_ws_big, "ws-protocol": probe_ws_protocol,
    "held-invite": probe_held_invite,
}


# ---------------------------------------------------------------- --table: key figures of saved runs

def _fmt_counts(d):
    return "/".join(f"{k}x{v}" for k, v in d.items()) or "none"


def key_figures(r):
    """One cell of the summary table: the figures that matter for the probe."""
    p = r["probe"]
    if "error" in r:
        return "error: " + r["error"]
    mb = lambda x: f"{x:.0f} MiB" if x is not None else "?"
    try:
        if p == "amp":
            short = {"invite-echo-sdp": "INV echo+SDP", "invite-echo-nosdp": "INV echo no SDP", "invite-busy": "busy",
                     "invite-redirect": "redirect", "invite-noanswer": "noanswer", "options": "OPT",
                     "options-accept-text": "OPT text/plain", "message": "MESSAGE", "register": "REG",
                     "register-query": "REG query", "subscribe": "SUB"}
            k = r["kinds"]
            return (", ".join(f"{short.get(n, n)} {d['factor']}" for n, d in k.items()) +
                    f" (query AOR: {r['register_query_aor_fill']['contacts_bound']} Contacts)")
        if p == "invite-fill":
            c = r["other_source_call"]
            return (f"fill {_fmt_counts(r['fill']['finals'])} at {r['fill']['rate_per_s']}/s; other source call "
                    f"{c['invite_status']} ({c['invite_reason']}), OPTIONS {r['other_source_options']}; peak "
                    f"{mb(r['peak_rss_mib'])}; fds {r['server_fds_at_end']}")
        if p == "mlines":
            return "; ".join(f"{t.upper()} {r[t].get('status')} {r[t].get('nonzero_ports')}/{r[t].get('answer_mlines')} "
                             f"non-zero ports" for t in ("udp", "tcp")) + f"; server fds {r['server_fds_before_stop']}"
        if p == "register-fill":
            o = r["other_source_register"]
            return (f"fill {_fmt_counts(r['fill']['finals'])} at {r['fill']['rate_per_s']}/s; other source "
                    f"{o['status']} ({o['reason']}); peak {mb(r['peak_rss_mib'])}; CPU/REGISTER "
                    f"{r['cpu_us_per_register_empty']} us near empty, {r['cpu_us_per_register_full']} us full")
        if p == "tcp-hog":
            return (f"hog {r['hog_connected']} connected, {r['hog_closed_by_server_after']} closed by server, "
                    f"{r['hog_still_open']} held; other source {r['other_source_answered_200']}/100 answered "
                    f"({', '.join(r['other_source_outcomes'])})")
        if p == "slowloris":
            o = r["other_source"]
            return (f"{r['still_open']}/{r['connections']} still open at {r['still_open_after_s']:g} s; other source "
                    f"{o['answered_200']}/{o['tries']} answered")
        if p in ("options-flood", "garbage-flood"):
            d, a = r["other_source"]["during"], r["other_source"]["after"]
            return (f"flood {r['flood_rate_per_s'] / 1000:.0f}k pkt/s; other source during {d['share_2xx'] * 100:.1f}% "
                    f"p50 {d['p50_ms']} p99 {d['p99_ms']} ms; after {a['share_2xx'] * 100:.1f}% p50 {a['p50_ms']} "
                    f"p99 {a['p99_ms']} ms; peak {mb(r['peak_rss_mib'])}")
        if p == "ws-handshake":
            a, v = r["protocol_SIP_chat"], r["version_8"]
            return (f"'SIP, chat': {a['status']} protocol {a['protocol']}; version 8: {v['status']} "
                    f"Sec-WebSocket-Version {v['sec_websocket_version']}")
        if p in ("keepalive-flood", "pipeline"):
            d, a = r["other_source_udp_options_during"], r["other_source_udp_options_after"]
            extra = (f"{r['bytes_sent'] / 1048576:.0f} MB sent in {r['send_s']} s" if p == "keepalive-flood" else
                     f"{r['requests_read_by_server_est']} requests read by server")
            return (f"{extra}; RSS +{r['rss_growth_mib']} MiB, CPU {r['server_cpu_s']} s; other source "
                    f"{d['within_1s']}/{d['sent']} during, {a['within_1s']}/{a['sent']} after; SIGTERM "
                    f"{'killed after 10 s' if r.get('killed') else str(r.get('sigterm_exit_s')) + ' s'}")
        if p == "maddr":
            return "; ".join(f"{k[6:]} -> {'+'.join(r[k]['went_to'])}" for k in r if k.startswith("maddr_"))
        if p == "big-response":
            out = []
            for k in ("register_udp", "register_tcp", "options_udp", "options_tcp"):
                x = r[k]
                out.append(f"{k} ({x['request_bytes']} B): " + (f"{x['status']} {x['response_bytes']} B" if "status" in x
                                                                   else x.get("answer", "?")))
            return "; ".join(out)
        if p == "idle-dialogs":
            return (f"{r['dialogs_established']} dialogs established (2xx ACKed); other source "
                    f"{r['other_source_status']} ({r['other_source_reason']}); peak {mb(r['peak_rss_mib'])}")
        if p == "ws-big":
            return f"RSS +{r['rss_growth_mib']} MiB; " + ", ".join(f"{v}x {k}" for k, v in r["outcomes"].items())
        if p == "ws-protocol":
            return ", ".join(f"{k} {r[k].get('result')}" for k in ("unmasked", "reserved_opcode_3", "rsv1",
                                                                    "ping_200_bytes", "invalid_utf8_text"))
        if p == "held-invite":
            return (f"{r['held']} held, {r['kib_per_held_invite']} KiB each (target {r['target_kib']}); "
                    f"RSS +{r['rss_growth_mib']} MiB")
    except (KeyError, TypeError) as e:
        return f"? ({e})"
    return ""


def print_table(files):
    runs = collections.OrderedDict()
    for path in files:
        for line in open(path):
            if line.strip():
                r = json.loads(line)
                runs.setdefault(r["runtime"], {})[r["probe"]] = r
    rts = list(runs)
    print("| probe | " + " | ".join(f"{rt}: key figures | pass | SIGTERM s" for rt in rts) + " |")
    print("| --- | " + " | ".join("--- | --- | ---" for _ in rts) + " |")
    for p in PROBES:
        if not any(p in runs[rt] for rt in rts):
            continue
        cells = []
        for rt in rts:
            r = runs[rt].get(p)
            if r is None:
                cells.append("- | - | -")
                continue
            passed = {True: "yes", False: "no"}.get(r.get("pass"), "-")
            sig = "killed" if r.get("killed") else r.get("sigterm_exit_s")
            cells.append(f"{key_figures(r)} | {passed} | {sig}")
        print(f"| {p} | " + " | ".join(cells) + " |")


# ---------------------------------------------------------------- runner

def hostport(s):
    h, p = s.rsplit(":", 1)
    return (h.strip("[]") or "127.0.0.1", int(p))


def runtime_of(cmd):
    for tok in shlex.split(cmd):
        base = os.path.basename(tok)
        if base in ("deno", "bun"):
            return base
    return "unknown"


def run_probe(a, name):
    cmd = a.server + PROBE_FLAGS.get(name, "")
    ctx = Ctx()
    ctx.a, ctx.keep, ctx.procs = a, [], []
    ctx.udp, ctx.tcp, ctx.ws = hostport(a.udp), hostport(a.tcp), hostport(a.ws)
    ctx.scale = lambda n: max(1, int(n * a.scale))
    ctx.pass_after_stop = None
    res = {"probe": name, "runtime": runtime_of(a.server), "server": cmd}
    t_start = time.monotonic()
    server = Server(cmd, ctx.udp)
    ctx.server = server
    sampler = None
    try:
        if not server.ready():
            res["error"] = "server never answered an OPTIONS over UDP"
            res["pass"] = None
            return res
        res["ready_s"] = round(time.monotonic() - t_start, 2)
        sampler = Sampler(server.proc.pid)
        sampler.start()
        time.sleep(0.3)
        ctx.sampler = sampler
        pids = server.pids()
        rss_start = rss_kib(pids)
        cpu0 = cpu_seconds(pids)
        t0 = time.monotonic()
        try:
            res.update(PROBE_FUNCS[name](ctx))
        except Exception as e:
            res["error"] = f"{e.__class__.__name__}: {e}"
            res["traceback"] = traceback.format_exc()[-1500:]
        res["probe_s"] = round(time.monotonic() - t0, 1)
        res["server_alive_before_stop"] = server.alive()
        pids = server.pids()
        res["server_cpu_s_total"] = round(cpu_seconds(pids) - cpu0, 2)
        res["rss_start_mib"] = round(rss_start / MIB, 1)
        res["rss_end_mib"] = round(rss_kib(pids) / MIB, 1)
        sampler.halt.set()
        sampler.join(1)
        res["peak_rss_mib"] = round(max(sampler.peak, rss_kib(pids)) / MIB, 1)
        res["server_fds_before_stop"] = fd_count(pids)
        stopped = server.stop()  # client sockets still open
        res.update(stopped)
        if ctx.pass_after_stop:
            res["pass"] = bool(ctx.pass_after_stop(stopped))
    finally:
        if sampler:
            sampler.halt.set()
        server.kill()
        for p in ctx.procs:
            if p.poll() is None:
                p.kill()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        for s in ctx.keep:
            try:
                s.close()
            except OSError:
                pass
        res["wall_s"] = round(time.monotonic() - t_start, 1)
    return res


def summary(r):
    keys = ["worst_factor", "pass", "peak_rss_mib", "sigterm_exit_s", "error"]
    return f"{r['runtime']} {r['probe']}: " + ", ".join(f"{k}={r[k]}" for k in keys if k in r)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--_flood":
        flood_child(*sys.argv[2:8])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", help="command that starts the server (run without a shell)")
    ap.add_argument("--table", nargs="+", metavar="JSONL", help="print a markdown table of saved runs and exit")
    ap.add_argument("--udp", default="127.0.0.1:5099")
    ap.add_argument("--tcp", default="127.0.0.1:5099")
    ap.add_argument("--ws", default="127.0.0.1:5098")
    ap.add_argument("--probe", action="append", choices=PROBES, help="repeatable; default: every probe")
    ap.add_argument("--json", action="store_true", help="JSON lines only (no summary on standard error)")
    ap.add_argument("--out", help="also append the JSON lines to this file")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply the fill counts (quick trial runs)")
    ap.add_argument("--amp-wait", type=float, default=40.0)
    ap.add_argument("--fill-rate", type=int, default=5000, help="INVITE fill rate cap per second (REGISTER: 2x)")
    ap.add_argument("--fill-deadline", type=float, default=150.0, help="seconds a fill may take at most")
    ap.add_argument("--flood-s", type=float, default=10.0)
    ap.add_argument("--after-s", type=float, default=30.0)
    ap.add_argument("--flood-procs", type=int, default=1)
    ap.add_argument("--slowloris-s", type=float, default=30.0)
    ap.add_argument("--stream-s", type=float, default=10.0, help="keep-alive flood and pipeline duration")
    a = ap.parse_args()
    if a.table:
        print_table(a.table)
        return 0
    if not a.server:
        ap.error("--server is required")

    def bye(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, bye)
    out = open(a.out, "a") if a.out else None
    t0 = time.monotonic()
    for name in a.probe or PROBES:
        r = run_probe(a, name)
        line = json.dumps(r, default=str)
        print(line, flush=True)
        if out:
            out.write(line + "\n")
            out.flush()
        if not a.json:
            print(summary(r), file=sys.stderr, flush=True)
    if not a.json:
        print(f"total {time.monotonic() - t0:.0f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
