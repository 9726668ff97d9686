# shmq.Queue, SimpleQueue and JoinableQueue against multiprocessing's documented semantics.
import gc
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading

import pytest

import helpers
import shmq


def segment_exists(name):
    return os.path.exists("/dev/shm/" + name)


def test_put_get_round_trips_picklable_objects_in_fifo_order():
    q = shmq.Queue()
    items = [1, "two", (3, 3.0), {"four": [4]}, b"five", None, 2 ** 100]
    for x in items:
        q.put(x)
    assert [q.get() for _ in items] == items


def test_a_pickle_larger_than_a_slot_goes_through_a_spill_file_and_comes_back_whole():
    q = shmq.Queue(max_message=128)
    big = bytes(range(256)) * 1000
    q.put(big)
    q.put("small")
    assert q.get() == big
    assert q.get() == "small"
    assert not [f for f in os.listdir("/dev/shm") if f.startswith(q.name + ".spill")]


def test_get_on_an_empty_queue_raises_empty_at_once_or_after_its_timeout():
    q = shmq.Queue()
    with pytest.raises(queue.Empty):
        q.get_nowait()
    with pytest.raises(queue.Empty):
        q.get(block=False)
    with pytest.raises(queue.Empty):
        q.get(timeout=0.01)
    with pytest.raises(queue.Empty):
        q.get(True, -1)  # a negative timeout is no wait
    assert shmq.Empty is queue.Empty


def test_maxsize_bounds_the_queue_exactly_and_a_full_put_raises_full():
    q = shmq.Queue(3)
    for i in range(3):
        q.put_nowait(i)
    assert q.qsize() == 3 and q.full() and not q.empty()
    with pytest.raises(queue.Full):
        q.put_nowait(3)
    with pytest.raises(queue.Full):
        q.put(3, timeout=0.01)
    with pytest.raises(queue.Full):
        q.put(3, block=False)
    assert q.get() == 0
    q.put(3, timeout=0.01)
    assert [q.get() for _ in range(3)] == [1, 2, 3]
    assert q.empty() and q.qsize() == 0


def test_maxsize_zero_is_the_default_capacity():
    q = shmq.Queue()
    assert q.maxsize == shmq.DEFAULT_CAPACITY
    small = shmq.Queue(0, capacity=4)
    for i in range(4):
        small.put_nowait(i)
    with pytest.raises(queue.Full):
        small.put_nowait(4)


def test_a_closed_queue_refuses_put_and_get_in_this_process_only():
    q = shmq.Queue()
    q.put(1)
    other = pickle.loads(pickle.dumps(q))
    with pytest.raises(AssertionError):
        q.join_thread()
    q.close()
    q.join_thread()
    q.cancel_join_thread()
    with pytest.raises(ValueError):
        q.put(2)
    with pytest.raises(ValueError):
        q.get()
    other.put(2)
    assert other.get() == 1 and other.get() == 2


def test_close_all_ends_puts_everywhere_and_getters_drain_then_see_eof():
    q = shmq.Queue()
    q.put("last")
    q.close_all()
    with pytest.raises(EOFError):
        q.put("more")
    assert q.get() == "last"
    with pytest.raises(EOFError):
        q.get()


def test_a_blocked_get_in_one_thread_does_not_stop_a_put_in_another():
    q = shmq.Queue()
    got = []
    t = threading.Thread(target=lambda: got.append(q.get()))
    t.start()
    q.put("hello")  # the getter holds one handle; this put opens another
    t.join()
    assert got == ["hello"]


def test_an_anonymous_queue_is_removed_when_its_creating_object_goes():
    q = shmq.Queue()
    name = q.name
    assert segment_exists(name)
    del q
    gc.collect()
    assert not segment_exists(name)


def test_a_named_queue_stays_until_removed_and_opens_by_name():
    name = "shmq-pytest-named-%d" % os.getpid()
    shmq.remove(name)
    q = shmq.Queue(name=name)
    try:
        shmq.Queue.open(name).put("by name")
        del q
        gc.collect()
        assert segment_exists(name)
        assert shmq.Queue.open(name).get() == "by name"
    finally:
        assert shmq.remove(name)


def test_a_queue_pickled_into_a_child_arrives_working(ctx):
    q_in, q_out = shmq.Queue(), shmq.Queue()
    p = ctx.Process(target=helpers.echo_queue, args=(q_in, q_out))
    p.start()
    for i in range(100):
        q_in.put((i, "x" * i))
    q_in.put(None)
    assert [q_out.get(timeout=60) for _ in range(100)] == [("got", (i, "x" * i)) for i in range(100)]
    p.join()
    assert p.exitcode == 0


def test_a_queue_sent_through_another_queue_is_the_same_queue():
    carrier, q = shmq.Queue(), shmq.Queue()
    carrier.put(q)
    arrived = carrier.get()
    arrived.put(42)
    assert q.get() == 42 and arrived.name == q.name and arrived.maxsize == q.maxsize


def test_simple_queue_has_multiprocessings_methods():
    q = shmq.SimpleQueue()
    assert q.empty()
    q.put([1, 2])
    assert not q.empty()
    assert q.get() == [1, 2]
    q.close()
    with pytest.raises(ValueError):
        q.put(1)


def test_joinable_queue_counts_unfinished_tasks():
    q = shmq.JoinableQueue()
    for i in range(3):
        q.put(i)
    for _ in range(3):
        q.get()
        q.task_done()
    q.join()  # nothing unfinished: returns at once
    with pytest.raises(ValueError):
        q.task_done()


def test_a_full_put_of_a_joinable_queue_leaves_no_task_behind():
    q = shmq.JoinableQueue(1)
    q.put(1)
    with pytest.raises(queue.Full):
        q.put_nowait(2)
    q.get()
    q.task_done()
    q.join()


def test_joinable_queue_join_returns_after_the_workers_task_done(ctx):
    q = shmq.JoinableQueue()
    done = ctx.Value("i", 0)
    workers = [ctx.Process(target=helpers.work_joinable, args=(q, done)) for _ in range(2)]
    for w in workers:
        w.start()
    for i in range(200):
        q.put(i)
    for _ in workers:
        q.put(None)
    q.join()
    assert done.value == 200
    for w in workers:
        w.join()
        assert w.exitcode == 0


CTRL_C_CHILD = r"""
import sys, shmq
q = shmq.%s
print("ready", flush=True)
q.%s
print("returned", flush=True)
"""


@pytest.mark.parametrize("make,call", [("Queue()", "get()"), ("Queue(1); q.put(0)", "put(1)"),
                                       ("Pipe(); q, keep = q", "recv()"),
                                       ("JoinableQueue(); q.put(0)", "join()")])
def test_ctrl_c_during_a_blocked_call_raises_keyboard_interrupt(make, call):
    child = subprocess.Popen([sys.executable, "-c", CTRL_C_CHILD % (make, call)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout.readline() == "ready\n"
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)
    assert "KeyboardInterrupt" in err, err
    assert "returned" not in out
    assert child.returncode == -signal.SIGINT  # Python ends with the signal it did not handle
