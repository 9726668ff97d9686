"""The measuring loops of shmq-bench (bench/workloads.hpp), in Python, for mp_bench.py.

Same rules as the C++ loops: every message is `size` bytes whose first 8 bytes are a sequence
word ((producer << 48) | counter, or STOP) and whose last byte is a check byte; receivers check
both; the window is [window_start, end) in CLOCK_MONOTONIC nanoseconds (time.monotonic_ns(), the
clock the C++ runner uses); CPU is the process's user + system time (time.process_time_ns(), which
includes helper threads such as mp.Queue's feeder) from the start barrier to the end.

An endpoint is a pair of functions: send(buffer) and recv() -> bytes.
"""

import struct
import time

STOP = (1 << 64) - 1
PRODUCER_SHIFT = 48
COUNTER_MASK = (1 << PRODUCER_SHIFT) - 1
SEQ = struct.Struct("<Q")


def trailer(size):
    return (size * 31 + 7) & 0xFF


def template(size):
    """A message buffer: bytes i & 0xFF, the check byte last, sequence word 0."""
    buf = bytearray(i & 0xFF for i in range(size))
    buf[-1] = trailer(size)
    SEQ.pack_into(buf, 0, 0)
    return buf


def check_payload(msg, size, where):
    # The check byte is the last one after the sequence word (8-byte messages have none).
    if len(msg) != size or (size > 8 and msg[-1] != trailer(size)):
        raise RuntimeError(f"{where}: payload damaged ({len(msg)} bytes)")


def percentile(sorted_samples, q):
    """Nearest rank: the smallest sample with at least q*n samples at or below it."""
    n = len(sorted_samples)
    if n == 0:
        return 0
    rank = min(max(int(q * n + 0.999999), 1), n)
    return sorted_samples[rank - 1]


def ping(start, send, recv, size):
    """Round trip, measuring side. `start()` is the barrier; returns (window_start, end)."""
    buf = template(size)
    samples = []
    win, end = start()
    cpu0 = time.process_time_ns()
    seq = 0
    in_window = False
    window_start = 0
    prev = time.monotonic_ns()
    while True:
        SEQ.pack_into(buf, 0, seq)
        send(buf)
        msg = recv()
        got = SEQ.unpack_from(msg, 0)[0]
        if got != seq:
            raise RuntimeError(f"ping: sent message #{seq}, got #{got} back")
        check_payload(msg, size, "ping")
        seq += 1
        t = time.monotonic_ns()
        if in_window:
            samples.append(t - prev)
            if t >= end:
                break
        elif t >= win:
            in_window = True
            window_start = t
        prev = t
    SEQ.pack_into(buf, 0, STOP)
    send(buf)
    cpu = time.process_time_ns() - cpu0
    samples.sort()
    n = len(samples)
    return {
        "msgs_total": seq,
        "msgs_window": n,
        "window_start_ns": window_start,
        "window_end_ns": prev,
        "cpu_ns": cpu,
        "samples": n,
        "p50_ns": percentile(samples, 0.50),
        "p99_ns": percentile(samples, 0.99),
        "p999_ns": percentile(samples, 0.999),
        "max_ns": samples[-1] if n else 0,
        "mean_ns": sum(samples) / n if n else 0,
    }


def pong(start, send, recv, size):
    """Round trip, echoing side."""
    start()
    cpu0 = time.process_time_ns()
    echoed = 0
    while True:
        msg = recv()
        if SEQ.unpack_from(msg, 0)[0] == STOP:
            break
        send(msg)
        echoed += 1
    return {"msgs_total": echoed, "cpu_ns": time.process_time_ns() - cpu0}


def produce(start, send, index, size, stop):
    """One-way, sending side, until `end`; then `stop()` (which sends the stops if this producer
    is the last one)."""
    buf = template(size)
    tag = index << PRODUCER_SHIFT
    win, end = start()
    cpu0 = time.process_time_ns()
    counter = 0
    at_window = 0
    in_window = False
    window_start = time.monotonic_ns()
    while True:
        t = time.monotonic_ns()  # a call costs microseconds here: read the clock every time
        if t >= end:
            break
        if not in_window and t >= win:
            in_window = True
            at_window = counter
            window_start = t
        SEQ.pack_into(buf, 0, tag | counter)
        send(buf)
        counter += 1
    window_end = time.monotonic_ns()
    stop(buf)
    return {
        "msgs_total": counter,
        "msgs_window": counter - at_window,
        "window_start_ns": window_start,
        "window_end_ns": window_end,
        "cpu_ns": time.process_time_ns() - cpu0,
    }


def consume(start, recv, size, producers, exact):
    """One-way, receiving side, until its stop; counts what arrives inside the window."""
    nxt = [0] * producers
    win, _ = start()
    cpu0 = time.process_time_ns()
    total = 0
    at_window = 0
    in_window = False
    window_start = time.monotonic_ns()
    while True:
        msg = recv()
        seq = SEQ.unpack_from(msg, 0)[0]
        if seq == STOP:
            break
        p = seq >> PRODUCER_SHIFT
        c = seq & COUNTER_MASK
        if p >= producers or (c != nxt[p] if exact else c < nxt[p]):
            raise RuntimeError(
                f"consume: message {c} of producer {p} arrived: lost, duplicated or reordered")
        nxt[p] = c + 1
        check_payload(msg, size, "consume")
        total += 1
        if not in_window:
            t = time.monotonic_ns()
            if t >= win:
                in_window = True
                at_window = total
                window_start = t
    return {
        "msgs_total": total,
        "msgs_window": total - at_window,
        "window_start_ns": window_start,
        "window_end_ns": time.monotonic_ns(),
        "cpu_ns": time.process_time_ns() - cpu0,
    }


def client(win, end, call, finish):
    """Manager figure: `call(i)` back to back until `end`, the clock read every 8 calls in the
    window (every call before it). The window holds at least one call: on a loaded machine a
    call can outlast the whole window, which then ends after that call (and says how long it
    was)."""
    cpu0 = time.process_time_ns()
    calls = 0
    at_window = 0
    in_window = False
    window_start = time.monotonic_ns()
    while True:
        if not in_window or calls & 7 == 0:
            t = time.monotonic_ns()
            if not in_window and t >= win:
                in_window = True
                at_window = calls
                window_start = t
            if in_window and t >= end and calls > at_window:
                break
        call(calls)
        calls += 1
    window_end = time.monotonic_ns()
    finish(calls)
    return {
        "msgs_total": calls,
        "msgs_window": calls - at_window if in_window else 0,
        "window_start_ns": window_start,
        "window_end_ns": window_end,
        "cpu_ns": time.process_time_ns() - cpu0,
    }
