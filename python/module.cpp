// _shmq: the C++ half of the Python package `shmq` (python/shmq/__init__.py builds the
// multiprocessing-shaped API on it; docs/python-module.md).
//
// What lives here is the hot path, so that a put or get is one call into C++:
// - Queue: a shmq::Queue<std::string> (element kind bytes, so C++ peers may open it as
//   Queue<std::string> or Queue<std::vector<std::byte>>). A put pickles (protocol 5) straight into
//   a claimed slot; a get unpickles from the slot in place (a memoryview over it), then frees it.
//   A pickle larger than the slot is spilled to a file in /dev/shm and the slot carries its name
//   (kSpillTag). `raw` queues carry bytes as they are (interop with C++).
// - Connection: a shmq::Connection; recv/send pickled objects or bytes.
// - TaskCounter: JoinableQueue's count of unfinished tasks, a futex word in its own /dev/shm file.
//
// Blocking calls release the GIL and wait in slices of kSlice; between slices they take the GIL
// back and run PyErr_CheckSignals(), so Ctrl-C raises KeyboardInterrupt within a slice (Python's
// own SIGINT handler only sets a flag while this thread is in C++).
//
// Threads: a shmq handle is not thread-safe, and a thread blocked in get must not stop another
// thread's put on the same Python object. Each Python object keeps a small pool of handles of
// its segment, each with its own mutex: a call takes a free one, opening another when all are in
// use (HandlePool). A single-threaded process holds one handle, one registry entry, per object.
#include <fcntl.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "shmq/detail/access.hpp"
#include "shmq/detail/wait/futex.hpp"
#include "shmq/error.hpp"
#include "shmq/pipe.hpp"
#include "shmq/queue.hpp"

namespace py = pybind11;

