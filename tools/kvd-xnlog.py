#!/usr/bin/python3
"""kvd-xnlog.py IMG list | IMG damage KIND SEQ

Reads kvd's append-only log on XN blocks (user/srv/kvd/xnlog.h) straight
from a disk image, for tools/test-kvd-exo's hostile-input tests:

  list                 one line per valid record of the live log:
                       "SEQ LEN GEN OFFSET", then "end OFFSET REASON"
  damage KIND SEQ      damage record SEQ of the live log in place:
    crc                one payload byte flipped (the CRC no longer matches)
    truncate           the record's second half and everything after it
                       zeroed (a write torn mid-record)
    torn-header        the same from the middle of its header on
    length             its length field set to a garbage 0xfffffff0
    garbage            its whole header overwritten with 0xa5 bytes

The layout (inc/disk.h): block 0 the XN superblock, whose fifth word names
the root catalogue's block; 32 catalogue entries of 128 bytes (name[32],
guard[64], root block u64, type u32); the root "kvd-aof" is one block of
struct xnlog_root. Exits 1 with a message if the image has no such log.
"""
import struct
import sys

BLK = 4096
HDR = 24
EXTENTS = 127


def crc32c(data, crc=0xFFFFFFFF):
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc


def die(msg):
    print("kvd-xnlog: " + msg, file=sys.stderr)
    sys.exit(1)


def block(f, n):
    f.seek(n * BLK)
    return f.read(BLK)


def find_root(f):
    sb = block(f, 0)
    if struct.unpack_from("<Q", sb, 0)[0] != 0x314E582D4F584555:
        die("no XN superblock")
    cat = block(f, struct.unpack_from("<Q", sb, 32)[0])
    for i in range(32):
        e = cat[i * 128:(i + 1) * 128]
        if e[:32].split(b"\0")[0] == b"kvd-aof":
            return struct.unpack_from("<Q", e, 96)[0]
    die("no kvd-aof root")


class Log:
    def __init__(self, f):
        self.f = f
        root = block(f, find_root(f))
        tag, self.active, self.gen, _ = struct.unpack_from("<4I", root, 0)
        if tag != 0x314C564B:
            die("the root is not a log's")
        off = 16 + self.active * (8 + 8 * EXTENTS)
        self.log, count = struct.unpack_from("<2I", root, off)
        self.ext = [struct.unpack_from("<2I", root, off + 8 + 8 * i) for i in range(count)]
        self.size = sum(n for _, n in self.ext) * BLK

    def where(self, pos):
        """The image offset of log byte pos."""
        b, o = divmod(pos, BLK)
        for start, n in self.ext:
            if b < n:
                return (start + b) * BLK + o
            b -= n
        raise ValueError("past the log")

    def read(self, pos, n):
        out = b""
        while n:
            k = min(n, BLK - pos % BLK)
            self.f.seek(self.where(pos))
            out += self.f.read(k)
            pos, n = pos + k, n - k
        return out

    def write(self, pos, data):
        while data:
            k = min(len(data), BLK - pos % BLK)
            self.f.seek(self.where(pos))
            self.f.write(data[:k])
            pos, data = pos + k, data[k:]

    def records(self):
        """[(seq, len, gen, pos)], end position, why it ended."""
        pos, seq, gen, out = 0, 0, 0, []
        while pos + HDR <= self.size:
            h = self.read(pos, HDR)
            ln, crc, log, g, s = struct.unpack("<4IQ", h)
            if ln == 0 and log == 0 and s == 0:
                return out, pos, "zeros"
            if ln == 0 or ln > 65536 or pos + HDR + ln > self.size:
                return out, pos, "a bad length"
            if log != self.log or s != seq + 1 or g < gen or g > self.gen:
                return out, pos, "a record of another log or generation"
            body = self.read(pos + HDR, ln)
            z = h[:4] + b"\0\0\0\0" + h[8:]
            if crc32c(z + body) ^ 0xFFFFFFFF != crc:
                return out, pos, "a bad CRC"
            out.append((s, ln, g, pos))
            pos, seq, gen = pos + HDR + ln, s, g
        return out, pos, "the end of its blocks"


def main():
    if len(sys.argv) < 3:
        die(__doc__)
    with open(sys.argv[1], "r+b") as f:
        log = Log(f)
        recs, end, why = log.records()
        if sys.argv[2] == "list":
            for s, ln, g, pos in recs:
                print(s, ln, g, pos)
            print("end", end, why)
            return
        if sys.argv[2] != "damage" or len(sys.argv) != 5:
            die(__doc__)
        kind, seq = sys.argv[3], int(sys.argv[4])
        rec = [r for r in recs if r[0] == seq]
        if not rec:
            die("no record %d (the log has %d)" % (seq, len(recs)))
        _, ln, _, pos = rec[0]
        if kind == "crc":
            b = log.read(pos + HDR + ln // 2, 1)
            log.write(pos + HDR + ln // 2, bytes([b[0] ^ 0x40]))
        elif kind == "truncate":
            cut = pos + (HDR + ln) // 2
            log.write(cut, bytes(end - cut))
        elif kind == "torn-header":
            log.write(pos + HDR // 2, bytes(end - pos - HDR // 2))
        elif kind == "length":
            log.write(pos, struct.pack("<I", 0xFFFFFFF0))
        elif kind == "garbage":
            log.write(pos, b"\xa5" * HDR)
        else:
            die("no damage called " + kind)


main()
