#!/usr/bin/env python3
"""Seed inputs for manager_request_fuzz (the step format is Session::run in
fuzz/manager_request_fuzz.cpp).

Writes a handful of small files into fuzz/corpus/manager_request_fuzz/ that reach the deep paths:
every data object's ops, locks with waiters granted / cancelled / dropped, semaphores, events,
a barrier that completes and breaks, a condition wait and notify, requests split in frames and
left unfinished, bent headers, and the round trips.  Usage: fuzz/seeds/manager_request_seeds.py
"""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus",
                   "manager_request_fuzz")

OPS = ["attach", "ping", "dict_get", "dict_set", "dict_erase", "dict_contains", "dict_size",
       "dict_items", "dict_update", "dict_clear", "dict_setdefault", "dict_pop", "list_append",
       "list_extend", "list_get", "list_set", "list_insert", "list_pop", "list_size",
       "list_items", "list_clear", "list_remove", "value_get", "value_set", "value_cas",
       "lock_acquire", "lock_release", "lock_locked", "sem_acquire", "sem_release", "sem_value",
       "event_set", "event_clear", "event_is_set", "event_wait", "barrier_wait", "barrier_reset",
       "barrier_abort", "barrier_state", "cond_wait", "cond_notify", "shutdown"]
OBJECTS = ["d", "l", "v", "k", "r", "s", "e", "b", "c", "q.x"]


def blob(data=b""):
    return bytes([len(data)]) + data


def args(op, pick=0, values=()):
    """The bytes arguments() takes for `op`: a pick byte, then the values' blobs."""
    return bytes([pick]) + b"".join(blob(v) for v in values)


def request(op, client=1, pick=0, values=(), obj=None, split=None, unfinished=False, mutate=0):
    """A request step. client 1..5; obj: send to another object; split: body bytes per frame
    (1..16; unfinished: 1 frame if split is odd, else 2); mutate: 1 one byte short, 2 one over.
    shape byte: bits 0-2 client, 3-6 object or frame size, 7 split."""
    shape = client - 1
    nibble = mutate
    if obj is not None:
        nibble = 0xF
        shape |= OBJECTS.index(obj) << 3
    if split is not None:
        shape |= 0x80 | ((split - 1) << 3)
    kind = 7 if unfinished else 2
    return bytes([(nibble << 4) | kind, OPS.index(op), shape]) + args(op, pick, values)


def attach(obj, client=1, tag_u=False, initial_len=0):
    """attach step from `client` (1..4), which also sets a barrier's parties / a semaphore's
    permits: 1 + (client - 1) % 3. which: bits 0-3 object, 4-5 client - 1, 6-7 initial bytes."""
    which = OBJECTS.index(obj) | ((client - 1) << 4) | (initial_len << 6)
    return bytes([0x4E if tag_u else 0x0E, which])


def cancel(client, back=0, wildcard=False, malformed=False):
    which = (client - 1) | (back << 5) | (0x80 if wildcard else 0) | (0x10 if malformed else 0)
    return bytes([8, which])


def drop(client):
    return bytes([9, client - 1])


def raw(frame):
    return bytes([0, len(frame)]) + frame


def bent(kind, which=0):
    return bytes([(kind << 4) | 1, which])


def header(op, client, request, epoch=7, flags=0):
    return struct.pack("<BBHIQQQ", op, flags, 1, epoch, client, request, client * 1000)


def store_round_trip(type_index, value_bytes, how, key=b"k"):
    return bytes([10, type_index]) + value_bytes + bytes([how]) + blob(key)


def codec_round_trip(type_index, value_bytes, raw_bytes):
    return bytes([12, type_index]) + value_bytes + blob(raw_bytes)


def wire_round_trip():
    fields = bytes([3, 0, 9, 1]) + struct.pack("<Q", 2**63 + 5) + bytes([3]) + blob(b"abc")
    return (bytes([13, 17, 1]) + struct.pack("<IQQQ", 7, 3, 99, 1234) + fields)


