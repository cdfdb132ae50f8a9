#!/usr/bin/python3
"""tools/kvd-wirecount.py: count a TAP device's TCP frames, each way, until
SIGTERM or SIGINT; then print one line of counts (used by tools/kvd-profile).

    kvd-wirecount.py DEVICE PORT

Frames to and from TCP port PORT on DEVICE (an AF_PACKET socket, run as
root in the device's namespace): "to" is the host's side sending to the
guest, "from" the guest's frames. For each direction: frames, frames with
payload, pure ACKs (ACK and nothing else: no payload, no SYN, FIN or RST).
The kernel's drop count for the socket is printed too: a count with drops
is a lower bound, and the caller says so.
"""
import signal
import socket
import struct
import sys

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
SOL_PACKET = 263
PACKET_STATISTICS = 6


def main():
    dev, port = sys.argv[1], int(sys.argv[2])
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
    s.bind((dev, 0))
    counts = {d: [0, 0, 0] for d in ("to", "from")}
    drops = 0
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    signal.signal(signal.SIGINT, lambda *a: stop.append(1))
    s.settimeout(0.2)
    print("ready", flush=True)
    while not stop:
        try:
            frame, addr = s.recvfrom(128)
        except socket.timeout:
            continue
        except InterruptedError:
            continue
        if len(frame) < 34 or frame[12:14] != b"\x08\x00":
            continue
        ihl = (frame[14] & 15) * 4
        if frame[23] != 6 or len(frame) < 14 + ihl + 20:
            continue
        tot = struct.unpack("!H", frame[16:18])[0]
        t = 14 + ihl
        sport, dport = struct.unpack("!HH", frame[t:t + 4])
        if port not in (sport, dport):
            continue
        doff = (frame[t + 12] >> 4) * 4
        flags = frame[t + 13]
        payload = tot - ihl - doff
        c = counts["to" if addr[2] == PACKET_OUTGOING else "from"]
        c[0] += 1
        if payload > 0:
            c[1] += 1
        elif flags & 0x17 == 0x10:  # ACK without SYN, FIN, RST
            c[2] += 1
    st = s.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
    drops = struct.unpack("II", st)[1]
    print("to %d %d %d from %d %d %d drops %d" % tuple(counts["to"] + counts["from"] + [drops]),
          flush=True)


main()
