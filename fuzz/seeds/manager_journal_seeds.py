#!/usr/bin/env python3
"""Seed inputs for manager_journal_fuzz (the input format is records() / raw() in
fuzz/manager_journal_fuzz.cpp).

Writes a handful of small journals into fuzz/corpus/manager_journal_fuzz/: records that build
every kind of Manager object and change it (so replay reaches the Store's application of each op),
then journals with a wrong CRC, a zero length and a torn last record, and raw files with and
without the magic.  Usage: fuzz/seeds/manager_journal_seeds.py
"""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus",
                   "manager_journal_fuzz")

OP = {"attach": 1, "dict_set": 17, "dict_erase": 18, "dict_update": 22, "dict_clear": 23,
      "dict_setdefault": 24, "dict_pop": 25, "list_append": 32, "list_extend": 33,
      "list_set": 35, "list_insert": 36, "list_pop": 37, "list_clear": 40, "list_remove": 41,
      "value_set": 49, "value_cas": 50, "lock_acquire": 64, "lock_release": 65,
      "sem_acquire": 72, "sem_release": 73, "event_set": 80, "event_clear": 81,
      "barrier_wait": 88, "barrier_reset": 89, "barrier_abort": 90, "cond_notify": 97}
KIND = {"dict": 1, "list": 2, "value": 3, "lock": 4, "rlock": 5, "semaphore": 6, "event": 7,
        "barrier": 8, "condition": 9}

INTACT, BAD_CRC, BAD_LENGTH, CUT = 3, 0, 1, 2


def b(data):
    return struct.pack("<I", len(data)) + data


def u64(v):
    return struct.pack("<Q", v)


def i64(v):
    return struct.pack("<q", v)


def body(name, kind, rest=b""):
    return b(name) + bytes([KIND[kind]]) + rest


def attach(name, kind, tag=b"", param=0, initial=b""):
    return ("attach", body(name, kind, b(tag) + u64(param) + b(initial)))


def rec(op_and_body, damage=INTACT):
    op, data = op_and_body
    assert len(data) < 64, (op, len(data))
    return bytes([OP[op], damage, len(data)]) + data


def records(*recs):
    return bytes([0]) + b"".join(recs)


SEEDS = {
    "seed-dict-list-value": records(
        rec(attach(b"d", "dict", b"s")),
        rec(("dict_set", body(b"d", "dict", b(b"k") + b(b"v1")))),
        rec(("dict_set", body(b"d", "dict", b(b"j") + b(b"v2")))),
        rec(("dict_setdefault", body(b"d", "dict", b(b"n") + b(b"v3")))),
        rec(("dict_erase", body(b"d", "dict", b(b"k")))),
        rec(("dict_update", body(b"d", "dict", u64(1) + b(b"x") + b(b"y")))),
        rec(("dict_pop", body(b"d", "dict", b(b"x")))),
        rec(attach(b"l", "list", b"i")),
        rec(("list_append", body(b"l", "list", b(b"a")))),
        rec(("list_extend", body(b"l", "list", u64(2) + b(b"b") + b(b"c")))),
        rec(("list_insert", body(b"l", "list", i64(-1) + b(b"z")))),
        rec(("list_set", body(b"l", "list", i64(0) + b(b"q")))),
        rec(("list_pop", body(b"l", "list", i64(1)))),
        rec(("list_remove", body(b"l", "list", b(b"c")))),
        rec(attach(b"v", "value", b"d", 0, b"12345678")),
        rec(("value_set", body(b"v", "value", b(b"87654321")))),
        rec(("value_cas", body(b"v", "value", b(b"87654321") + b(b"00000000")))),
        rec(("dict_clear", body(b"d", "dict"))),
        rec(("list_clear", body(b"l", "list")))),
    "seed-sync": records(
        rec(attach(b"k", "lock")),
        rec(("lock_acquire", body(b"k", "lock", bytes([0])))),
        rec(("lock_release", body(b"k", "lock"))),
        rec(attach(b"r", "rlock")),
        rec(("lock_acquire", body(b"r", "rlock", bytes([0])))),
        rec(attach(b"s", "semaphore", b"", 2)),
        rec(("sem_acquire", body(b"s", "semaphore", bytes([0])))),
        rec(("sem_release", body(b"s", "semaphore", u64(3)))),
        rec(attach(b"e", "event")),
        rec(("event_set", body(b"e", "event"))),
        rec(("event_clear", body(b"e", "event"))),
        rec(attach(b"b", "barrier", b"", 2)),
        rec(("barrier_abort", body(b"b", "barrier"))),
        rec(("barrier_reset", body(b"b", "barrier"))),
        rec(attach(b"c", "condition")),
        rec(("cond_notify", body(b"c", "condition", u64(1))))),
    "seed-bad-crc": records(
        rec(attach(b"d", "dict")),
        rec(("dict_set", body(b"d", "dict", b(b"k") + b(b"v"))), BAD_CRC),
        rec(("dict_set", body(b"d", "dict", b(b"j") + b(b"w"))))),
    "seed-zero-length": records(
        rec(attach(b"l", "list")),
        rec(("list_append", body(b"l", "list", b(b"a"))), BAD_LENGTH)),
    "seed-torn": records(
        rec(attach(b"v", "value")),
        rec(("value_set", body(b"v", "value", b(b"x")))),
        rec(("value_set", body(b"v", "value", b(b"torn"))), CUT | 0x50)),
    "seed-raw-magic": bytes([3]) + struct.pack("<II", 5, 0) + b"\x01abcd",
    "seed-raw-no-magic": bytes([1]) + b"SHMQJNL0" + b"\x00" * 8,
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print(f"wrote {len(SEEDS)} seeds to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
