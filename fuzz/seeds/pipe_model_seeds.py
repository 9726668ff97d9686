#!/usr/bin/env python3
"""Seed inputs for pipe_model_fuzz (see the format at the top of fuzz/pipe_model_fuzz.cpp).

Writes a handful of small files into fuzz/corpus/pipe_model_fuzz/ that reach the deep paths:
messages several times the ring (continuation records, a helper thread sending), timed-out sends
cut short and dropped, end-of-file after close, reopening an end, every recv form, the 2^64 wrap,
and hostile writes to the indices and the records.  Usage: fuzz/seeds/pipe_model_seeds.py
"""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus", "pipe_model_fuzz")

# shape bits
CAP256, CAP512, CAP1K, CAP2K = 0, 1, 2, 3
DUPLEX, WRAP, HOSTILE = 4, 8, 16
MAXMSG_3RINGS = 1 << 5
SECOND = 0x80  # op bit: the operation is on end `second`


def send(end, size, how=0):
    """size: a size byte (pick_size: <96 tiny, <160 up to 2 rings, <224 up to 5 rings, else the
    chunk boundaries); how: 0 send(string_view), 1 send_bytes(range), 2 send<u64>, 3 timed."""
    return bytes([0 | end, size, how])


def recv(end, how=0, limit=0):
    """how: 0 recv(string), 1 recv_bytes(string, limit), 2 (vector, limit), 3 into, 4 <u64>."""
    return bytes([4 | end, how, limit])


def poll(end):
    return bytes([8 | end])


def close(end):
    return bytes([0x79 | end])


def reopen(end):
    return bytes([0x7A | end])


def accessors(end):
    return bytes([11 | end])


def poke_index(tail, delta, ring=0):
    return bytes([12, (2 if tail else 0) | ring, delta & 0xFF])


def poke_data(where, value, ring=0):
    return bytes([12 | 0x20, 0xE0 | ring]) + struct.pack("<HQ", where, value)


def forge_record(k, remaining, first, ring=0):
    return bytes([12 | 0x30, (2 if first else 0) | ring, k]) + struct.pack("<I", remaining)


SEEDS = {
    # small messages both ways, every recv form, accessors
    "small-duplex": bytes([CAP256 | DUPLEX])
    + send(0, 10) + send(SECOND, 0) + send(0, 47, 1) + send(SECOND, 0, 2)
    + recv(SECOND) + recv(0, 1, 5) + recv(0, 1, 40) + recv(SECOND, 2, 90) + recv(0, 4)
    + recv(0) + poll(0) + accessors(0) + accessors(SECOND),
    # a message of 3+ rings through a blocking send (helper thread) and the continuation records
    "large-blocking": bytes([CAP256 | DUPLEX])
    + send(0, 5) + send(0, 200) + send(SECOND, 220, 1) + poll(SECOND) + recv(0) + poll(0),
    # timed sends cut short, then a whole one: the part is dropped
    "timed-partial": bytes([CAP256 | DUPLEX])
    + send(0, 150, 3) + send(0, 10, 3) + recv(SECOND) + poll(SECOND)
    + send(0, 200) + send(0, 30, 3) + recv(SECOND),
    # end-of-file: drain, then closed; reopen and go on; send to a closed end
    "close-reopen": bytes([CAP512 | DUPLEX])
    + send(0, 10) + send(0, 150, 3) + close(0) + recv(SECOND) + recv(SECOND) + recv(SECOND)
    + send(SECOND, 5) + poll(SECOND) + reopen(0) + reopen(SECOND) + send(0, 7) + recv(SECOND)
    + accessors(0) + close(SECOND) + recv(0) + send(0, 3),
    # one-way: first only receives, second only sends
    "one-way": bytes([CAP256 | MAXMSG_3RINGS])
    + send(0, 4) + send(SECOND, 12) + send(SECOND, 240) + recv(SECOND) + recv(0) + recv(0, 3, 20)
    + send(SECOND, 0xED) + accessors(0) + accessors(SECOND),
    # near the 2^64 wrap, a 2 KiB ring, max_message set
    "wrap": bytes([CAP2K | DUPLEX | WRAP | MAXMSG_3RINGS])
    + send(0, 140) + send(0, 150, 3) + send(0, 159) + recv(SECOND) + send(0, 223) + recv(SECOND)
    + send(0, 0xEE) + send(0, 0xEF) + recv(SECOND, 1, 0xEE),
    # hostile: a head moved back, a tail moved on, forged records, data bytes overwritten
    "hostile-indices": bytes([CAP256 | DUPLEX | HOSTILE])
    + send(0, 20) + send(0, 30) + poke_index(False, -4) + recv(SECOND) + poll(SECOND)
    + poke_index(True, 3) + send(0, 10, 3) + recv(SECOND),
    "hostile-records": bytes([CAP256 | DUPLEX | HOSTILE])
    + send(0, 150, 3) + forge_record(16, 50, False) + recv(SECOND) + forge_record(0, 1000, True)
    + poke_index(True, 2) + recv(SECOND) + poke_data(8, 0x5250000000001234) + recv(SECOND, 2, 200)
    + reopen(0),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(OUT, "seed-" + name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
