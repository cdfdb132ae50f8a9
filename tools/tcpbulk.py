#!/usr/bin/python3
# tcpbulk HOST PORT BYTES SEED TIMEOUT [HOLD]: Linux's TCP against an echo server
# (user/srv/sockecho.c on Exo): sends BYTES of seeded random data while
# reading the echo, so the bytes cross the path both ways at once, then
# shuts down its side and reads to end of stream. Compares the SHA-256 of
# what came back with what was sent. Prints one line
#   tcpbulk: ok BYTES each way in T s (R KB/s), sha256 H
# and exits 0, or "tcpbulk: FAIL ..." and exits 1 (also after TIMEOUT s).
# With HOLD (a path), the last byte waits until that file exists, so the
# connection stays open for as long as the caller needs it to.
import hashlib, os, random, selectors, socket, sys, time

host, port, total, seed, timeout = (sys.argv[1], int(sys.argv[2]), int(sys.argv[3]),
                                    int(sys.argv[4]), float(sys.argv[5]))
hold = sys.argv[6] if len(sys.argv) > 6 else None
data = random.Random(seed).randbytes(total)
want = hashlib.sha256(data).hexdigest()
got = hashlib.sha256()
t0 = time.time()
try:
    s = socket.create_connection((host, port), timeout=min(timeout, 30))
except OSError as e:
    print("tcpbulk: FAIL connect: %s" % e)
    sys.exit(1)
s.setblocking(False)
sel = selectors.DefaultSelector()
sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
sent = rcvd = 0
shut = False
while True:
    left = t0 + timeout - time.time()
    if left <= 0:
        print("tcpbulk: FAIL timeout after %.0f s: sent %d, echoed %d of %d"
              % (timeout, sent, rcvd, total))
        sys.exit(1)
    for key, ev in sel.select(min(left, 1.0)):
        if ev & selectors.EVENT_WRITE and sent < total:
            if hold and os.path.exists(hold):
                hold = None
            upto = total - 1 if hold else total
            try:
                if sent < upto:
                    sent += s.send(data[sent:min(sent + 65536, upto)])
                else:
                    time.sleep(0.01)  # held: everything but the last byte is out
            except BlockingIOError:
                pass
            if sent == total and not shut:
                s.shutdown(socket.SHUT_WR)
                shut = True
                sel.modify(s, selectors.EVENT_READ)
        if ev & selectors.EVENT_READ:
            try:
                b = s.recv(262144)
            except BlockingIOError:
                continue
            except OSError as e:
                print("tcpbulk: FAIL recv after %d bytes: %s" % (rcvd, e))
                sys.exit(1)
            if not b:
                dt = time.time() - t0
                h = got.hexdigest()
                if rcvd == total and h == want:
                    print("tcpbulk: ok %d each way in %.1f s (%.0f KB/s), sha256 %s"
                          % (total, dt, total / dt / 1000, h[:16]))
                    sys.exit(0)
                print("tcpbulk: FAIL end of stream after %d of %d bytes, sha256 %s want %s"
                      % (rcvd, total, h[:16], want[:16]))
                sys.exit(1)
            got.update(b)
            rcvd += len(b)
