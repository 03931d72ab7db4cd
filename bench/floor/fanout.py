#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Fan-out of one Consul KV change to 99 blocking-query watchers.

  fanout.py prefill                 1000 endpoints: arp + fib keys (2000 keys)
  fanout.py run --k K [--small] [--stale] [--no-gzip] [--changes N] [--gap S]

Run inside a client namespace (run.sh).  Hosts 2..100 each hold K blocking
GETs, each on its own raw HTTP/1.1 connection to server (h % 3) + 1 (as the
project's bench spreads hosts over the servers).  Host 1 (a forked writer
process, connection to server 2) writes one txn (one arp + one fib key in
block 0) per change.  Times are CLOCK_MONOTONIC (shared by both processes):
t0 = just before the txn is sent; answer = txn response read; each watcher's
answer = the recv() that completed its body (taken before any parsing;
re-arming GETs are sent only after the whole epoll batch is timestamped).
"""
import argparse, base64, http.client, json, os, resource, selectors, socket, sys, time

RESULTS = os.environ.get("FLOOR_RESULTS", "/tmp/vxov-floor/results")
SERVERS = os.environ.get("FANOUT_SERVERS", "10.215.0.201,10.215.0.202,10.215.0.203").split(",")
NET = "vxov/net/301"
ARP0 = f"{NET}/arp/10.1.0."
FIB0 = f"{NET}/fib/02:42:0a:01:00:"
BELL = f"{NET}/arp/10.1."
SMALL = f"{NET}/arp/10.1.0.24"	# 10.1.0.24 and .240-.249: 11 keys
SMALLF = f"{NET}/fib/02:42:0a:01:00:f"	# its twin: 02:42:0a:01:00:f0-fa, 11 keys
MEDIUM = f"{NET}/arp/10.1.0.2"	# 10.1.0.2, .20-.29, .200-.250: 62 keys


def b64(s):
    return base64.b64encode(s.encode()).decode()


def mac_of(c, d):
    return f"02:42:0a:01:{c:02x}:{d:02x}"


def prefill():
    conn = http.client.HTTPConnection(SERVERS[0], 8500, timeout=30)
    ops = []
    for c in range(4):
        for d in range(1, 251):
            ip, mac = f"10.1.{c}.{d}", mac_of(c, d)
            ops.append({"KV": {"Verb": "set", "Key": f"{NET}/arp/{ip}", "Value": b64(mac)}})
            ops.append({"KV": {"Verb": "set", "Key": f"{NET}/fib/{mac}", "Value": b64(ip)}})
    for i in range(0, len(ops), 64):
        conn.request("PUT", "/v1/txn", body=json.dumps(ops[i:i + 64]))
        r = conn.getresponse(); b = r.read()
        if r.status != 200:
            sys.exit(f"prefill: {r.status} {b[:200]}")
    for p in (ARP0, FIB0, SMALL, SMALLF, MEDIUM):
        conn.request("GET", f"/v1/kv/{p}?recurse")
        r = conn.getresponse(); b = r.read()
        print(f"prefill: {p}: {len(json.loads(b))} keys, {len(b)} bytes of JSON")
    conn.request("GET", f"/v1/kv/{BELL}?keys&separator=.")
    r = conn.getresponse(); print(f"prefill: doorbell answer {r.read()[:120]!r}")


# --- the writer (host 1), a process of its own --------------------------------
def writer(cmd_r, res_w, small):
    srv = SERVERS[1]	# host 1 -> server (1 % 3) + 1 = 2
    conn = http.client.HTTPConnection(srv, 8500, timeout=30)
    conn.connect(); conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = os.fdopen(cmd_r, "rb", buffering=0)
    while True:
        line = b""
        while not line.endswith(b"\n"):
            ch = f.read(1)
            if not ch:
                os._exit(0)
            line += ch
        seq = int(line)
        d = 240 + seq % 10	# in SMALL too
        ip, mac = f"10.1.0.{d}", mac_of(0, d)
        # A new value each time: Consul skips a set that changes nothing (no
        # new index, no wake-up), so every change writes a MAC and an IP not
        # written before.
        rnd = int.from_bytes(os.urandom(4), "big")
        mval = "02:42:" + ":".join(f"{(rnd >> s) & 255:02x}" for s in (24, 16, 8, 0))
        ival = f"10.{(rnd >> 16) & 255}.{(rnd >> 8) & 255}.{rnd & 255}"
        body = json.dumps([{"KV": {"Verb": "set", "Key": f"{NET}/arp/{ip}", "Value": b64(mval)}},
                           {"KV": {"Verb": "set", "Key": f"{NET}/fib/{mac}", "Value": b64(ival)}}])
        t0 = time.monotonic()
        conn.request("PUT", "/v1/txn", body=body)
        r = conn.getresponse(); b = r.read()
        t1 = time.monotonic()
        idx = 0
        if r.status == 200:
            idx = max(x["KV"]["ModifyIndex"] for x in json.loads(b)["Results"])
        os.write(res_w, f"{seq} {t0!r} {t1!r} {idx} {r.status}\n".encode())


# --- the watchers --------------------------------------------------------------
HDR, CL, CSIZE, CDATA, TRAIL = range(5)


class W:
    def __init__(self, host, wi, path, srv):
        self.host, self.wi, self.path, self.srv = host, wi, path, srv
        self.buf = bytearray(); self.state = HDR; self.pos = 0; self.need = 0
        self.index = 0; self.status = 0; self.answers = []; self.armed = False; self.enc = b""
        self.hidx = 0; self._idx = 0


def cpu_of(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            x = f.read().rsplit(")", 1)[1].split()
        return (int(x[11]) + int(x[12])) * 1000 // os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0


def busy_ms():
    """All CPUs' non-idle time so far, ms (/proc/stat)."""
    with open("/proc/stat") as f:
        x = [int(v) for v in f.readline().split()[1:]]
    return (sum(x[:8]) - x[3] - x[4]) * 1000 // os.sysconf("SC_CLK_TCK")


