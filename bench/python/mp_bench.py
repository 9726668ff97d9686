#!/usr/bin/env python3
"""shmq-bench's python peer: one row of Python's multiprocessing, measured like every other peer.

shmq-bench (bench/peers/python.cpp) runs this once per row and reads the one JSON object it
prints on stdout: the row's figures ({"ok": true, "p50_us": ..., "msgs_per_s": ..., ...}) or
{"ok": false, "error": "..."}. What each figure means: docs/bench.md.

  --figure roundtrip  --kind queue|pipe  --wait spin|sleep   ping-pong of 8-byte messages
  --figure throughput --kind queue|pipe                      1 producer -> 1 consumer
  --figure mpmc       --kind queue                           P producers -> C consumers
  --figure manager    --kind set|get                         Manager().dict(): one client

Processes are forked (start method "fork"), pinned round robin to --cpus, started together at a
barrier, and die with this script (PR_SET_PDEATHSIG). Only the standard library is used.
"""

import argparse
import ctypes
import json
import multiprocessing as mp
import os
import queue
import resource
import signal
import sys
import time

import mp_workloads as w

PR_SET_PDEATHSIG = 1


def die_with_parent():
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # best effort: shmq-bench kills the whole process group anyway


def pin(cpu):
    if cpu is not None:
        try:
            os.sched_setaffinity(0, {cpu})
        except OSError:
            pass  # unpinned still measures


class Start:
    """The start barrier and the measurement window, shared by one row's processes."""

    def __init__(self, ctx):
        self.ready = ctx.Semaphore(0)
        self.go = ctx.Event()
        self.window = ctx.Array("q", 2, lock=False)  # window start, end: monotonic ns

    def __call__(self):  # in a child: ready, wait for go, return (window start, end)
        self.ready.release()
        self.go.wait()
        return self.window[0], self.window[1]

    def release(self, children, warmup_s, seconds_s, procs):
        deadline = time.monotonic() + 20
        for _ in range(children):
            while not self.ready.acquire(timeout=0.1):
                dead = [p for p in procs if p.exitcode is not None]
                if dead or time.monotonic() > deadline:
                    raise RuntimeError("children did not start")
        start = time.monotonic_ns()
        self.window[0] = start + int(warmup_s * 1e9)
        self.window[1] = self.window[0] + int(seconds_s * 1e9)
        self.go.set()


def queue_recv(q, spin):
    if not spin:
        return q.get
    get_nowait = q.get_nowait
    empty = queue.Empty

    def recv():
        while True:
            try:
                return get_nowait()
            except empty:
                pass

    return recv


def queue_send(q):
    # put() pickles later, in the feeder thread: send a copy of the buffer the loop reuses.
    return lambda buf: q.put(bytes(buf))


def pipe_recv(conn, spin):
    if not spin:
        return conn.recv_bytes

    def recv():
        while not conn.poll():
            pass
        return conn.recv_bytes()

    return recv


def run_child(slot, cpu, results, body):
    die_with_parent()
    pin(cpu)
    try:
        results.put((slot, body()))
    except BaseException as e:  # noqa: B902 - reported to the parent, which fails the row
        results.put((slot, {"error": f"{type(e).__name__}: {e}"}))


def spawn_all(ctx, bodies, cpus, start, args):
    """Forks one process per body, starts them together, returns their results in order."""
    results = ctx.SimpleQueue()
    procs = []
    for slot, body in enumerate(bodies):
        cpu = cpus[slot % len(cpus)] if len(cpus) >= 2 else None
        p = ctx.Process(target=run_child, args=(slot, cpu, results, body), daemon=True)
        p.start()
        procs.append(p)
    try:
        start.release(len(bodies), args.warmup, args.seconds, procs)
        return procs, results
    except BaseException:
        for p in procs:
            p.kill()
        raise


