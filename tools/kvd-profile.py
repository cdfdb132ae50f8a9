#!/usr/bin/python3
"""tools/kvd-profile.py DIR "TEST..." : tools/kvd-profile's report.

Reads DIR/GUEST-TEST.{before,after,wire,bench} (INFO runner and stats
before and after a redis-benchmark test, the wire counts of
tools/kvd-wirecount.py, the benchmark's line) and prints, per test, every
counter's difference divided by the commands the server ran in between,
as a markdown table: Exo's layers, and the wire beside Linux's.
"""
import os
import sys


def info(path):
    d = {}
    if not os.path.exists(path):
        return d
    for line in open(path, errors="replace"):
        k, _, v = line.strip().partition(":")
        try:
            d[k] = int(v)
        except ValueError:
            pass
    return d


def wire(path):
    if not os.path.exists(path):
        return None
    for line in open(path):
        w = line.split()
        if w and w[0] == "to":
            return {"to": int(w[1]), "to_data": int(w[2]), "to_acks": int(w[3]),
                    "from": int(w[5]), "from_data": int(w[6]), "from_acks": int(w[7]),
                    "drops": int(w[9])}
    return None


def rate(path):
    if not os.path.exists(path):
        return "-"
    for line in open(path):
        if "requests per second" in line:
            return line.split(":")[1].split()[0]
    return "-"


def client_ns(path):
    """The client's CPU time (user + system) in ns, or None."""
    if not os.path.exists(path):
        return None
    for line in open(path):
        w = line.split()
        if len(w) == 4 and w[0] == "client_ticks":
            return (int(w[1]) + int(w[2])) * 1e9 / int(w[3])
    return None


def diff(d, k):
    b, a = info(f"{d}.before"), info(f"{d}.after")
    return a.get(k, 0) - b.get(k, 0)


def host_rows(d, t):
    """The host's CPU per request, microseconds: Exo and Linux side by side."""
    cols = []
    for g in ("exo", "linux"):
        base = f"{d}/{g}-{t}"
        req = diff(base, "total_commands_processed")
        r = rate(f"{base}.bench")
        if req <= 0:
            cols.append(None)
            continue
        c = client_ns(f"{base}.bench")
        cols.append({"wall": 1e6 / float(r) if r != "-" else 0,
                     "vcpu": diff(base, "host_vcpu_ns") / req / 1e3,
                     "io": diff(base, "host_qemu_io_ns") / req / 1e3,
                     "client": c / req / 1e3 if c else 0})
    print("| host, microseconds per request | Exo | Linux |\n|---|---:|---:|")
    for k, name in (("wall", "wall clock (1 / the rate)"),
                    ("vcpu", "QEMU's vCPU thread on a CPU (the guest)"),
                    ("io", "QEMU's other threads (TAP, virtio queues)"),
                    ("client", "redis-benchmark (user + system)")):
        v = ["%.1f" % col[k] if col else "-" for col in cols]
        print(f"| {name} | {v[0]} | {v[1]} |")
    print()


