#!/usr/bin/env python3
"""Raw-socket clients for tools/test-httpd, printing PASS:/FAIL: lines.

    httpd-clients.py PORT WWW hostile      malformed and hostile requests
    httpd-clients.py PORT WWW concurrent N N connections at once, a GET on each
    httpd-clients.py PORT WWW slowloris    trickling clients beside a normal one
    httpd-clients.py PORT WWW held N       N keep-alive connections opened one
                                           after another, all open at once

HTTPD_TEST_NAME (httpd) prefixes the test names. `held` suits QEMU's user
network, whose forwarded port has a listen backlog of 1: a burst of
connects there waits seconds on the host's SYN retries.

WWW is the document root the server serves, to compare bodies with. Only
the standard library: any python3 will do.
"""
import os
import select
import selectors
import socket
import sys
import time

PORT = int(sys.argv[1])
WWW = sys.argv[2]
NAME = os.environ.get("HTTPD_TEST_NAME", "httpd")
failed = 0


def result(name, ok, why=""):
    global failed
    if ok:
        print(f"PASS: {NAME}.{name}")
    else:
        failed += 1
        print(f"FAIL: {NAME}.{name}: {why}")
    sys.stdout.flush()


def exchange(data, timeout=30.0, shut=False):
    # Requests whose framing survives an error keep the connection open:
    # they ask for Connection: close, so that the answer ends with a FIN.
    """Send data on a new connection; everything the server sends until it
    closes (or the timeout)."""
    s = socket.create_connection(("127.0.0.1", PORT), timeout=timeout)
    out = b""
    try:
        s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except (socket.timeout, ConnectionResetError) as e:
        out += f"<{type(e).__name__}>".encode()
    finally:
        s.close()
    return out