def collect(procs, results, n, args, on_tick=None):
    deadline = time.monotonic() + args.warmup + args.seconds + 10 + 2 * args.seconds
    out = [None] * n
    got = 0
    try:
        while got < n:
            if on_tick is not None:
                on_tick()
            if time.monotonic() > deadline:
                raise RuntimeError("hung: still running 10 s after the window")
            # SimpleQueue has no timeout: poll its reader
            if results._reader.poll(0.01):  # pylint: disable=protected-access
                slot, r = results.get()
                if "error" in r:
                    raise RuntimeError(r["error"])
                out[slot] = r
                got += 1
            elif any(p.exitcode not in (None, 0) for p in procs):
                raise RuntimeError("a child died without a result")
    finally:
        for p in procs:
            p.join(timeout=2)
            if p.is_alive():
                p.kill()
    return out


def roundtrip(ctx, args, cpus):
    start = Start(ctx)
    spin = args.wait == "spin"
    size = args.bytes
    if args.kind == "queue":
        q0, q1 = ctx.Queue(args.capacity), ctx.Queue(args.capacity)
        ends = [(queue_send(q0), queue_recv(q1, spin)), (queue_send(q1), queue_recv(q0, spin))]
    else:
        a, b = ctx.Pipe()  # duplex: a socket pair, both directions
        ends = [(a.send_bytes, pipe_recv(a, spin)), (b.send_bytes, pipe_recv(b, spin))]
    bodies = [lambda: w.ping(start, *ends[0], size), lambda: w.pong(start, *ends[1], size)]
    procs, results = spawn_all(ctx, bodies, cpus, start, args)
    ping, pong = collect(procs, results, 2, args)
    if ping["samples"] == 0:
        raise RuntimeError("no round trip inside the window")
    if ping["msgs_total"] != pong["msgs_total"]:
        raise RuntimeError(
            f"ping made {ping['msgs_total']} round trips, pong echoed {pong['msgs_total']}")
    return {
        "p50_us": ping["p50_ns"] / 1e3,
        "p99_us": ping["p99_ns"] / 1e3,
        "p999_us": ping["p999_ns"] / 1e3,
        "max_us": ping["max_ns"] / 1e3,
        "mean_us": ping["mean_ns"] / 1e3,
        "samples": ping["samples"],
        "messages": 2 * ping["msgs_window"],
        "window_s": (ping["window_end_ns"] - ping["window_start_ns"]) / 1e9,
        "cpu_s_per_million":
            (ping["cpu_ns"] + pong["cpu_ns"]) / (2 * ping["msgs_total"]) * 1e6 / 1e9,
    }


def one_way(ctx, args, cpus):
    start = Start(ctx)
    size = args.bytes
    producers, consumers = args.producers, args.consumers
    exact = producers == 1 and consumers == 1
    flushed = ctx.Value("i", 0)
    all_flushed = ctx.Event()
    if args.kind == "queue":
        q = ctx.Queue(args.capacity)
        send, recv = queue_send(q), q.get

        def stop(_buf):
            # A producer's messages reach the pipe from its feeder thread: flush them, then count.
            # The stops are put by this script's main process once every producer has flushed, so
            # they come after every message in the queue.
            q.close()
            q.join_thread()
            with flushed.get_lock():
                flushed.value += 1
                if flushed.value == producers:
                    all_flushed.set()
    else:
        r, wr = ctx.Pipe(duplex=False)
        send, recv = wr.send_bytes, r.recv_bytes

        def stop(buf):
            w.SEQ.pack_into(buf, 0, w.STOP)
            wr.send_bytes(buf)

    bodies = [(lambda i=i: w.produce(start, send, i, size, stop)) for i in range(producers)]
    bodies += [lambda: w.consume(start, recv, size, producers, exact)] * consumers
    procs, results = spawn_all(ctx, bodies, cpus, start, args)
    stops_sent = [args.kind != "queue"]

    def send_stops():
        if not stops_sent[0] and all_flushed.is_set():
            stop_msg = w.template(size)
            w.SEQ.pack_into(stop_msg, 0, w.STOP)
            for _ in range(consumers):
                q.put(bytes(stop_msg))
            stops_sent[0] = True

    res = collect(procs, results, producers + consumers, args, on_tick=send_stops)
    prod, cons = res[:producers], res[producers:]
    sent = sum(p["msgs_total"] for p in prod)
    taken = sum(c["msgs_total"] for c in cons)
    if sent != taken:
        raise RuntimeError(f"{sent} messages sent but {taken} taken: messages lost or duplicated")
    begin = min(c["window_start_ns"] for c in cons)
    end = max(c["window_end_ns"] for c in cons)
    if sent == 0 or end <= begin:
        raise RuntimeError("no message inside the window")
    window_msgs = sum(c["msgs_window"] for c in cons)
    window_s = (end - begin) / 1e9
    rate = window_msgs / window_s
    return {
        "messages": window_msgs,
        "window_s": window_s,
        "msgs_per_s": rate,
        "mb_per_s": rate * size / 1e6,
        "cpu_s_per_million": sum(x["cpu_ns"] for x in res) / sent * 1e6 / 1e9,
    }