def main():
    d, tests = sys.argv[1], sys.argv[2].split()
    for t in tests:
        b, a = info(f"{d}/exo-{t}.before"), info(f"{d}/exo-{t}.after")
        lb, la = info(f"{d}/linux-{t}.before"), info(f"{d}/linux-{t}.after")
        req = a.get("total_commands_processed", 0) - b.get("total_commands_processed", 0)
        lreq = la.get("total_commands_processed", 0) - lb.get("total_commands_processed", 0)
        print(f"## {t.upper()}: 50 clients\n")
        print(f"Exo: {req} commands ({rate(f'{d}/exo-{t}.bench')} req/s in this run); "
              f"Linux: {lreq} ({rate(f'{d}/linux-{t}.bench')} req/s).\n")
        if req <= 0:
            print("(no Exo counts)\n")
            continue

        def per(k):
            return (a.get(k, 0) - b.get(k, 0)) / req

        def row(name, v, fmt="%.2f"):
            print(f"| {name} | {fmt % v} |")

        host_rows(d, t)
        print("| wire, per request | Exo | Linux |\n|---|---:|---:|")
        we, wl = wire(f"{d}/exo-{t}.wire"), wire(f"{d}/linux-{t}.wire")
        wreq = (info(f"{d}/exo-{t}.wafter").get("total_commands_processed", 0) -
                info(f"{d}/exo-{t}.wbefore").get("total_commands_processed", 0))
        wlreq = (info(f"{d}/linux-{t}.wafter").get("total_commands_processed", 0) -
                 info(f"{d}/linux-{t}.wbefore").get("total_commands_processed", 0))
        for k, name in (("to", "frames to the guest"), ("to_data", "... with data"),
                        ("to_acks", "... pure ACKs"), ("from", "frames from the guest"),
                        ("from_data", "... with data"), ("from_acks", "... pure ACKs")):
            e = "%.3f" % (we[k] / wreq) if we and wreq > 0 else "-"
            lv = "%.3f" % (wl[k] / wlreq) if wl and wlreq > 0 else "-"
            print(f"| {name} | {e} | {lv} |")
        drops = [w["drops"] for w in (we, wl) if w]
        if any(drops):
            print(f"\n(the capture dropped {drops} frames: those counts are lower bounds)")
        print("\n| Exo, per request | count |\n|---|---:|")
        for k, name in (("tcp_in_segs", "TCP segments in"), ("tcp_out_segs", "TCP segments out"),
                        ("tcp_out_data_segs", "... with data"), ("tcp_out_acks", "... pure ACKs"),
                        ("tcp_delacks", "delayed-ACK timers expired"),
                        ("tcp_timer_adds", "TCP timer heap insertions"),
                        ("tcp_timer_removes", "TCP timer heap removals"),
                        ("tcp_lookup_steps", "4-tuple lookup steps"),
                        ("tcp_rbuf_allocs", "receive rings allocated"),
                        ("net_sys_sends", "sys_net_send_batch calls"),
                        ("net_sys_waits", "sys_net_wait calls"),
                        ("net_sys_yields", "sys_yield calls"),
                        ("kern_irqs", "network interrupts"),
                        ("kern_wakes", "wake-ups by a frame"),
                        ("kern_ticks", "timer interrupts"),
                        ("kern_env_runs", "kernel resumes of kvd"),
                        ("kern_tx_kicks", "transmit doorbells"),
                        ("loop_turns", "event-loop turns"), ("loop_sleeps", "... that slept"),
                        ("loop_events", "connection events"),
                        ("kvd_recvs", "tcp_recv calls"), ("kvd_sends", "tcp_send calls")):
            row(name, per(k))
        turns = a.get("loop_turns", 0) - b.get("loop_turns", 0)
        frames = a.get("loop_frames", 0) - b.get("loop_frames", 0)
        if turns:
            print(f"| frames taken per turn | {frames / turns:.2f} |")
        hz = a.get("tsc_hz", 1)
        elapsed = per("tsc")
        sc = a.get("syscall_cycles", 0)
        print(f"\n| Exo, TSC cycles per request ({hz / 1e6:.0f} MHz) | cycles | share |")
        print("|---|---:|---:|")
        calls = per("net_sys_sends") + per("net_sys_waits") + per("net_sys_yields")

        def cyc(name, v):
            print(f"| {name} | {v:.0f} | {100 * v / elapsed:.1f}% |")

        cyc("all (wall clock between the INFOs)", elapsed)
        cyc("asleep in sys_net_wait (interrupts then included)", per("net_cycles_wait"))
        busy = elapsed - per("net_cycles_wait")
        cyc("awake", busy)
        cyc("... network interrupts (asleep or not)", per("kern_cycles_irq"))
        cyc("... system call entry and exit (%.1f calls of %d)" % (calls, sc), calls * sc)
        cyc("... sys_net_send_batch, whole calls", per("net_cycles_send"))
        cyc("... frames in: Ethernet, IP, TCP input (lib/net)", per("net_cycles_rx"))
        cyc("... callbacks (kvd's on_event)", per("loop_cycles_serve"))
        cyc("...... tcp_recv (copy out of the receive buffer)", per("kvd_cycles_recv"))
        cyc("...... engine: feed (RESP parse, command, reply)", per("engine_cycles_feed"))
        cyc("......... command (lookup, run, reply buffered)", per("engine_cycles_command"))
        cyc("......... replies handed to the runner", per("engine_cycles_reply"))
        cyc("...... tcp_send (TCP output, IP, frame built; most of it in the hand-over)",
            per("kvd_cycles_send"))
        cyc("... end of turn: the batch sent", per("loop_cycles_flush"))
        cyc("... ticks and deadlines", per("loop_cycles_due"))
        txf, rxf = per("kern_tx_frames"), per("kern_rx_frames")
        if txf and rxf:
            print(f"\nPer frame: {per('net_cycles_send') / txf:.0f} cycles in sys_net_send_batch "
                  f"for each frame sent, {per('kern_cycles_irq') / rxf:.0f} in the interrupt "
                  f"for each frame received.")
        print()


main()