namespace {

using Clock = std::chrono::steady_clock;
using shmq::Status;
using shmq::detail::Deadline;

// How long a blocked call waits before it looks at Python's pending signals.
constexpr auto kSlice = std::chrono::milliseconds(50);
// At most this many handles per Python object (threads beyond it wait for a free one).
constexpr std::size_t kMaxHandles = 4;
// The first byte of a queue message that names a spill file instead of holding a pickle (a
// pickle of protocol 2 or later starts with 0x80).
constexpr char kSpillTag = 'S';

// Python objects the hot path calls, looked up once. Never freed: they must outlive every
// handle, and the interpreter's exit must not run their destructors after it finalised.
struct PyRefs {
  py::object dumps;
  py::object loads;
  py::object protocol;
  py::object full;
  py::object empty;
  py::object buffer_too_short;
};
PyRefs* refs = nullptr;

[[noreturn]] void raise(PyObject* type, const std::string& what) {
  PyErr_SetString(type, what.c_str());
  throw py::error_already_set();
}

// Python's timeout argument: None waits for ever, a negative one is 0 (as multiprocessing).
Deadline deadline_of(bool block, std::optional<double> timeout) {
  if (!block) return Clock::now();
  if (!timeout) return Deadline::max();
  const double seconds = std::max(*timeout, 0.0);
  if (seconds > 1e9) return Deadline::max();
  return Clock::now() +
         std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

// Runs `wait_slice(slice_end)` without the GIL, slice by slice, until it returns other than
// timeout / interrupted or `deadline` passes (timeout). Between slices, Python's signal handlers
// run: one that raises (KeyboardInterrupt) ends the wait with that exception.
template <class WaitSlice>
Status wait_in_slices(Deadline deadline, WaitSlice&& wait_slice) {
  for (;;) {
    const Deadline now = Clock::now();
    const Deadline slice_end = deadline - now > kSlice ? now + kSlice : deadline;
    Status s;
    {
      py::gil_scoped_release nogil;
      s = wait_slice(slice_end);
    }
    if (s != Status::timeout && s != Status::interrupted) return s;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    if (s == Status::timeout && slice_end >= deadline) return Status::timeout;
  }
}

// Locks `mu`, taking it without the GIL if it is busy (the holder may be blocked without the
// GIL and need it back), and running Python's signal handlers between tries.
void lock_interruptibly(std::timed_mutex& mu) {
  if (mu.try_lock()) return;
  for (;;) {
    bool got = false;
    {
      py::gil_scoped_release nogil;
      got = mu.try_lock_for(kSlice);
    }
    if (got) return;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
  }
}

// Handles of one segment for the threads of this process (see the file's comment). The vector
// changes only with the GIL held; the slots themselves never move.
template <class Handle>
class HandlePool {
 public:
  struct Slot {
    Handle handle;
    std::timed_mutex mu;
  };
  class Lease {
   public:
    explicit Lease(Slot* s) noexcept : slot_(s) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { slot_->mu.unlock(); }
    Handle& operator*() const noexcept { return slot_->handle; }
    Handle* operator->() const noexcept { return &slot_->handle; }

   private:
    Slot* slot_;
  };

  void add(Handle h) {
    auto slot = std::make_unique<Slot>();
    slot->handle = std::move(h);
    slots_.push_back(std::move(slot));
  }
  bool empty() const noexcept { return slots_.empty(); }
  // Any handle, for a read that needs no lock (size, capacity).
  Handle& any() noexcept { return slots_.front()->handle; }

  // A handle for this thread's call, held until the Lease goes. The GIL must be held.
  template <class Open>
  Lease acquire(Open&& open) {
    for (auto& s : slots_) {
      if (s->mu.try_lock()) return Lease(s.get());
    }
    if (slots_.size() < kMaxHandles) {
      add(open());
      Slot* s = slots_.back().get();
      s->mu.lock();  // new: nobody else has it
      return Lease(s);
    }
    Slot* s = slots_.back().get();
    lock_interruptibly(s->mu);
    return Lease(s);
  }

 private:
  std::vector<std::unique_ptr<Slot>> slots_;
};

std::string_view bytes_view(const py::bytes& b) {
  char* data = nullptr;
  Py_ssize_t size = 0;
  if (PyBytes_AsStringAndSize(b.ptr(), &data, &size) != 0) throw py::error_already_set();
  return {data, static_cast<std::size_t>(size)};
}

py::bytes pickle(const py::handle& obj) {
  return py::reinterpret_steal<py::bytes>(
      PyObject_CallFunctionObjArgs(refs->dumps.ptr(), obj.ptr(), refs->protocol.ptr(), nullptr));
}
py::object unpickle(std::string_view data) {
  // A memoryview over the bytes where they lie (a queue slot): the unpickler copies what it
  // keeps, nothing refers to the view after loads() returned.
  py::object view = py::reinterpret_steal<py::object>(PyMemoryView_FromMemory(
      const_cast<char*>(data.data()), static_cast<Py_ssize_t>(data.size()), PyBUF_READ));
  if (!view) throw py::error_already_set();
  return refs->loads(view);
}

// ---- spill files: pickles larger than a queue slot ----

std::atomic<std::uint64_t> spill_counter{0};

std::string spill_write(const std::string& queue_name, std::string_view data) {
  // relaxed: the counter only makes names unique within this process.
  const std::string name = "/" + queue_name + ".spill." + std::to_string(::getpid()) + "." +
                           std::to_string(spill_counter.fetch_add(1, std::memory_order_relaxed));
  const int fd = ::shm_open(name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) raise(PyExc_OSError, "shmq: cannot create spill file " + name);
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      ::shm_unlink(name.c_str());
      raise(PyExc_OSError, "shmq: cannot write spill file " + name);
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return name;
}

std::string spill_take(const std::string& name) {
  const int fd = ::shm_open(name.c_str(), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) raise(PyExc_OSError, "shmq: spill file " + name + " is missing");
  ::shm_unlink(name.c_str());
  struct stat st {};
  std::string out;
  if (::fstat(fd, &st) == 0) out.resize(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::read(fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (done != out.size()) raise(PyExc_OSError, "shmq: spill file " + name + " was cut short");
  return out;
}

// ---- Queue ----

using BytesQueue = shmq::Queue<std::string>;
using Side = shmq::detail::QueueCore::Side;

class PyQueue {
 public:
  // create: make `name` (capacity slots of max_message bytes; 0 = library default), else open it.
  // maxsize: Python's bound (0 = the capacity). raw: bytes in, bytes out, no pickling.
  PyQueue(std::string name, bool create, std::uint64_t maxsize, std::uint64_t capacity,
          std::uint32_t max_message, bool raw)
      : name_(std::move(name)), maxsize_(maxsize), raw_(raw) {
    if (create) {
      shmq::QueueOptions o;
      o.capacity = capacity != 0 ? capacity : std::max<std::uint64_t>(maxsize, 2);
      o.max_message = max_message;
      handles_.add(BytesQueue::create(name_, o));
    } else {
      handles_.add(BytesQueue::open(name_));
    }
    const BytesQueue& q = handles_.any();
    if (maxsize_ == 0 || maxsize_ > q.capacity()) maxsize_ = q.capacity();
  }

  void put(const py::handle& obj, bool block, std::optional<double> timeout) {
    check_open();
    std::string spill;  // the spill file's name, while the put may still fail
    py::bytes data;
    std::string_view bytes;
    if (raw_) {
      if (py::isinstance<py::str>(obj)) {
        data = py::reinterpret_steal<py::bytes>(PyUnicode_AsUTF8String(obj.ptr()));
      } else {
        data = py::reinterpret_steal<py::bytes>(PyBytes_FromObject(obj.ptr()));
      }
      if (!data) throw py::error_already_set();
      bytes = bytes_view(data);
      if (bytes.size() > handles_.any().max_message()) {
        raise(PyExc_ValueError, "shmq: a message of " + std::to_string(bytes.size()) +
                                    " bytes is larger than the queue's max_message (" +
                                    std::to_string(handles_.any().max_message()) + ")");
      }
    } else {
      data = pickle(obj);
      if (!data) throw py::error_already_set();
      bytes = bytes_view(data);
      if (bytes.size() > handles_.any().max_message()) {
        spill = std::string(1, kSpillTag) + spill_write(name_, bytes);
        bytes = spill;
      }
    }
    const Deadline deadline = deadline_of(block, timeout);
    Status s;
    {
      auto lease = handles_.acquire([&] { return BytesQueue::open(name_); });
      BytesQueue& q = *lease;
      const auto attempt = [&](bool) {
        if (q.size() >= maxsize_) return Status::full;
        BytesQueue::PutClaim claim;
        const Status c = q.try_claim(claim);
        if (c != Status::ok) return c;
        std::memcpy(claim.buffer().data(), bytes.data(), bytes.size());
        return claim.commit(bytes.size());
      };
      s = attempt(false);
      if (s == Status::full && block) {
        s = wait_in_slices(deadline, [&](Deadline until) {
          return shmq::detail::QueueAccess::wait(q, Side::producer, until, attempt);
        });
      }
    }
    if (s == Status::ok) return;
    if (!spill.empty()) ::shm_unlink(spill.c_str() + 1);
    if (s == Status::full || s == Status::timeout) throw_type(refs->full);
    fail(s);
  }

  py::object get(bool block, std::optional<double> timeout) {
    check_open();
    const Deadline deadline = deadline_of(block, timeout);
    auto lease = handles_.acquire([&] { return BytesQueue::open(name_); });
    BytesQueue& q = *lease;
    BytesQueue::GetClaim claim;
    Status s = q.try_get(claim);
    if (s == Status::empty && block) {
      s = wait_in_slices(deadline, [&](Deadline until) {
        return shmq::detail::QueueAccess::wait(q, Side::consumer, until,
                                               [&](bool) { return q.try_get(claim); });
      });
    }
    if (s == Status::empty || s == Status::timeout) throw_type(refs->empty);
    if (s != Status::ok) fail(s);
    const auto span = claim.data();
    const std::string_view data(reinterpret_cast<const char*>(span.data()), span.size());
    if (raw_) return py::bytes(data.data(), data.size());
    if (!data.empty() && data.front() == kSpillTag) {
      const std::string file(data.substr(1));
      claim.release();
      return unpickle(spill_take(file));
    }
    return unpickle(data);
  }

  std::size_t qsize() { return handles_.any().size(); }
  bool empty() { return qsize() == 0; }
  bool full() { return qsize() >= maxsize_; }
  std::size_t maxsize() const noexcept { return maxsize_; }
  std::size_t capacity() { return handles_.any().capacity(); }
  std::size_t max_message() { return handles_.any().max_message(); }
  const std::string& name() const noexcept { return name_; }
  bool raw() const noexcept { return raw_; }
  // Process-local, as multiprocessing's close(): this object's put and get raise ValueError.
  void close() noexcept { closed_ = true; }
  bool closed() const noexcept { return closed_; }
  // shmq's own close: no more puts by anyone; getters drain, then get raises EOFError.
  void close_all() { handles_.any().close(); }

 private:
  void check_open() const {
    if (closed_) raise(PyExc_ValueError, "Queue " + name_ + " is closed");
  }
  [[noreturn]] static void throw_type(const py::object& type) {
    PyErr_SetNone(type.ptr());
    throw py::error_already_set();
  }
  [[noreturn]] void fail(Status s) const {
    if (s == Status::closed) raise(PyExc_EOFError, "shmq queue " + name_ + " was closed");
    raise(PyExc_RuntimeError, "shmq queue " + name_ + ": " + std::string(shmq::to_string(s)));
  }

  std::string name_;
  std::uint64_t maxsize_;
  bool raw_;
  bool closed_ = false;
  HandlePool<BytesQueue> handles_;
};

// ---- Connection ----

class PyConnection {
 public:
  explicit PyConnection(shmq::Connection c) : conn_(std::move(c)) {
    name_ = conn_.name();
    end_ = conn_.end();
    readable_ = conn_.readable();
    writable_ = conn_.writable();
  }

  static std::pair<PyConnection, PyConnection> pipe(const std::string& name, bool duplex,
                                                    std::uint64_t capacity_bytes) {
    shmq::PipeOptions o;
    o.duplex = duplex;
    if (capacity_bytes != 0) o.capacity_bytes = capacity_bytes;
    auto [a, b] = shmq::Pipe::create(name, o);
    return {PyConnection(std::move(a)), PyConnection(std::move(b))};
  }
  static PyConnection attach(const std::string& name, int end) {
    return PyConnection(
        shmq::Connection::open_shared(name, end == 0 ? shmq::End::first : shmq::End::second));
  }

  void send(const py::handle& obj) {
    py::bytes data = pickle(obj);
    if (!data) throw py::error_already_set();
    send_view(bytes_view(data));
  }
  void send_bytes(const py::buffer& buf, Py_ssize_t offset, std::optional<Py_ssize_t> size) {
    const py::buffer_info info = buf.request();
    const Py_ssize_t n = info.size * info.itemsize;
    if (offset < 0) raise(PyExc_ValueError, "offset is negative");
    if (n < offset) raise(PyExc_ValueError, "buffer length < offset");
    Py_ssize_t count = n - offset;
    if (size) {
      if (*size < 0) raise(PyExc_ValueError, "size is negative");
      if (offset + *size > n) raise(PyExc_ValueError, "buffer length < offset + size");
      count = *size;
    }
    send_view({static_cast<const char*>(info.ptr) + offset, static_cast<std::size_t>(count)});
  }

  py::object recv() {
    const std::string data = recv_string(shmq::Connection::npos);
    return unpickle(data);
  }
  py::bytes recv_bytes(std::optional<Py_ssize_t> maxlength) {
    if (maxlength && *maxlength < 0) raise(PyExc_ValueError, "negative maxlength");
    const std::string data =
        recv_string(maxlength ? static_cast<std::size_t>(*maxlength) : shmq::Connection::npos);
    return py::bytes(data);
  }
  Py_ssize_t recv_bytes_into(const py::buffer& buf, Py_ssize_t offset) {
    const py::buffer_info info = buf.request(true);
    const Py_ssize_t n = info.size * info.itemsize;
    if (offset < 0) raise(PyExc_ValueError, "negative offset");
    if (offset > n) raise(PyExc_ValueError, "offset too large");
    check_readable();
    const auto lock = locked(*recv_mu_);
    wait_readable(Deadline::max());
    std::size_t received = 0;
    Status s;
    {
      py::gil_scoped_release nogil;
      s = conn_.recv_bytes_into({static_cast<std::byte*>(info.ptr), static_cast<std::size_t>(n)},
                                received, static_cast<std::size_t>(offset));
    }
    if (s == Status::too_large) {
      // The message is still there: take it whole, and hand it over as multiprocessing does.
      std::string whole;
      {
        py::gil_scoped_release nogil;
        s = conn_.recv_bytes(whole);
      }
      if (s == Status::ok) {
        PyErr_SetObject(refs->buffer_too_short.ptr(), py::bytes(whole).ptr());
        throw py::error_already_set();
      }
    }
    if (s != Status::ok) fail(s);
    return static_cast<Py_ssize_t>(received);
  }

  bool poll(std::optional<double> timeout) {
    check_readable();
    const auto lock = locked(*recv_mu_);
    return wait_readable(deadline_of(true, timeout));
  }

  void close() noexcept {
    conn_.close();
    closed_ = true;
  }
  bool closed() const noexcept { return closed_; }
  bool readable() const noexcept { return readable_; }
  bool writable() const noexcept { return writable_; }
  const std::string& name() const noexcept { return name_; }
  int end() const noexcept { return end_ == shmq::End::first ? 0 : 1; }

 private:
  static std::unique_lock<std::timed_mutex> locked(std::timed_mutex& mu) {
    lock_interruptibly(mu);
    return std::unique_lock(mu, std::adopt_lock);
  }
  void check_open() const {
    if (closed_) raise(PyExc_OSError, "handle is closed");
  }
  void check_readable() const {
    check_open();
    if (!readable_) raise(PyExc_OSError, "connection is write-only");
  }
  [[noreturn]] void fail(Status s) const {
    if (s == Status::closed) raise(PyExc_EOFError, "");
    if (s == Status::too_large) raise(PyExc_OSError, "bad message length");
    raise(PyExc_RuntimeError, "shmq pipe " + name_ + ": " + std::string(shmq::to_string(s)));
  }

  void send_view(std::string_view bytes) {
    check_open();
    if (!writable_) raise(PyExc_OSError, "connection is read-only");
    const auto lock = locked(*send_mu_);
    Status s;
    {
      py::gil_scoped_release nogil;
      s = conn_.send_bytes(std::as_bytes(std::span(bytes.data(), bytes.size())));
    }
    if (s == Status::closed) raise(PyExc_BrokenPipeError, "shmq pipe " + name_ + ": peer closed");
    if (s == Status::too_large) raise(PyExc_ValueError, "message too large for the pipe");
    if (s != Status::ok) fail(s);
  }

  // Whether a message (or end-of-file) is there by `deadline`; waits in slices (Ctrl-C).
  bool wait_readable(Deadline deadline) {
    bool ready = false;
    static_cast<void>(wait_in_slices(deadline, [&](Deadline until) {
      ready = conn_.poll(until - Clock::now());
      return ready ? Status::ok : Status::timeout;
    }));
    return ready;
  }

  std::string recv_string(std::size_t maxlength) {
    check_readable();
    const auto lock = locked(*recv_mu_);
    wait_readable(Deadline::max());
    std::string out;
    Status s;
    {
      py::gil_scoped_release nogil;
      s = conn_.recv_bytes(out, maxlength);
    }
    if (s != Status::ok) fail(s);
    return out;
  }

  shmq::Connection conn_;
  std::string name_;
  shmq::End end_ = shmq::End::first;
  bool readable_ = false;
  bool writable_ = false;
  bool closed_ = false;
  // Behind pointers: a PyConnection moves (Pipe() returns a pair).
  std::unique_ptr<std::timed_mutex> send_mu_ = std::make_unique<std::timed_mutex>();
  std::unique_ptr<std::timed_mutex> recv_mu_ = std::make_unique<std::timed_mutex>();
};

// ---- TaskCounter: JoinableQueue's unfinished tasks ----

class TaskCounter {
 public:
  TaskCounter(const std::string& name, bool create) : name_("/" + name) {
    const int flags = create ? O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC : O_RDWR | O_CLOEXEC;
    const int fd = ::shm_open(name_.c_str(), flags, 0600);
    if (fd < 0) raise(PyExc_OSError, "shmq: cannot open task counter " + name_);
    if (create && ::ftruncate(fd, kSize) != 0) {
      ::close(fd);
      raise(PyExc_OSError, "shmq: cannot size task counter " + name_);
    }
    void* p = ::mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ::close(fd);
    if (p == MAP_FAILED) raise(PyExc_OSError, "shmq: cannot map task counter " + name_);
    // A fresh file is zero-filled: the counter starts at 0 (an atomic of all-zero bytes).
    word_ = static_cast<std::atomic<std::uint32_t>*>(p);
  }
  TaskCounter(const TaskCounter&) = delete;
  TaskCounter& operator=(const TaskCounter&) = delete;
  ~TaskCounter() { ::munmap(word_, kSize); }

  static void unlink(const std::string& name) { ::shm_unlink(("/" + name).c_str()); }

  void add() noexcept {
    // relaxed: the count orders nothing; the queue's put orders the message.
    word_->fetch_add(1, std::memory_order_relaxed);
  }
  // Gives back an add() whose put failed.
  void undo() noexcept { done_one(); }
  void task_done() {
    if (!done_one()) raise(PyExc_ValueError, "task_done() called too many times");
  }
  void join() {
    static_cast<void>(wait_in_slices(Deadline::max(), [&](Deadline until) {
      // [A30] see the count reach 0; pairs with [R30] in done_one(): join() returns after
      // what the workers did before their task_done().
      const std::uint32_t v = word_->load(std::memory_order_acquire);
      if (v == 0) return Status::ok;
      shmq::detail::futex_wait_until(*word_, v, until);
      // [A30] as above.
      return word_->load(std::memory_order_acquire) == 0 ? Status::ok : Status::timeout;
    }));
  }
  // relaxed: a snapshot, like qsize().
  std::uint32_t value() const noexcept { return word_->load(std::memory_order_relaxed); }

 private:
  static constexpr std::size_t kSize = 64;
  bool done_one() noexcept {
    // relaxed: the compare-exchange below re-reads it.
    std::uint32_t v = word_->load(std::memory_order_relaxed);
    do {
      if (v == 0) return false;
      // [R30] publish what this worker did before task_done(); pairs with [A30] in join().
      // relaxed on failure: the loop only retries with the value it read.
    } while (!word_->compare_exchange_weak(v, v - 1, std::memory_order_release,
                                           std::memory_order_relaxed));
    if (v == 1) shmq::detail::futex_wake(*word_, INT32_MAX);
    return true;
  }

  std::string name_;
  std::atomic<std::uint32_t>* word_ = nullptr;
};

}  // namespace

PYBIND11_MODULE(_shmq, m) {
  m.doc() = "shmq's C++ core for Python; use the package `shmq` (docs/python-module.md)";

  refs = new PyRefs{};
  py::module_ pickle_mod = py::module_::import("pickle");
  refs->dumps = pickle_mod.attr("dumps");
  refs->loads = pickle_mod.attr("loads");
  refs->protocol = py::int_(5);
  py::module_ queue_mod = py::module_::import("queue");
  refs->full = queue_mod.attr("Full");
  refs->empty = queue_mod.attr("Empty");
  refs->buffer_too_short = py::module_::import("multiprocessing").attr("BufferTooShort");

  static py::exception<shmq::Error> error(m, "Error", PyExc_OSError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const shmq::Error& e) {
      if (e.code() == shmq::make_error_code(shmq::Errc::not_found)) {
        PyErr_SetString(PyExc_FileNotFoundError, e.what());
      } else if (e.code() == shmq::make_error_code(shmq::Errc::already_exists)) {
        PyErr_SetString(PyExc_FileExistsError, e.what());
      } else {
        error(e.what());
      }
    }
  });

  py::class_<PyQueue>(m, "Queue", py::dynamic_attr())
      .def(py::init<std::string, bool, std::uint64_t, std::uint64_t, std::uint32_t, bool>(),
           py::arg("name"), py::arg("create"), py::arg("maxsize") = 0, py::arg("capacity") = 0,
           py::arg("max_message") = 0, py::arg("raw") = false)
      .def("put", &PyQueue::put, py::arg("obj"), py::arg("block") = true,
           py::arg("timeout") = py::none())
      .def("get", &PyQueue::get, py::arg("block") = true, py::arg("timeout") = py::none())
      .def("qsize", &PyQueue::qsize)
      .def("empty", &PyQueue::empty)
      .def("full", &PyQueue::full)
      .def("close", &PyQueue::close)
      .def("close_all", &PyQueue::close_all)
      .def_property_readonly("closed", &PyQueue::closed)
      .def_property_readonly("maxsize", &PyQueue::maxsize)
      .def_property_readonly("capacity", &PyQueue::capacity)
      .def_property_readonly("max_message", &PyQueue::max_message)
      .def_property_readonly("name", &PyQueue::name)
      .def_property_readonly("raw", &PyQueue::raw);
  m.def("remove_queue", [](const std::string& name) { return BytesQueue::remove(name); });

  py::class_<PyConnection>(m, "Connection", py::dynamic_attr())
      .def_static("pipe", &PyConnection::pipe, py::arg("name"), py::arg("duplex") = true,
                  py::arg("capacity_bytes") = 0)
      .def_static("attach", &PyConnection::attach, py::arg("name"), py::arg("end"))
      .def("send", &PyConnection::send, py::arg("obj"))
      .def("send_bytes", &PyConnection::send_bytes, py::arg("buf"), py::arg("offset") = 0,
           py::arg("size") = py::none())
      .def("recv", &PyConnection::recv)
      .def("recv_bytes", &PyConnection::recv_bytes, py::arg("maxlength") = py::none())
      .def("recv_bytes_into", &PyConnection::recv_bytes_into, py::arg("buf"), py::arg("offset") = 0)
      .def("poll", &PyConnection::poll, py::arg("timeout") = 0.0)
      .def("close", &PyConnection::close)
      .def_property_readonly("closed", &PyConnection::closed)
      .def_property_readonly("readable", &PyConnection::readable)
      .def_property_readonly("writable", &PyConnection::writable)
      .def_property_readonly("name", &PyConnection::name)
      .def_property_readonly("end", &PyConnection::end);
  m.def("remove_pipe", [](const std::string& name) { return shmq::Pipe::remove(name); });

  py::class_<TaskCounter>(m, "TaskCounter")
      .def(py::init<const std::string&, bool>(), py::arg("name"), py::arg("create"))
      .def("add", &TaskCounter::add)
      .def("undo", &TaskCounter::undo)
      .def("task_done", &TaskCounter::task_done)
      .def("join", &TaskCounter::join)
      .def_property_readonly("value", &TaskCounter::value);
  m.def("remove_task_counter", &TaskCounter::unlink);
}
