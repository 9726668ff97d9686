"""shmq: Python's multiprocessing Queue and Pipe on shmq's shared-memory rings.

    from shmq import Process, Queue, Pipe

Queues and pipes live in named segments in /dev/shm, so they survive a peer killed with
SIGKILL (docs/python-module.md). The hot path is in the C++ extension shmq._shmq; this file
gives it multiprocessing's shape: constructors, pickling into children, and the lifetime of
anonymous objects.
"""

import multiprocessing as _mp
import os as _os
import queue as _queue
import secrets as _secrets
import weakref as _weakref

from multiprocessing import (  # noqa: F401  re-exported: `from shmq import Process, ...`
    BufferTooShort,
    Process,
    active_children,
    cpu_count,
    current_process,
    parent_process,
)

from . import _shmq

__all__ = [
    "Queue", "SimpleQueue", "JoinableQueue", "Pipe", "Connection", "Process", "get_context",
    "open_bytes_queue", "remove", "Full", "Empty", "BufferTooShort", "Error",
    "DEFAULT_CAPACITY", "DEFAULT_MAX_MESSAGE",
]

Full = _queue.Full
Empty = _queue.Empty
Error = _shmq.Error
Connection = _shmq.Connection

# Queue(maxsize=0) is bounded here: this many messages (multiprocessing's is unbounded).
DEFAULT_CAPACITY = 8192
# Bytes per queue slot; a larger pickle goes through a spill file in /dev/shm.
DEFAULT_MAX_MESSAGE = 1024


def _anonymous_name(kind):
    return "shmq-py-%s-%d-%s" % (kind, _os.getpid(), _secrets.token_hex(6))


def _remove_if_creator(pid, removals):
    # Only in the process that made the names: a forked child's copy of the object (or its
    # exit) must not take them from the others.
    if _os.getpid() != pid:
        return
    for remove, name in removals:
        try:
            remove(name)
        except Exception:
            pass


def _remove_with(obj, removals):
    """Unlinks `removals` ((function, name) pairs) when `obj` is collected, or at exit, in this
    process only."""
    _weakref.finalize(obj, _remove_if_creator, _os.getpid(), removals)


def remove(name):
    """Unlinks the named queue (and a JoinableQueue's task counter) or pipe; processes that
    use it keep working. Returns whether something was there."""
    found = False
    for f in (_shmq.remove_queue, _shmq.remove_pipe):
        try:
            found = f(name) or found
        except Exception:
            pass
    _shmq.remove_task_counter(name + ".tasks")
    return found


# ---- queues ----

def _attach_queue(cls, name, maxsize, raw):
    self = cls.__new__(cls)
    self._attach(name, maxsize, raw)
    return self


class Queue(_shmq.Queue):
    """multiprocessing.Queue on a shmq MPMC ring.

    Queue(maxsize=0) holds DEFAULT_CAPACITY messages (a put then blocks, or raises Full);
    Queue(maxsize=n) holds n. Keyword-only: name (a named queue, kept until shmq.remove(name);
    default: an anonymous one, removed when the creating object goes), capacity, max_message
    (bytes per slot), raw (bytes and str in, bytes out, no pickling: C++ interop).
    """

    def __init__(self, maxsize=0, *, ctx=None, name=None, capacity=None, max_message=None,
                 raw=False):
        anonymous = name is None
        if anonymous:
            name = _anonymous_name("queue")
        if maxsize <= 0:
            maxsize = 0
            capacity = capacity or DEFAULT_CAPACITY
        _shmq.Queue.__init__(self, name, True, maxsize, capacity or 0,
                             max_message or DEFAULT_MAX_MESSAGE, raw)
        if anonymous:
            _remove_with(self, self._removals())

    @classmethod
    def open(cls, name, *, raw=False, maxsize=0):
        """Attaches to the existing queue `name` (made by Python or by C++)."""
        return _attach_queue(cls, name, maxsize, raw)

    def _attach(self, name, maxsize, raw):
        _shmq.Queue.__init__(self, name, False, maxsize, 0, 0, raw)

    def _removals(self):
        return [(_shmq.remove_queue, self.name)]

    def __reduce__(self):
        return (_attach_queue, (type(self), self.name, self.maxsize, self.raw))

    def __repr__(self):
        return "<%s %s>" % (type(self).__name__, self.name)

    def put_nowait(self, obj):
        return self.put(obj, False)

    def get_nowait(self):
        return self.get(False)

    def join_thread(self):
        # No feeder thread: every put is in the ring when it returns.
        assert self.closed, "Queue {0!r} not closed".format(self)

    def cancel_join_thread(self):
        pass