SEEDS = {
    "dict": attach("d")
    + request("dict_set", values=(b"a", b"1")) + request("dict_set", values=(b"b", b"22"))
    + request("dict_get", values=(b"a",)) + request("dict_get", values=(b"zz",))
    + request("dict_update", pick=2, values=(b"c", b"3", b"a", b"4"))
    + request("dict_setdefault", values=(b"d", b"5")) + request("dict_items")
    + request("dict_contains", values=(b"b",)) + request("dict_pop", values=(b"b",))
    + request("dict_erase", values=(b"c",)) + request("dict_size") + request("dict_clear")
    + request("dict_update", pick=0x81, values=(b"x", b"y")),  # a count one over
    "list": attach("l", client=2)
    + request("list_append", client=2, values=(b"x",)) + request("list_extend", pick=3,
                                                                 values=(b"1", b"2", b"3"))
    + request("list_insert", pick=4, values=(b"i",)) + request("list_get", pick=2)
    + request("list_set", pick=1, values=(b"s",)) + request("list_pop", pick=6)
    + request("list_pop", pick=1) + request("list_remove", values=(b"2",)) + request("list_items")
    + request("list_size") + request("list_clear") + request("list_get", pick=0),
    "value": attach("v", initial_len=3)
    + request("value_get") + request("value_set", values=(b"new",))
    + request("value_cas", values=(b"old", b"x")) + request("value_cas", values=(b"new", b"y"))
    + request("value_get", mutate=2) + request("value_set", values=(b"z",), mutate=1),
    "lock": attach("k")
    + request("lock_acquire", client=1, pick=1) + request("lock_acquire", client=2, pick=1)
    + request("lock_acquire", client=3, pick=0) + request("lock_locked") + cancel(2)
    + request("lock_acquire", client=2, pick=1) + request("lock_acquire", client=3, pick=1)
    + request("lock_release", client=1) + drop(2) + request("lock_release", client=4)
    + request("lock_release", client=4),
    "rlock-condition": attach("r", client=1) + attach("c", client=1)
    + request("lock_acquire", client=1, pick=1, obj="r") + request("lock_acquire", client=1,
                                                                     pick=1, obj="r")
    + request("lock_release", client=1, obj="r") + request("lock_acquire", client=4, pick=1,
                                                             obj="c")
    + request("cond_wait", client=4) + request("lock_acquire", client=2, pick=1, obj="c")
    + request("cond_notify", client=2, pick=1) + request("cond_wait", client=2)
    + cancel(2) + request("lock_release", client=4, obj="c") + request("cond_notify", client=3),
    "semaphore-event": attach("s", client=2) + attach("e")
    + request("sem_acquire", client=1, pick=1) + request("sem_acquire", client=1, pick=1)
    + request("sem_acquire", client=2, pick=1) + request("sem_acquire", client=3, pick=1)
    + request("sem_value") + request("sem_release", client=1, pick=1)
    + request("sem_release", pick=5) + drop(3) + request("event_wait", client=4)
    + request("event_wait", client=5) + request("event_is_set") + request("event_set")
    + request("event_wait", client=4) + request("event_clear") + request("event_wait", client=1),
    "barrier": attach("b", client=2)
    + request("barrier_wait", client=1) + request("barrier_state") + request("barrier_wait", client=2)
    + request("barrier_wait", client=3) + cancel(3) + request("barrier_wait", client=4)
    + request("barrier_reset") + request("barrier_wait", client=5) + request("barrier_abort")
    + request("barrier_wait", client=1) + drop(5),
    "frames": attach("d")
    + request("dict_set", values=(b"key", b"a value in frames"), split=3)
    + request("dict_set", client=2, values=(b"k2", b"v2"), split=5, unfinished=True)
    + request("dict_get", client=2, values=(b"key",), split=2)
    + request("dict_set", client=3, values=(b"k3", b"v3"), split=4, unfinished=True)
    + raw(header(17, 3, 99) + b"\x00") + request("ping", client=3)
    + request("dict_items", split=1) + request("shutdown", client=5),
    "bent": attach("l") + bent(0) + bent(1, 3) + bent(2, 7) + bent(3) + bent(4, 2) + bent(5, 14)
    + raw(header(4, 1, 1)) + raw(header(4, 1, 2, epoch=6)) + raw(header(3, 1, 3, flags=1))
    + raw(header(3, 1, 3) + struct.pack("<Q", 1)) + raw(b"\x04\x00\x01") + raw(header(0, 2, 2))
    + request("list_append", client=2, values=(b"v",), obj="e")
    + bytes([0xE2, OPS.index("list_size"), 0x02]) + args("list_size")  # another kind
    + bytes([0xD2, OPS.index("list_size"), 0x01]) + args("list_size")  # a name too long
    + attach("q.x") + request("list_size", obj="q.x") + attach("d", tag_u=True)
    + attach("d") + attach("d", tag_u=True) + attach("l", client=2) + cancel(1, malformed=True),
    "round-trips": store_round_trip(0, blob(b"text"), 0x03)
    + store_round_trip(4, struct.pack("<d", 1.5), 0x21) + store_round_trip(9, bytes([2]) + blob(b"a")
                                                                          + blob(b""), 0x45)
    + store_round_trip(6, b"\x01", 0x20) + store_round_trip(12, bytes([1, 2]) + blob(b"x") +
                                                           blob(b"yz"), 0x02)
    + store_round_trip(8, struct.pack("<ii", -1, 7), 0x61)
    + codec_round_trip(11, bytes([2]) + struct.pack("<dd", float("nan"), -0.0), b"\x01\x00")
    + codec_round_trip(6, b"\x01", b"\x02") + codec_round_trip(13, bytes([3, 1, 0, 1]),
                                                               b"\x01\x00\x00\x00\x01\x00\x00\x00\x01")
    + codec_round_trip(1, blob(b"\x00\xff"), b"") + wire_round_trip(),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(OUT, "seed-" + name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