def status(resp):
    try:
        return int(resp.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


def hostile():
    long_target = b"/" + b"a" * 5000
    long_path = b"/" + b"b" * 1100
    cases = [
        ("no-host", b"GET / HTTP/1.1\r\n\r\n", 400),
        ("bad-version", b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
        ("garbage-version", b"GET / FTP/1.0\r\nHost: x\r\n\r\n", 400),
        ("post", b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi", 405),
        ("unknown-method", b"BREW /pot HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 501),
        ("chunked-body", b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501),
        ("smuggling", b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("huge-body", b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n", 413),
        ("long-target", b"GET " + long_target + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        ("long-path", b"GET " + long_path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 414),
        ("huge-head", b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"p" * 9000 + b"\r\n\r\n", 431),
        ("many-fields", b"GET / HTTP/1.1\r\nHost: x\r\n" + b"A: b\r\n" * 200 + b"\r\n", 431),
        ("dotdot", b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 400),
        ("encoded-dotdot", b"GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 400),
        ("mixed-dotdot", b"GET /docs/.%2E/.%2e/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 400),
        ("encoded-slash", b"GET /docs%2f..%2f..%2fx HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 400),
        ("nul-escape", b"GET /index.html%00.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 400),
        ("raw-nul", b"GET /index\x00.html HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("bad-escape", b"GET /%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 400),
        ("space-before-colon", b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
        ("obs-fold", b"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", 400),
        ("bare-cr", b"GET / HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n", 400),
        ("binary", bytes(range(256)) * 4, 400),
        ("header-injection", b"GET /%0d%0aSet-Cookie:%20x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 400),
        ("absolute-form", b"GET http://x/index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 200),
        ("missing", b"GET /no/such/file HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 404),
    ]
    for name, req, want in cases:
        resp = exchange(req)
        got = status(resp)
        body_ok = want == 200 or (b"<h1>%d " % want) in resp
        result(f"hostile.{name}", got == want and body_ok,
               f"wanted {want}, got {resp[:60]!r}")
    # a header section that never ends: 408 once request-ms passes
    # (the wait is for the answer, not a bound on it: a loaded machine is slow)
    resp = exchange(b"GET / HTTP/1.1\r\nHost: x\r\n", timeout=60)
    result("hostile.unfinished-head-408", status(resp) == 408, f"got {resp[:60]!r}")
    # a half-close after a full request still gets its answer
    resp = exchange(b"GET /docs/notes.txt HTTP/1.1\r\nHost: x\r\n\r\n", shut=True)
    result("hostile.half-close-answered", status(resp) == 200, f"got {resp[:60]!r}")
    # pipelining: three requests in one write, three answers in order
    resp = exchange(b"GET /docs/notes.txt HTTP/1.1\r\nHost: x\r\n\r\n"
                    b"HEAD /index.html HTTP/1.1\r\nHost: x\r\n\r\n"
                    b"GET /css/site.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    notes = open(os.path.join(WWW, "docs/notes.txt"), "rb").read()
    css = open(os.path.join(WWW, "css/site.css"), "rb").read()
    result("pipelining", resp.count(b"HTTP/1.1 200 OK") == 3 and notes in resp
           and resp.endswith(css), f"got {resp[:80]!r}...")
    # still serving after all that
    resp = exchange(b"GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    result("hostile.still-serving", status(resp) == 200, f"got {resp[:60]!r}")


def concurrent(n):
    want = open(os.path.join(WWW, "index.html"), "rb").read()
    sel = selectors.DefaultSelector()
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", PORT))
        socks.append(s)
        sel.register(s, selectors.EVENT_WRITE, [b"", False])
    req = b"GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    done = 0
    ok = 0
    deadline = time.time() + 30
    while done < n and time.time() < deadline:
        for key, ev in sel.select(timeout=1):
            s, st = key.fileobj, key.data
            if ev & selectors.EVENT_WRITE and not st[1]:
                try:
                    s.send(req)
                except OSError:
                    continue
                st[1] = True
                sel.modify(s, selectors.EVENT_READ, st)
            elif ev & selectors.EVENT_READ:
                try:
                    b = s.recv(65536)
                except OSError:
                    b = b""
                if b:
                    st[0] += b
                    continue
                done += 1
                if status(st[0]) == 200 and st[0].endswith(want):
                    ok += 1
                sel.unregister(s)
                s.close()
    for s in socks:
        s.close()
    result(f"concurrent-{n}", ok == n, f"{ok} of {n} answered in full ({done} closed)")


def slowloris():
    slow = []
    head = b"GET /index.html HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 200
    for _ in range(50):
        s = socket.create_connection(("127.0.0.1", PORT), timeout=10)
        s.send(head[:1])  # a request under way from the start, not an idle connection
        slow.append(s)
    # Twenty normal requests while the crowd trickles: each must be answered
    # in full. Whether the crowd was starving the server shows as a request
    # that times out (30 s each), not as a latency bound, which a loaded
    # machine under TCG cannot promise; the slowest is reported only.
    worst = 0.0
    served = 0
    tries = 20
    i = 1
    got = {}  # a trickling client's answer, read as soon as it comes: a
    # client that went on sending after the server closed would draw a reset
    # that throws the answer away
    for _ in range(tries):
        readable = select.select([s for s in slow if s not in got], [], [], 0)[0]
        for s in readable:
            try:
                got[s] = s.recv(4096)
            except OSError:
                got[s] = b""
        for s in slow:
            if s in got:
                continue
            try:
                s.send(head[i:i + 1])
            except OSError:
                pass
        i = min(i + 1, len(head) - 1)
        a = time.time()
        resp = exchange(b"GET /about.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        worst = max(worst, time.time() - a)
        served += status(resp) == 200
        time.sleep(0.05)
    held = len(slow) - len(got)
    result("slowloris.normal-client-served", served == tries,
           f"{served} of {tries} served, slowest {worst:.3f} s, "
           f"{held} trickling clients still open at the end")
    timed_out = 0
    for s in slow:
        try:
            if s not in got:
                s.settimeout(30)
                got[s] = s.recv(4096)
        except OSError:
            got[s] = b""
        timed_out += status(got[s]) == 408
        s.close()
    result("slowloris.trickling-clients-get-408", timed_out == len(slow),
           f"{timed_out} of {len(slow)} got 408")


def held(n):
    """n connections, each opened (and its connect confirmed by the answer to
    a keep-alive GET) before the next; then the server's /status must count
    all of them open, and each must still answer a second GET."""
    want = open(os.path.join(WWW, "index.html"), "rb").read()
    req = b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n"
    socks = []
    first = 0

    def answer(s):
        got = b""
        while not got.endswith(want):
            b = s.recv(65536)
            if not b:
                break
            got += b
        return status(got) == 200 and got.endswith(want)

    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", PORT), timeout=20)
        s.sendall(req)
        first += answer(s)
        socks.append(s)
    st = exchange(b"GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    line = [l for l in st.split(b"\n") if l.startswith(b"connections: ")]
    open_now = int(line[0].split()[1]) if line else -1
    for s in socks:
        s.sendall(req)
    second = sum(answer(s) for s in socks)
    for s in socks:
        s.close()
    result(f"held-{n}", first == n and second == n and open_now >= n,
           f"{first} and {second} of {n} answered, {open_now} open at once")


what = sys.argv[3]
if what == "hostile":
    hostile()
elif what == "concurrent":
    concurrent(int(sys.argv[4]))
elif what == "slowloris":
    slowloris()
elif what == "held":
    held(int(sys.argv[4]))
sys.exit(1 if failed else 0)
