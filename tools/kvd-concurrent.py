#!/usr/bin/python3
"""kvd-concurrent.py PORT N: open N Redis clients to 127.0.0.1:PORT and keep
them all open; then every client SETs its own key and GETs it back, in one
round over all of them, and CLIENT LIST (from one more connection) must
count at least N. Prints "N open, N answered, N connected".

Each connection is confirmed with a PING before the next is opened: QEMU's
user network accepts forwarded connections with a listen backlog of 1, so
a burst of connects would see SYNs dropped by the host and retried seconds
later; opening them one after another keeps the test about concurrency,
not about that backlog."""
import socket
import sys

port, n = int(sys.argv[1]), int(sys.argv[2])
conns = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(b"PING\r\n")
    if s.recv(64) != b"+PONG\r\n":
        print("client %d: no PONG" % i)
        sys.exit(0)
    conns.append(s)
for i, s in enumerate(conns):
    k = b"cc:%d" % i
    s.sendall(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n"
              % (len(k), k, len(k), k, len(k), k))
answered = 0
for i, s in enumerate(conns):
    k = b"cc:%d" % i
    want = b"+OK\r\n$%d\r\n%s\r\n" % (len(k), k)
    got = b""
    while len(got) < len(want):
        chunk = s.recv(4096)
        if not chunk:
            break
        got += chunk
    answered += got == want
probe = socket.create_connection(("127.0.0.1", port), timeout=30)
probe.sendall(b"CLIENT LIST\r\n")
data = b""
while True:
    chunk = probe.recv(65536)
    if not chunk:
        break
    data += chunk
    head, sep, rest = data.partition(b"\r\n")
    if sep and head.startswith(b"$") and len(rest) >= int(head[1:]) + 2:
        break
connected = data.count(b"id=") - 1  # without the probe itself
for s in conns:
    s.close()
print("%d open, %d answered, %d connected" % (len(conns), answered, min(connected, n)))
