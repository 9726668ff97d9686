# shmq.Pipe and its Connections against multiprocessing's documented semantics.
import array
import multiprocessing
import pickle
import threading

import pytest

import helpers
import shmq


def test_send_and_recv_carry_pickled_objects_both_ways_on_a_duplex_pipe():
    a, b = shmq.Pipe()
    a.send({"x": [1, 2]})
    assert b.recv() == {"x": [1, 2]}
    b.send(("back", None))
    assert a.recv() == ("back", None)
    big = list(range(100000))  # larger than the ring: streams through in parts
    got = []
    t = threading.Thread(target=lambda: got.append(pickle.loads(b.recv_bytes())))
    t.start()
    a.send_bytes(pickle.dumps(big))
    t.join()
    assert got == [big]


def test_a_one_way_pipe_receives_on_its_first_end_and_sends_on_its_second():
    r, w = shmq.Pipe(duplex=False)
    assert r.readable and not r.writable and w.writable and not w.readable
    w.send(1)
    assert r.recv() == 1
    with pytest.raises(OSError):
        r.send(1)
    with pytest.raises(OSError):
        w.recv()


def test_send_bytes_takes_an_offset_and_a_size_and_checks_them():
    a, b = shmq.Pipe()
    a.send_bytes(b"0123456789", 2, 3)
    a.send_bytes(b"0123456789", 7)
    a.send_bytes(array.array("i", [1, 2]))
    assert b.recv_bytes() == b"234"
    assert b.recv_bytes() == b"789"
    assert b.recv_bytes() == array.array("i", [1, 2]).tobytes()
    for offset, size in [(-1, None), (11, None), (0, -1), (5, 6)]:
        with pytest.raises(ValueError):
            a.send_bytes(b"0123456789", offset, size)


def test_recv_bytes_refuses_a_message_over_maxlength():
    a, b = shmq.Pipe()
    a.send_bytes(b"x" * 10)
    with pytest.raises(OSError):
        b.recv_bytes(5)
    with pytest.raises(ValueError):
        b.recv_bytes(-1)


def test_recv_bytes_into_fills_the_buffer_at_an_offset_or_raises_buffer_too_short():
    a, b = shmq.Pipe()
    buf = bytearray(8)
    a.send_bytes(b"abc")
    assert b.recv_bytes_into(buf, 2) == 3
    assert buf == bytearray(b"\0\0abc\0\0\0")
    a.send_bytes(b"0123456789")
    with pytest.raises(multiprocessing.BufferTooShort) as e:
        b.recv_bytes_into(buf)
    assert e.value.args[0] == b"0123456789"
    assert shmq.BufferTooShort is multiprocessing.BufferTooShort


def test_poll_says_whether_a_message_is_there_waiting_up_to_its_timeout():
    a, b = shmq.Pipe()
    assert not b.poll()
    assert not b.poll(0.01)
    a.send(1)
    assert b.poll() and b.poll(None) and b.poll(0.01)
    assert b.recv() == 1
    assert not b.poll()


def test_recv_raises_eof_error_after_the_peer_closed_once_its_messages_are_read():
    a, b = shmq.Pipe()
    a.send("one")
    a.send("two")
    a.close()
    assert a.closed
    assert b.poll()
    assert b.recv() == "one" and b.recv() == "two"
    with pytest.raises(EOFError):
        b.recv()
    with pytest.raises(BrokenPipeError):
        b.send("to nobody")
    with pytest.raises(OSError):
        a.recv()


@pytest.mark.parametrize("how", ["exit", "kill"])
def test_recv_raises_eof_error_when_the_peer_process_ends_or_is_killed(how):
    ctx = multiprocessing.get_context("fork")
    a, b = shmq.Pipe()
    p = ctx.Process(target=helpers.send_then_die, args=(b, 5, how))
    p.start()
    b.close()  # the child holds its copy
    assert [a.recv() for _ in range(5)] == list(range(5))
    with pytest.raises(EOFError):
        a.recv()
    p.join()
    assert p.exitcode == (-9 if how == "kill" else 0)


def test_a_connection_pickled_into_a_child_arrives_working(ctx):
    a, b = shmq.Pipe()
    p = ctx.Process(target=helpers.echo_connection, args=(b,))
    p.start()
    for i in range(50):
        a.send([i] * i)
        assert a.recv() == ("got", [i] * i)
    a.send(None)
    p.join()
    assert p.exitcode == 0


def test_a_connection_is_a_context_manager_and_has_no_file_descriptor():
    a, b = shmq.Pipe()
    with a:
        with pytest.raises(OSError):
            a.fileno()
    assert a.closed
