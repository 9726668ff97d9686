# A Python process and a C++ process share queues by name: bytes and str in Python are the bytes
# of a Queue<std::string> / Queue<std::vector<std::byte>> in C++.
import os
import subprocess

import pytest

import shmq


@pytest.mark.skipif("SHMQ_INTEROP_PEER" not in os.environ, reason="run by ctest")
def test_a_cpp_process_echoes_what_python_puts_by_name():
    to_cpp = shmq.Queue(raw=True)
    from_cpp = shmq.Queue(raw=True)
    peer = subprocess.Popen([os.environ["SHMQ_INTEROP_PEER"], to_cpp.name, from_cpp.name])
    to_cpp.put(b"bytes")
    to_cpp.put("str \u00e9")  # str goes as UTF-8
    to_cpp.put(bytearray(b"\x00\xff"))
    assert from_cpp.get(timeout=60) == b"echo:bytes"
    assert from_cpp.get(timeout=60) == "echo:str \u00e9".encode()
    assert from_cpp.get(timeout=60) == b"echo:\x00\xff"
    opened = shmq.open_bytes_queue(to_cpp.name)
    opened.put(b"quit")
    assert peer.wait(timeout=60) == 0


def test_a_raw_queue_refuses_a_message_over_its_slot():
    q = shmq.Queue(raw=True, max_message=16)
    with pytest.raises(ValueError):
        q.put(b"x" * 17)
