#!/usr/bin/python3
# tcpechod: a TCP echo server on 127.0.0.1 for tools/test-tcp, for Exo's
# TCP client (user/srv/tcpsend.c) to talk to. Prints "tcpechod: port N"
# once listening, serves connections one by one, and exits after
# the first connection ends or after 120 s.
import socket, sys
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(4)
srv.settimeout(120)
print("tcpechod: port %d" % srv.getsockname()[1], flush=True)
try:
    c, _ = srv.accept()
    c.settimeout(60)
    n = 0
    while True:
        d = c.recv(65536)
        if not d:
            break
        c.sendall(d)
        n += len(d)
    c.shutdown(socket.SHUT_WR)
    c.close()
    print("tcpechod: echoed %d bytes" % n, flush=True)
except OSError as e:
    print("tcpechod: %s" % e, flush=True)
