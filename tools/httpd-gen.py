#!/usr/bin/python3
"""httpd-gen.py N OUT: the bytes httpd on Exo serves as /gen/N.bin
(user/srv/httpd/main.c): byte i is byte i % 8 (little-endian) of
splitmix64(i // 8)."""
import struct
import sys

M = (1 << 64) - 1


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & M
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M
    return x ^ (x >> 31)


n = int(sys.argv[1])
words = b"".join(struct.pack("<Q", splitmix64(i)) for i in range((n + 7) // 8))
with open(sys.argv[2], "wb") as f:
    f.write(words[:n])