def open_bytes_queue(name):
    """The existing queue `name` as raw bytes (a C++ Queue<std::string> or
    Queue<std::vector<std::byte>>): put takes bytes-like objects and str (as UTF-8), get
    returns bytes."""
    return Queue.open(name, raw=True)


class SimpleQueue(Queue):
    """multiprocessing.SimpleQueue: put(obj), get(), empty(), close()."""

    def put(self, obj):
        return Queue.put(self, obj)

    def get(self):
        return Queue.get(self)


class JoinableQueue(Queue):
    """multiprocessing.JoinableQueue: a Queue plus task_done() and join(). The count of
    unfinished tasks is a shared word beside the queue (NAME.tasks in /dev/shm)."""

    def __init__(self, maxsize=0, **kwargs):
        Queue.__init__(self, maxsize, **kwargs)
        self._tasks = _shmq.TaskCounter(self.name + ".tasks", True)

    def _attach(self, name, maxsize, raw):
        Queue._attach(self, name, maxsize, raw)
        self._tasks = _shmq.TaskCounter(self.name + ".tasks", False)

    def _removals(self):
        return Queue._removals(self) + [(_shmq.remove_task_counter, self.name + ".tasks")]

    def put(self, obj, block=True, timeout=None):
        self._tasks.add()
        try:
            _shmq.Queue.put(self, obj, block, timeout)
        except BaseException:
            self._tasks.undo()
            raise

    def task_done(self):
        self._tasks.task_done()

    def join(self):
        self._tasks.join()


# ---- pipes ----

class _PipeOwner:
    """Held by both Connections that Pipe() made: the pipe's name goes with the last of them."""
    __slots__ = ("__weakref__",)


def Pipe(duplex=True, *, capacity_bytes=0):
    """multiprocessing.Pipe: two Connections on a shmq pipe (capacity_bytes per direction,
    0: the library's 64 KiB; larger messages stream through)."""
    name = _anonymous_name("pipe")
    a, b = _shmq.Connection.pipe(name, duplex, capacity_bytes)
    owner = _PipeOwner()
    a._owner = owner
    b._owner = owner
    _remove_with(owner, [(_shmq.remove_pipe, name)])
    return a, b


def _attach_connection(name, end):
    return _shmq.Connection.attach(name, end)


def _connection_reduce(self):
    if self.closed:
        raise OSError("handle is closed")
    return (_attach_connection, (self.name, self.end))


def _connection_fileno(self):
    raise OSError("a shmq Connection has no file descriptor")


def _connection_enter(self):
    return self


def _connection_exit(self, *exc):
    self.close()


Connection.__reduce__ = _connection_reduce
Connection.fileno = _connection_fileno
Connection.__enter__ = _connection_enter
Connection.__exit__ = _connection_exit


# ---- contexts ----

class _Context:
    """A multiprocessing context whose Queue, SimpleQueue, JoinableQueue and Pipe are shmq's;
    everything else (Process, Pool, Manager, locks, ...) is the wrapped context's."""

    def __init__(self, ctx):
        self._ctx = ctx

    def __getattr__(self, attr):
        return getattr(self._ctx, attr)

    def Queue(self, maxsize=0, **kwargs):
        return Queue(maxsize, **kwargs)

    def SimpleQueue(self, **kwargs):
        return SimpleQueue(**kwargs)

    def JoinableQueue(self, maxsize=0, **kwargs):
        return JoinableQueue(maxsize, **kwargs)

    def Pipe(self, duplex=True, **kwargs):
        return Pipe(duplex, **kwargs)


def get_context(method=None):
    """multiprocessing.get_context(method), with shmq's Queue, SimpleQueue, JoinableQueue and
    Pipe."""
    return _Context(_mp.get_context(method))
