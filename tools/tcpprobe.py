#!/usr/bin/python3
# tcpprobe PORT: drives the guest's TCP echo server (user/srv/tcpecho.c)
# through QEMU's user network from the host, printing PASS:/FAIL: lines:
#   tcp.echo-small     one short message, echoed
#   tcp.echo-bulk      8 connections one after another, 1 KiB to 1 MiB each,
#                      sent while reading, SHA-256 of what came back compared
#   tcp.half-close     the client shuts its side after sending; the echo
#                      still arrives, then end of stream
#   tcp.concurrent     N connections open at once (default 1000), each
#                      sending 1-4 KiB and reading it back
# then sends QUIT so the server ends. Seeded: the same bytes every run.
import hashlib, random, selectors, socket, sys, time

port = int(sys.argv[1])
nconc = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
rng = random.Random(14)

def result(name, ok, why=""):
    print(("PASS: " if ok else "FAIL: ") + name + ("" if ok else ": " + why), flush=True)

def connect(timeout=20):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s

def connect_retrying(deadline):
    """QEMU's user network listens for a forwarded port with a backlog of
    one (ss shows Send-Q 1), so the host's kernel drops SYNs while slirp
    has not yet taken the previous connection, and the client would wait
    its 1 s, 3 s, ... SYN retransmission timer. Try again at once instead."""
    while True:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(0.2)
        try:
            s.connect(("127.0.0.1", port))
        except socket.timeout:
            s.close()
            if time.time() > deadline:
                raise
            continue
        s.settimeout(60)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

def echo(data, timeout=60):
    """Send data on a new connection while reading the echo back."""
    s = connect()
    s.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
    sent, got, deadline = 0, bytearray(), time.time() + timeout
    shut = False
    while len(got) < len(data) and time.time() < deadline:
        for key, ev in sel.select(1):
            if ev & selectors.EVENT_WRITE and sent < len(data):
                try:
                    sent += s.send(data[sent:sent + 65536])
                except BlockingIOError:
                    pass
            if ev & selectors.EVENT_READ:
                try:
                    chunk = s.recv(65536)
                except BlockingIOError:
                    chunk = None
                if chunk == b"":
                    deadline = 0
                    break
                if chunk:
                    got += chunk
        if sent == len(data) and not shut:
            sel.modify(s, selectors.EVENT_READ)
            s.shutdown(socket.SHUT_WR)
            shut = True
    s.close()
    return bytes(got)

try:
    got = echo(b"hello, exo\n", 20)
    result("tcp.echo-small", got == b"hello, exo\n", "got %r" % got[:40])

    bad = ""
    for i, size in enumerate([1024, 65536, 200000, 1 << 20, 3, 1460, 1461, 100000]):
        data = rng.randbytes(size)
        back = echo(data)
        if hashlib.sha256(back).digest() != hashlib.sha256(data).digest():
            bad = "connection %d: sent %d bytes, %d came back%s" % (
                i, size, len(back), " (different)" if len(back) == size else "")
            break
    result("tcp.echo-bulk", not bad, bad)

    s = connect()
    s.sendall(b"half")
    s.shutdown(socket.SHUT_WR)
    got = b""
    while True:
        c = s.recv(100)
        if not c:
            break
        got += c
    s.close()
    result("tcp.half-close", got == b"half", "got %r" % got)

    # Many at once: connect them all, then exchange on all, then check.
    conns, datas, backs = [], [], []
    t0 = time.time()
    bad = ""
    for i in range(nconc):
        try:
            conns.append(connect_retrying(time.time() + 60))
        except OSError as e:
            bad = "connection %d: %s" % (i, e)
            break
    if not bad:
        sel = selectors.DefaultSelector()
        for i, s in enumerate(conns):
            d = rng.randbytes(rng.randint(1024, 4096))
            datas.append(d)
            backs.append(bytearray())
            s.sendall(d)
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, i)
        left, deadline = nconc, time.time() + 120
        while left and time.time() < deadline:
            for key, ev in sel.select(1):
                i = key.data
                try:
                    c = key.fileobj.recv(65536)
                except BlockingIOError:
                    continue
                backs[i] += c
                if not c or len(backs[i]) >= len(datas[i]):
                    sel.unregister(key.fileobj)
                    left -= 1
        wrong = [i for i in range(nconc) if bytes(backs[i]) != datas[i]]
        if wrong:
            bad = "%d of %d connections did not get their bytes back (first %d: %d of %d)" % (
                len(wrong), nconc, wrong[0], len(backs[wrong[0]]), len(datas[wrong[0]]))
    for s in conns:
        s.close()
    result("tcp.concurrent-%d" % nconc, not bad, bad)
    if not bad:
        print("tcpprobe: %d concurrent connections in %.1f s" % (nconc, time.time() - t0))
except Exception as e:  # a hang or reset is a failure, not a crash
    result("tcp.probe", False, repr(e))

try:
    q = connect(10)
    q.sendall(b"QUIT")
    q.shutdown(socket.SHUT_WR)
    q.recv(10)
    q.close()
except OSError:
    pass
