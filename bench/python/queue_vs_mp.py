#!/usr/bin/env python3
"""shmq.Queue beside multiprocessing.Queue, in one run: P producers -> C consumers, each message
the tuple (i,) * 5 (faster-fifo's configuration; issue 14). Consumers take one message per get.

    PYTHONPATH=build/release/python python3 bench/python/queue_vs_mp.py [--producers 1]
        [--consumers 1] [--messages 200000] [--repeat 3]

Prints one line per implementation: the best of --repeat runs, messages per second from the
producers' start to the last consumer's end. Fork start method; no pinning.
"""

import argparse
import multiprocessing as mp
import time

import shmq


def produce(q, n):
    for i in range(n):
        q.put((i,) * 5)


def consume(q, done):
    count = 0
    while True:
        item = q.get()
        if item is None:
            break
        count += 1
    done.put(count)


def run(make_queue, producers, consumers, messages):
    ctx = mp.get_context("fork")
    q = make_queue()
    done = ctx.Queue()
    cons = [ctx.Process(target=consume, args=(q, done)) for _ in range(consumers)]
    prods = [ctx.Process(target=produce, args=(q, messages)) for _ in range(producers)]
    for c in cons:
        c.start()
    start = time.perf_counter()
    for p in prods:
        p.start()
    for p in prods:
        p.join()
    for _ in cons:
        q.put(None)
    total = sum(done.get() for _ in cons)
    elapsed = time.perf_counter() - start
    for c in cons:
        c.join()
    assert total == producers * messages, (total, producers * messages)
    return total / elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--producers", type=int, default=1)
    ap.add_argument("--consumers", type=int, default=1)
    ap.add_argument("--messages", type=int, default=200000, help="per producer")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    rates = {}
    for label, make in [("multiprocessing.Queue", lambda: mp.get_context("fork").Queue()),
                        ("shmq.Queue", shmq.Queue)]:
        rates[label] = max(run(make, a.producers, a.consumers, a.messages)
                           for _ in range(a.repeat))
        print("%-22s %dx%d %d msgs/producer: %10.0f msgs/s" %
              (label, a.producers, a.consumers, a.messages, rates[label]), flush=True)
    print("speed-up: %.1fx" % (rates["shmq.Queue"] / rates["multiprocessing.Queue"]))


if __name__ == "__main__":
    main()