def manager(ctx, args, cpus):
    pin(cpus[0] if len(cpus) >= 2 else None)  # this process is the client
    with ctx.Manager() as m:
        if len(cpus) >= 2:
            os.sched_setaffinity(m._process.pid, {cpus[1]})  # pylint: disable=protected-access
        d = m.dict()
        keys = args.keys
        if args.kind == "get":  # the gets read keys that hold a known value; one bulk call
            d.update({k: k * 3 + 1 for k in range(keys)})

            def call(i):
                if d.get(i % keys) != (i % keys) * 3 + 1:
                    raise RuntimeError("dict get: wrong value")
        else:
            setitem = d.__setitem__

            def call(i):
                setitem(i % keys, i)

        def finish(n):  # the oracle of the sets: each key holds the last value set for it
            if args.kind == "set":
                items = d.copy()  # one snapshot call
                if len(items) != min(n, keys):
                    raise RuntimeError(f"dict set: {len(items)} keys after {n} sets")
                for k, v in items.items():
                    if v != (n - 1 - k) // keys * keys + k:
                        raise RuntimeError(f"dict set: key {k} holds {v}")

        now = time.monotonic_ns()
        win = now + int(args.warmup * 1e9)
        r = w.client(win, win + int(args.seconds * 1e9), call, finish)
    # The server has been shut down and reaped: its CPU is in RUSAGE_CHILDREN (its whole life).
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_cpu_ns = (ru.ru_utime + ru.ru_stime) * 1e9
    if r["msgs_window"] == 0:
        raise RuntimeError("no call inside the window")
    window_s = (r["window_end_ns"] - r["window_start_ns"]) / 1e9
    rate = r["msgs_window"] / window_s
    return {
        "messages": r["msgs_window"],
        "window_s": window_s,
        "msgs_per_s": rate,
        "mb_per_s": rate * args.bytes / 1e6,
        "cpu_s_per_million": (r["cpu_ns"] + server_cpu_ns) / r["msgs_total"] * 1e6 / 1e9,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--figure", choices=["roundtrip", "throughput", "mpmc", "manager"],
                    required=True)
    ap.add_argument("--kind", choices=["queue", "pipe", "set", "get"], required=True)
    ap.add_argument("--wait", choices=["spin", "sleep", "normal"], default="normal")
    ap.add_argument("--bytes", type=int, default=8)
    ap.add_argument("--producers", type=int, default=1)
    ap.add_argument("--consumers", type=int, default=1)
    ap.add_argument("--capacity", type=int, default=1024)
    ap.add_argument("--keys", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--warmup", type=float, default=0.2)
    ap.add_argument("--cpus", default="")
    args = ap.parse_args()
    cpus = [int(c) for c in args.cpus.split(",") if c] or [None]
    ctx = mp.get_context("fork")
    try:
        if args.figure == "roundtrip":
            out = roundtrip(ctx, args, cpus)
        elif args.figure == "manager":
            out = manager(ctx, args, cpus)
        else:
            out = one_way(ctx, args, cpus)
    except RuntimeError as e:  # a failed check, a child's error (already named), a hang
        print(json.dumps({"ok": False, "error": str(e)}))
        return 1
    except Exception as e:  # pylint: disable=broad-except - the row reports it
        print(json.dumps({"ok": False, "error": f"{type(e).__name__}: {e}"}))
        return 1
    n = 2 if args.figure in ("roundtrip", "manager") else args.producers + args.consumers
    out["cpus"] = [cpus[i % len(cpus)] for i in range(n)] if len(cpus) >= 2 else []
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    out["cpu_total_s"] = sum(u.ru_utime + u.ru_stime for u in usage)
    out["ok"] = True
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