def leader():
    try:
        c = http.client.HTTPConnection(SERVERS[0], 8500, timeout=2)
        c.request("GET", "/v1/status/leader"); l = c.getresponse().read().decode().strip('"')
        return SERVERS.index(l.split(":")[0]) + 1
    except Exception:
        return 0


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = max(0, min(len(xs) - 1, int(-(-p * len(xs) // 100)) - 1))	# nearest rank
    return xs[k]


def run(a):
    resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
    paths = {"arp": f"/v1/kv/{ARP0}?recurse", "fib": f"/v1/kv/{FIB0}?recurse",
             "bell": f"/v1/kv/{BELL}?keys&separator=.", "small": f"/v1/kv/{SMALL}?recurse",
             "smallfib": f"/v1/kv/{SMALLF}?recurse", "medium": f"/v1/kv/{MEDIUM}?recurse"}
    if a.small:
        a.size = "small"
    kinds = {"block": ["arp", "fib", "bell"], "small": ["small", "smallfib", "bell"],
             "medium": ["medium"]}[a.size][:a.k]
    if len(kinds) < a.k:
        sys.exit(f"--size {a.size} has only {len(kinds)} watches")
    hosts = list(range(2, 101))
    if a.to == "leader":
        ld = leader(); a.to = f"s{ld}"
    ws = []
    for h in hosts:
        for wi, kd in enumerate(kinds):
            srv = SERVERS[h % 3] if a.to == "spread" else SERVERS[leader() - 1] if a.to == "leader" else SERVERS[int(a.to[1]) - 1]
            ws.append(W(h, wi, paths[kd] + ("&stale" if a.stale else ""), srv))
    sel = selectors.DefaultSelector()
    extra = b"Accept-Encoding: gzip\r\n" if a.gzip else b""
    for w in ws:
        s = socket.create_connection((w.srv, 8500))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        w.sock = s
        sel.register(s, selectors.EVENT_READ, w)

    def send(w):
        q = w.path + (f"&index={w.index}&wait=300s" if w.index else "")
        w.sock.send(f"GET {q} HTTP/1.1\r\nHost: {w.srv}:8500\r\nUser-Agent: fanout\r\n".encode()
                    + extra + b"\r\n")
        w.armed = w.index > 0

    # The writer.
    cmd_r, cmd_w = os.pipe(); res_r, res_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(cmd_w); os.close(res_r)
        try:
            writer(cmd_r, res_w, a.small)
        finally:
            os._exit(0)
    os.close(cmd_r); os.close(res_w)
    sel.register(res_r, selectors.EVENT_READ, None)
    res_buf = bytearray()

    errors = []

    def handle_batch(events, tnow_list):
        """Timestamp every readable socket first, then parse and re-arm."""
        got = []
        for key, _ in events:
            w = key.data
            if w is None:
                continue
            try:
                d = w.sock.recv(262144)
            except BlockingIOError:
                continue
            t = time.monotonic()
            if not d:
                errors.append(f"host {w.host} watch {w.wi}: server closed")
                sel.unregister(w.sock); continue
            w.buf += d
            got.append((w, t))
        rearm = []
        for w, t in got:
            if done(w):
                w.answers.append((w._idx, t, w.status))
                if w.status != 200:
                    errors.append(f"host {w.host} watch {w.wi}: HTTP {w.status}")
                if w._idx < w.index:
                    w._idx = 0	# went backwards: start over
                w.index = w._idx
                del w.buf[:w.pos]; w.pos = 0; w.state = HDR
                rearm.append(w)
        for w in rearm:
            send(w)
        return len(got)

    def done(w):
        # A minimal, correct parser for Content-Length and chunked bodies.
        b = w.buf
        while True:
            if w.state == HDR:
                j = b.find(b"\r\n\r\n")
                if j < 0:
                    return False
                head = bytes(b[:j]).split(b"\r\n")
                w.status = int(head[0].split()[1])
                cl, chunked, idx = 0, False, w.index
                for ln in head[1:]:
                    k, _, v = ln.partition(b":")
                    k = k.strip().lower(); v = v.strip()
                    if k == b"content-length":
                        cl = int(v)
                    elif k == b"transfer-encoding" and v.lower() == b"chunked":
                        chunked = True
                    elif k == b"x-consul-index":
                        idx = int(v)
                    elif k == b"content-encoding":
                        w.enc = v
                w.hidx = idx
                w.need = cl; w.pos = j + 4
                w.state = CSIZE if chunked else CL
            elif w.state == CL:
                if len(b) - w.pos >= w.need:
                    w.pos += w.need
                    w._idx = w.hidx
                    return True
                return False
            elif w.state == CSIZE:
                j = b.find(b"\r\n", w.pos)
                if j < 0:
                    return False
                n = int(bytes(b[w.pos:j]).split(b";")[0], 16)
                w.pos = j + 2
                if n == 0:
                    w.state = TRAIL
                else:
                    w.need = n + 2; w.state = CDATA
            elif w.state == CDATA:
                if len(b) - w.pos >= w.need:
                    w.pos += w.need; w.state = CSIZE
                else:
                    return False
            elif w.state == TRAIL:	# trailer lines until an empty one
                j = b.find(b"\r\n", w.pos)
                if j < 0:
                    return False
                empty = j == w.pos
                w.pos = j + 2
                if empty:
                    w._idx = w.hidx
                    return True

    # Arm: a first GET (no index) answers at once; then they block.
    for w in ws:
        send(w)
    t_end = time.monotonic() + 30
    while not all(w.armed for w in ws):
        if time.monotonic() > t_end:
            sys.exit(f"not armed: {sum(not w.armed for w in ws)} of {len(ws)}; {errors[:3]}")
        handle_batch(sel.select(1), None)
    first_idx = {w.enc for w in ws}
    print(f"# armed {len(ws)} watches ({len(hosts)} hosts x {a.k}: {','.join(kinds)}), "
          f"content-encoding {first_idx}, leader s{leader()}, load {open('/proc/loadavg').read().split()[:3]}",
          flush=True)
    for w in ws:
        w.answers.clear()

    spids = [int(x) for x in os.environ.get("FANOUT_SPIDS", "").split() if x]
    # The servers' idle CPU (gossip, Raft heartbeats) over 2 s, all watches armed.
    i0 = sum(cpu_of(p) for p in spids); ti0 = time.monotonic()
    t_idle = ti0 + 2
    while time.monotonic() < t_idle:
        handle_batch(sel.select(0.1), None)
    idle_rate = (sum(cpu_of(p) for p in spids) - i0) / (time.monotonic() - ti0)	# ms/s
    cpu0 = [cpu_of(p) for p in spids] + [cpu_of(os.getpid()), cpu_of(pid)]
    tc0 = time.monotonic(); b0 = busy_ms()
    changes = []	# (seq, t0, t1, idx, status)
    t_prev = 0.0
    seq = 0
    pending = False
    t_start = time.monotonic()
    while seq < a.changes or pending:
        now = time.monotonic()
        if not pending and seq < a.changes:
            last_idx = changes[-1][3] if changes else 0
            ready = all(w.armed and w.index >= last_idx for w in ws)
            if ready and now >= t_prev + a.gap:
                os.write(cmd_w, f"{seq}\n".encode())
                pending = True; t_prev = now; seq += 1
        timeout = 0.005 if not pending else 1.0
        ev = sel.select(timeout)
        for key, _ in ev:
            if key.data is None:
                res_buf.extend(os.read(res_r, 4096))
                while b"\n" in res_buf:
                    ln, _, rest = bytes(res_buf).partition(b"\n")
                    res_buf[:] = rest
                    s, t0, t1, idx, st = ln.split()
                    changes.append((int(s), float(t0), float(t1), int(idx), int(st)))
                    pending = False
        handle_batch(ev, None)
        if time.monotonic() - t_start > 60 + a.changes * 5:
            errors.append("run timed out"); break
    # Let the last answers come in.
    t_wait = time.monotonic() + 2
    while time.monotonic() < t_wait:
        handle_batch(sel.select(0.05), None)
    cpu1 = [cpu_of(p) for p in spids] + [cpu_of(os.getpid()), cpu_of(pid)]
    tc1 = time.monotonic(); b1 = busy_ms()
    os.close(cmd_w)
    os.waitpid(pid, 0)

    # Attribution: change i (index I, sent t0) is answered on a watch by its
    # first answer with index >= I that completed after t0.
    rows = []
    pooled = []
    missing = 0
    srv_all = {}
    for (s, t0, t1, I, st) in changes:
        per_host = {}
        first = None
        by_srv = {}
        for w in ws:
            t = next((t for (ix, t, _st) in w.answers if ix >= I and t >= t0), None)
            if t is None:
                missing += 1; continue
            by_srv.setdefault(w.srv, []).append((t - t0) * 1000)
            first = t if first is None else min(first, t)
            per_host[w.host] = max(per_host.get(w.host, 0.0), t)
        # hosts with all k answers
        comp = [(per_host[h] - t0) * 1000 for h in hosts if h in per_host]
        rows.append({"seq": s, "index": I, "status": st, "txn_ms": (t1 - t0) * 1000,
                     "first_ms": (first - t0) * 1000 if first else None,
                     "host_p50_ms": pct(comp, 50), "host_p99_ms": pct(comp, 99),
                     "all_ms": max(comp) if len(comp) == len(hosts) else float("inf"),
                     "hosts": len(comp),
                     "per_server_p50_max_ms": {s: [pct(v, 50), max(v)] for s, v in sorted(by_srv.items())}})
        for s, v in by_srv.items():
            srv_all.setdefault(s, []).extend(v)
        pooled += comp
    ixs = [r["index"] for r in rows]
    if len(set(ixs)) != len(ixs) or ixs != sorted(ixs):
        errors.append(f"change indexes not all new: {ixs}")
    txn = [r["txn_ms"] for r in rows]; first = [r["first_ms"] for r in rows if r["first_ms"]]
    allm = [r["all_ms"] for r in rows]
    label = a.label or f"k{a.k}{'-' + a.size if a.size != 'block' else ''}{'-stale' if a.stale else ''}{'-nogzip' if not a.gzip else ''}{'' if a.to == 'spread' else '-to' + a.to}"
    cpu = [b - c for b, c in zip(cpu1, cpu0)]
    summ = {"label": label, "k": a.k, "size": a.size, "to": a.to, "kinds": kinds, "stale": a.stale, "gzip": a.gzip,
            "changes": len(rows), "missing_answers": missing, "errors": errors[:20],
            "txn_p50": pct(txn, 50), "txn_p99": pct(txn, 99),
            "first_p50": pct(first, 50), "first_p99": pct(first, 99),
            "hostcomplete_pooled_p50": pct(pooled, 50), "hostcomplete_pooled_p99": pct(pooled, 99),
            "all99_p50": pct(allm, 50), "all99_p99": pct(allm, 99), "all99_max": max(allm) if allm else None,
            "cpu_ms": {"servers": cpu[:len(spids)], "watchers_py": cpu[-2], "writer_py": cpu[-1]},
            "server_idle_ms_per_s": idle_rate,
            "machine_busy_frac": (b1 - b0) / (2000 * (tc1 - tc0)),
            "others_busy_frac": ((b1 - b0) - sum(cpu)) / (2000 * (tc1 - tc0)),
            "server_cpu_ms_per_change": (sum(cpu[:len(spids)]) - idle_rate * (tc1 - tc0)) / max(1, len(rows)),
            "watchers_py_cpu_ms_per_change": cpu[-2] / max(1, len(rows)),
            "leader": f"s{leader()}",
            "answer_ms_by_server_p50_p99": {s: [pct(v, 50), pct(v, 99)] for s, v in sorted(srv_all.items())},
            "wall_s": time.monotonic() - t_start, "load_at_start": a.load, "rows": rows}
    os.makedirs(RESULTS, exist_ok=True)
    with open(f"{RESULTS}/{label}.json", "w") as f:
        json.dump(summ, f, indent=1)
    print(f"{label:16s} n={len(rows)} txn p50/p99 {summ['txn_p50']:.1f}/{summ['txn_p99']:.1f} ms | "
          f"first p50/p99 {summ['first_p50']:.1f}/{summ['first_p99']:.1f} | "
          f"host-complete pooled p50/p99 {summ['hostcomplete_pooled_p50']:.1f}/{summ['hostcomplete_pooled_p99']:.1f} | "
          f"all-99 p50/p99(max) {summ['all99_p50']:.1f}/{summ['all99_p99']:.1f} ms | "
          f"missing {missing} err {len(errors)} | per change: server CPU {summ['server_cpu_ms_per_change']:.0f} ms, watcher py {summ['watchers_py_cpu_ms_per_change']:.1f} ms"
          f" | CPU busy {summ['machine_busy_frac']:.0%} (others {summ['others_busy_frac']:.0%}) | load {a.load}", flush=True)
    print(f"#   leader {summ['leader']}; each watch's answer by server p50/p99 ms: " + ", ".join(
        f"{s.rsplit('.', 1)[1]}: {v[0]:.0f}/{v[1]:.0f}" for s, v in summ["answer_ms_by_server_p50_p99"].items()), flush=True)
    if errors:
        print("# errors:", errors[:5])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["prefill", "run"])
    p.add_argument("--k", type=int, default=1)
    p.add_argument("--small", action="store_true", help="= --size small")
    p.add_argument("--size", choices=["block", "medium", "small"], default="block",
                   help="watched prefixes: a /24 block (250 keys), 62 or 11 keys")
    p.add_argument("--stale", action="store_true")
    p.add_argument("--to", default="spread", help="spread (host h -> server h%%3+1), leader, s1, s2 or s3")
    p.add_argument("--no-gzip", dest="gzip", action="store_false")
    p.add_argument("--changes", type=int, default=20)
    p.add_argument("--gap", type=float, default=0.3)
    p.add_argument("--label", default="")
    p.add_argument("--load", default=open("/proc/loadavg").read().split()[0])
    a = p.parse_args()
    prefill() if a.cmd == "prefill" else run(a)


if __name__ == "__main__":
    main()
