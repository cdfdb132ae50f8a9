#!/usr/bin/python3
"""kvd-writer.py PORT PREFIX [--times]: SET PREFIX:i 1 for i = 0, 1, ... on
one connection, one at a time, printing each i once its +OK has come back
(acknowledged), until the connection breaks or the process is killed.
For power-cut tests: every printed i must survive the cut (appendfsync
always), or all but the last second's (everysec). --times adds the
time.monotonic() of each acknowledgement after i."""
import socket
import sys
import time

s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
f = s.makefile("rb")
prefix = sys.argv[2].encode()
i = 0
try:
    while True:
        k = b"%s:%d" % (prefix, i)
        s.sendall(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$1\r\n1\r\n" % (len(k), k))
        if f.readline() != b"+OK\r\n":
            break
        if len(sys.argv) > 3:
            print(i, time.monotonic(), flush=True)
        else:
            print(i, flush=True)
        i += 1
except OSError:
    pass
