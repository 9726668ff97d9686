// Fuzz target: operation sequences on a Pipe against a model, and a hostile variant
// (docs/design.md §7).
//
// Both ends live in this process. The model keeps, per direction, the messages in the ring in
// order — each whole, or cut short by a timed-out send (its first chunks, which the receiver drops
// when the next message starts or the sender goes) — and the bytes their records take, so it
// knows exactly what a timed-out send writes and when a call would block. Blocking calls are made
// only where the model says they return at once, except a blocking send of a message larger than
// the free space (several times the ring: continuation records): it runs on a helper thread while
// this thread receives until that message arrives. Every status and every received byte is
// compared with the model; a disagreement prints the step and traps.
//
// Hostile variant (shape bit 4): between operations a second mapping of the segment writes
// fuzzer-chosen values into a ring's indices, its other control fields, or its data (record words
// forged at record boundaries included). From the first such write on, the model is dropped and
// only the absence of crashes, out-of-bounds accesses (ASan), UB (UBSan) and hangs (-timeout)
// counts. Sends are then timed; a receive, which may now legitimately wait for data that never
// comes, runs (when poll() says something is there) under a watchdog that closes the sending end
// after 10 ms — a close ends any legitimate wait, so a receive that still does not return is a
// hang.
//
// Input: a shape byte (ring capacity, duplex, start near the 2^64 wrap, hostile, max_message),
// then operations of 1 op byte and up to 3 argument bytes each.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fuzz_support.hpp"
#include "shmq/detail/access.hpp"
#include "shmq/detail/layout.hpp"
#include "shmq/detail/ring/byte_ring.hpp"
#include "shmq/detail/segment.hpp"
#include "shmq/error.hpp"
#include "shmq/pipe.hpp"

namespace {

using shmq::Connection;
using shmq::End;
using shmq::Status;
using shmq::detail::ByteRing;
using shmq::fuzz::Input;

int g_step = 0;

void expect(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "pipe_model_fuzz: step %d: %s\n", g_step, what);
  __builtin_trap();
}

// SHMQ_FUZZ_TRACE=1 prints every status (to follow a reproducer).
const bool g_trace = std::getenv("SHMQ_FUZZ_TRACE") != nullptr;

Status trace(Status s, const char* what) {
  if (g_trace) std::fprintf(stderr, "step %d: %s: %s\n", g_step, what, shmq::to_string(s).data());
  return s;
}

void expect_status(Status got, Status want, const char* what) {
  (void)trace(got, what);
  if (got == want) return;
  std::fprintf(stderr, "pipe_model_fuzz: step %d: %s: got %s, model says %s\n", g_step, what,
               shmq::to_string(got).data(), shmq::to_string(want).data());
  __builtin_trap();
}

// Message bytes: its serial number first, then a pattern of the serial, so that a lost, repeated,
// reordered, truncated or mixed-up message never compares equal.
std::string message(std::uint32_t serial, std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    s[i] = static_cast<char>(i < 4 ? serial >> (8 * i) : serial * 131 + i * 7 + (i >> 8));
  }
  return s;
}

// Runs one job at a time on a thread of its own: the blocking sends that need this thread to
// receive meanwhile. One thread for the whole run, leaked on purpose as the Watchdog's (a thread
// per send cost more than the rest of a run: under ASan, thread creation and teardown dominate).
class Helper {
 public:
  static Helper& get() {
    static Helper* const h = new Helper;
    return *h;
  }
  void start(std::function<void()> job) {
    const std::lock_guard lock(mutex_);
    job_ = std::move(job);
    done_ = false;
    cv_.notify_all();
  }
  void join() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return done_; });
  }

 private:
  Helper() {
    std::thread([this] { loop(); }).detach();
  }
  void loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
      cv_.wait(lock, [&] { return job_ != nullptr; });
      std::function<void()> job = std::exchange(job_, nullptr);
      lock.unlock();
      job();
      lock.lock();
      done_ = true;
      cv_.notify_all();
    }
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  std::function<void()> job_;
  bool done_ = true;
};

// Closes the sending end of a receive that has not returned after a while (hostile runs only).
// One thread for the whole run, leaked on purpose (a joinable std::thread must not be destroyed
// at exit).
class Watchdog {
 public:
  static Watchdog& get() {
    static Watchdog* const w = new Watchdog;
    return *w;
  }
  void arm(Connection* sender, std::chrono::milliseconds limit) {
    const std::lock_guard lock(mutex_);
    target_ = sender;
    deadline_ = std::chrono::steady_clock::now() + limit;
    fired_ = false;
    cv_.notify_all();
  }
  // Whether it closed the sender.
  bool disarm() {
    const std::lock_guard lock(mutex_);
    target_ = nullptr;
    cv_.notify_all();
    return fired_;
  }

 private:
  Watchdog() {
    std::thread([this] { loop(); }).detach();
  }
  void loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
      cv_.wait(lock, [&] { return target_ != nullptr; });
      if (!cv_.wait_until(lock, deadline_, [&] { return target_ == nullptr; })) {
        target_->close();
        target_ = nullptr;
        fired_ = true;
      }
    }
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  Connection* target_ = nullptr;
  std::chrono::steady_clock::time_point deadline_{};
  bool fired_ = false;
};

// One message in a direction's ring, as the model sees it.
struct Entry {
  std::string data;
  bool whole = true;             // false: a timed-out send left only its first chunks
  std::uint64_t ring_bytes = 0;  // bytes its records take in the ring
};

struct Direction {
  std::deque<Entry> ring;
  std::uint64_t used = 0;  // bytes of records in the ring (INV-B1: <= capacity)
};

// What a receive does, by the model.
struct RecvOutcome {
  Status status = Status::ok;
  bool blocks = false;  // the call would wait (not made)
  std::string data;     // status ok: the message
};

class Harness {
 public:
  Harness(Input& in, std::uint8_t shape) : in_(in) {
    capacity_ = 256ULL << (shape & 3);
    duplex_ = (shape & 4) != 0;
    hostile_ = (shape & 0x10) != 0;
    max_chunk_ = ByteRing::max_chunk_for(capacity_);
    switch ((shape >> 5) & 3) {
      case 0:
        max_message_ = shmq::detail::kPipeMaxMessage;
        break;
      case 1:
        max_message_ = 3 * capacity_ + 5;
        break;
      case 2:
        max_message_ = max_chunk_ + 1;
        break;
      default:
        max_message_ = 5 * capacity_;
        break;
    }
    shmq::PipeOptions opt;
    opt.duplex = duplex_;
    opt.capacity_bytes = capacity_;
    opt.max_message = max_message_ == shmq::detail::kPipeMaxMessage ? 0 : max_message_;
    opt.wait = wait_;
    // Near the wrap, and not 8-aligned: the ring aligns it down (INV-B2).
    const std::uint64_t start = (shape & 8) ? ~0ULL - 2 * capacity_ + 3 : 0;
    name_ = shmq::fuzz::fuzz_name("pipe");
    shmq::Pipe::remove(name_);
    auto [a, b] = shmq::detail::create_pipe_at(name_, opt, start);
    ends_[0] = std::move(a);
    ends_[1] = std::move(b);
    open_[0] = open_[1] = true;
    map_peer();
  }

  ~Harness() {
    for (auto& e : ends_)
      e.close();
    if (peer_ != nullptr) ::munmap(peer_, peer_size_);
    shmq::Pipe::remove(name_);
  }
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  void run() {
    for (g_step = 0; g_step < 200 && !in_.empty(); ++g_step) {
      const auto op = in_.take<std::uint8_t>();
      const End e = (op & 0x80) ? End::second : End::first;
      switch (op % 16) {
        case 0:
        case 1:
        case 2:
        case 3:
          send(e);
          break;
        case 4:
        case 5:
        case 6:
        case 7:
          recv(e, op);
          break;
        case 8:
          poll(e, op);
          break;
        case 9:
          if ((op & 0x70) == 0x70) close(e);
          break;
        case 10:
          if ((op & 0x70) == 0x70) reopen(e);
          break;
        case 11:
          accessors(e);
          break;
        case 12:
        case 13:
        case 14:
        case 15:
          if (hostile_) {
            poke(op);
          } else {
            send(e);
          }
          break;
      }
    }
  }

 private:
  static std::size_t index(End e) { return e == End::first ? 0 : 1; }
  static End other(End e) { return e == End::first ? End::second : End::first; }
  bool can_send(End e) const { return open_[index(e)] && (duplex_ || e == End::second); }
  bool can_recv(End e) const { return open_[index(e)] && (duplex_ || e == End::first); }
  // Messages to end e travel in ring index(e), sent by the other end.
  Direction& to(End e) { return dirs_[index(e)]; }
  bool modeled() const { return !corrupted_; }

  // Message sizes from tiny to several times the ring, with the chunking boundaries.
  std::size_t pick_size(std::uint8_t s) const {
    const std::uint64_t c = capacity_;
    const std::uint64_t m = max_chunk_;
    if (s < 96) return s % 48;
    if (s < 160) return static_cast<std::size_t>((s - 96) * c / 32 + (s & 7));  // up to 2 rings
    if (s < 224) return static_cast<std::size_t>((s - 160) * c * 5 / 64 + (s & 3));  // up to 5
    const std::uint64_t special[] = {
        m - 1, m,         m + 1, 2 * m, 2 * m + 1,    c - 16,           c - 8, c, c + 1,
        3 * m, 3 * m + 7, 4 * c, 8,     max_message_, max_message_ + 1, 0};
    const std::uint64_t v = special[s % 16];
    return static_cast<std::size_t>(std::min<std::uint64_t>(v, 6 * c));
  }

  // What writing `size` bytes into `d` now does: how many bytes of records fit before the
  // first chunk that does not, and whether that is all of it.
  void simulate_write(const Direction& d, std::uint64_t size, std::uint64_t& written,
                      bool& whole) const {
    std::uint64_t free = capacity_ - d.used;
    std::uint64_t remaining = size;
    written = 0;
    do {
      const std::uint64_t chunk = std::min(remaining, max_chunk_);
      const std::uint64_t need = ByteRing::record_bytes(chunk);
      if (need > free) break;
      free -= need;
      written += need;
      remaining -= chunk;
    } while (remaining > 0);
    whole = remaining == 0 && written > 0;
  }

  // ---- send ----

  void send(End e) {
    const std::size_t size = pick_size(in_.take<std::uint8_t>());
    const auto how = in_.take<std::uint8_t>();
    const std::string msg = message(serial_++, size);
    Connection& c = ends_[index(e)];
    // Blocking forms: 0 send(string_view), 1 send_bytes(offset/size), 2 send<uint64_t>;
    // 3 send_bytes_for(0 ms); 4 send_bytes_for(1 ms).
    int form = how % 8 < 3 ? how % 8 : 3;
    if (how == 0xFF) form = 4;
    if (form == 2) {
      std::uint64_t v = 0;
      std::memcpy(&v, message(serial_ - 1, 8).data(), 8);
      send_value(e, v);
      return;
    }
    if (!modeled() && form < 3) form = 3;  // a blocking send could now wait for ever

    // send_bytes with a range: a prefix and suffix around the message, or a bad range.
    std::string buffer;
    std::size_t offset = 0;
    std::size_t count = Connection::npos;
    bool bad_range = false;
    if (form == 1) {
      const std::size_t pre = (how >> 3) & 7;
      const std::size_t post = (how >> 6) & 1 ? 5 : 0;
      buffer.assign(pre, 'p');
      buffer += msg;
      buffer.append(post, 's');
      offset = pre;
      count = post != 0 || (how & 0x80) ? msg.size() : Connection::npos;
      if ((how >> 3) == 0x1F) {
        offset = buffer.size() + 1;  // past the end
        bad_range = true;
      } else if ((how >> 3) == 0x1E) {
        count = buffer.size() - offset + 1;  // past the end
        bad_range = true;
      }
    }
    const auto bytes = [&] {
      return form == 1 ? std::as_bytes(std::span(buffer)) : std::as_bytes(std::span(msg));
    };
    const auto call = [&](Connection& conn) {
      switch (form) {
        case 0:
          return conn.send(std::string_view(msg));
        case 1:
          return conn.send_bytes(bytes(), offset, count);
        case 3:
          return conn.send_bytes_for(bytes(), std::chrono::milliseconds(0));
        default:
          return conn.send_bytes_for(bytes(), std::chrono::milliseconds(1));
      }
    };

    if (!modeled()) {
      (void)trace(call(c), "send (corrupted)");
      return;
    }
    if (bad_range) {
      expect_status(call(c), Status::too_large, "send_bytes with a range outside the buffer");
      return;
    }
    if (!can_send(e)) {
      expect_status(call(c), Status::closed, "send on an end that cannot send");
      return;
    }
    if (msg.size() > max_message_) {
      expect_status(call(c), Status::too_large, "send over max_message");
      return;
    }
    if (!open_[index(other(e))]) {
      expect_status(call(c), Status::closed, "send to a closed end");
      return;
    }
    Direction& d = to(other(e));
    std::uint64_t written = 0;
    bool whole = false;
    simulate_write(d, msg.size(), written, whole);
    if (whole) {
      expect_status(call(c), Status::ok, "send that fits");
      d.ring.push_back({msg, true, written});
      d.used += written;
      return;
    }
    if (form >= 3) {
      expect_status(call(c), Status::timeout, "timed send that does not fit");
      if (written > 0) {
        d.ring.push_back({msg, false, written});
        d.used += written;
      }
      return;
    }
    // A blocking send that must wait for the receiver: send on a helper thread, receive here.
    Status sent = Status::corrupt;
    Helper::get().start([&] { sent = call(c); });
    std::vector<std::string> expected;
    for (const Entry& x : d.ring) {
      if (x.whole) expected.push_back(x.data);
    }
    expected.push_back(msg);
    Connection& r = ends_[index(other(e))];
    std::string got;
    for (const std::string& want : expected) {
      const Status s = r.recv(got);
      if (s != Status::ok) {
        expect_status(s, Status::ok, "recv while a helper thread sends");
      }
      expect(got == want, "recv while a helper thread sends: another message");
    }
    Helper::get().join();
    expect_status(sent, Status::ok, "blocking send of a message larger than the free space");
    d.ring.clear();
    d.used = 0;
  }

  void send_value(End e, std::uint64_t v) {
    Connection& c = ends_[index(e)];
    if (!modeled()) {
      // The value form blocks; after corruption the ring may look full for ever.
      (void)c.send_bytes_for(std::as_bytes(std::span(&v, 1)), std::chrono::milliseconds(0));
      return;
    }
    std::string msg(8, '\0');
    std::memcpy(msg.data(), &v, 8);
    Status want = Status::ok;
    Direction& d = to(other(e));
    std::uint64_t written = 0;
    bool whole = false;
    if (!can_send(e) || !open_[index(other(e))]) {
      want = Status::closed;
    } else if (8 > max_message_) {
      want = Status::too_large;
    } else {
      simulate_write(d, 8, written, whole);
      if (!whole) {
        // Would wait: send it timed instead (the same bytes), which the model knows.
        expect_status(
            c.send_bytes_for(std::as_bytes(std::span(&v, 1)), std::chrono::milliseconds(0)),
            Status::timeout, "timed send of a value that does not fit");
        return;  // 8 bytes are one chunk: nothing was written
      }
    }
    expect_status(c.send(v), want, "send<uint64_t>");
    if (want == Status::ok) {
      d.ring.push_back({msg, true, written});
      d.used += written;
    }
  }

  // ---- receive ----

  // accept(total): whether the receive form takes a message of `total` bytes.
  template <class Accept>
  RecvOutcome model_recv(End e, Accept&& accept) {
    RecvOutcome out;
    if (!can_recv(e)) {
      out.status = Status::closed;
      return out;
    }
    Direction& d = to(e);
    const bool sender_gone = !open_[index(other(e))];
    // Dry run first: a call that would block is not made, and must change nothing.
    std::size_t i = 0;
    for (;;) {
      if (i == d.ring.size()) {
        if (!sender_gone) {
          out.blocks = true;
          return out;
        }
        out.status = Status::closed;
        break;
      }
      const Entry& x = d.ring[i];
      if (!accept(x.data.size())) {
        out.status = Status::too_large;
        break;
      }
      if (x.whole) {
        out.status = Status::ok;
        out.data = x.data;
        ++i;
        break;
      }
      if (i + 1 == d.ring.size() && !sender_gone) {
        out.blocks = true;  // the rest of a message that was cut short, from a live sender
        return out;
      }
      ++i;  // a message cut short: dropped when the next one starts, or the sender is gone
    }
    for (std::size_t k = 0; k < i; ++k) {
      d.used -= d.ring.front().ring_bytes;
      d.ring.pop_front();
    }
    return out;
  }

  bool model_poll(End e) const {
    if (!can_recv(e)) return true;
    const Direction& d = dirs_[index(e)];
    return !d.ring.empty() || !open_[index(other(e))];
  }

  // Runs a receive; after corruption under the watchdog.
  template <class Call>
  Status guarded(End e, Call&& call) {
    if (modeled()) return call();
    Connection& sender = ends_[index(other(e))];
    Watchdog::get().arm(&sender, std::chrono::milliseconds(10));
    const Status s = trace(call(), "recv (corrupted)");
    if (Watchdog::get().disarm()) {
      open_[index(other(e))] = false;
      (void)trace(Status::closed, "the watchdog closed the sender");
    }
    return s;
  }

  void recv(End e, std::uint8_t op) {
    const auto how = in_.take<std::uint8_t>();
    const auto arg = in_.take<std::uint8_t>();
    Connection& c = ends_[index(e)];
    const std::size_t limit = pick_size(arg);
    switch (how % 5) {
      case 0: {  // recv(std::string&)
        std::string out;
        receive_into(
            e, c, [](std::uint64_t) { return true; }, [&] { return c.recv(out); },
            [&] { return out; });
        break;
      }
      case 1: {  // recv_bytes(std::string&, maxlength)
        std::string out = "stale";
        receive_into(
            e, c, [&](std::uint64_t n) { return n <= limit; },
            [&] { return c.recv_bytes(out, limit); }, [&] { return out; });
        break;
      }
      case 2: {  // recv_bytes(std::vector<std::byte>&, maxlength)
        std::vector<std::byte> out;
        receive_into(
            e, c, [&](std::uint64_t n) { return n <= limit; },
            [&] { return c.recv_bytes(out, limit); },
            [&] { return std::string(reinterpret_cast<const char*>(out.data()), out.size()); });
        break;
      }
      case 3: {  // recv_bytes_into(span, received, offset)
        std::vector<std::byte> buffer(limit);
        const std::size_t offset = (op & 0x40) ? (op & 0x20 ? limit + 1 : limit / 3) : 0;
        std::size_t received = 12345;
        if (offset > buffer.size()) {
          const Status s = c.recv_bytes_into(buffer, received, offset);
          if (modeled()) expect_status(s, Status::too_large, "recv_bytes_into past the buffer");
          break;
        }
        receive_into(
            e, c, [&](std::uint64_t n) { return n <= limit - offset; },
            [&] { return c.recv_bytes_into(buffer, received, offset); },
            [&] {
              expect(received <= limit - offset, "recv_bytes_into: received past the buffer");
              return std::string(reinterpret_cast<const char*>(buffer.data() + offset), received);
            });
        break;
      }
      default: {  // recv<std::uint64_t>: exactly 8 bytes
        std::uint64_t v = 0;
        receive_into(
            e, c, [](std::uint64_t n) { return n == 8; }, [&] { return c.recv(v); },
            [&] {
              std::string s(8, '\0');
              std::memcpy(s.data(), &v, 8);
              return s;
            });
        break;
      }
    }
  }

  template <class Accept, class Call, class Got>
  void receive_into(End e, Connection& c, Accept&& accept, Call&& call, Got&& got) {
    if (!modeled()) {
      // Nothing there from a live sender: a receive would only wait (for the watchdog).
      if (!c.poll()) return;
      const Status s = guarded(e, call);
      if (s == Status::ok) expect(got().size() <= max_message_, "received over max_message");
      return;
    }
    const RecvOutcome want = model_recv(e, accept);
    if (want.blocks) {
      // Would wait for ever: check that poll() agrees a message has started or nothing is there.
      expect(c.poll() == model_poll(e), "poll() where recv would block");
      return;
    }
    const Status s = call();
    expect_status(s, want.status, "recv");
    if (s == Status::ok) expect(got() == want.data, "recv: another message than the model's");
  }

  void poll(End e, std::uint8_t op) {
    Connection& c = ends_[index(e)];
    const bool timed = (op & 0x70) == 0x70;
    const bool p = timed ? c.poll(std::chrono::milliseconds(1)) : c.poll();
    if (modeled()) expect(p == model_poll(e), "poll()");
  }

  // ---- ends ----

  void close(End e) {
    ends_[index(e)].close();
    open_[index(e)] = false;
  }

  void reopen(End e) {
    if (open_[index(e)]) {
      // A live process (this one) holds it.
      try {
        (void)Connection::open(name_, e, wait_);
        expect(!modeled(), "opened an end this process holds");
      } catch (const shmq::Error& err) {
        expect(!modeled() || err.code() == make_error_code(shmq::Errc::role_taken),
               "a second open of a held end: not role_taken");
      }
      return;
    }
    try {
      ends_[index(e)] = Connection::open(name_, e, wait_);
      open_[index(e)] = true;
    } catch (const shmq::Error&) {
      expect(!modeled(), "reopening a closed end failed");
    }
  }

  void accessors(End e) {
    const Connection& c = ends_[index(e)];
    if (!modeled()) return;
    expect(c.closed() == !open_[index(e)], "closed()");
    expect(c.readable() == can_recv(e), "readable()");
    expect(c.writable() == can_send(e), "writable()");
    if (open_[index(e)]) expect(c.end() == e && c.name() == name_, "end() / name()");
  }

  // ---- the hostile peer ----

  void map_peer() {
    const int fd = ::open(shmq::detail::segment_path(name_).c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return;
    const off_t size = ::lseek(fd, 0, SEEK_END);
    void* map = size > 0 ? ::mmap(nullptr, static_cast<std::size_t>(size), PROT_READ | PROT_WRITE,
                                  MAP_SHARED, fd, 0)
                         : MAP_FAILED;
    ::close(fd);
    if (map == MAP_FAILED) return;
    peer_ = static_cast<unsigned char*>(map);
    peer_size_ = static_cast<std::size_t>(size);
  }

  void write_peer(std::size_t at, const void* value, std::size_t len) {
    if (peer_ == nullptr || at >= peer_size_) return;
    std::memcpy(peer_ + at, value, std::min(len, peer_size_ - at));
    corrupted_ = true;
  }

  std::uint64_t read_peer(std::size_t at) const {
    std::uint64_t v = 0;
    if (peer_ != nullptr && at + 8 <= peer_size_) std::memcpy(&v, peer_ + at, 8);
    return v;
  }

  void poke(std::uint8_t op) {
    using shmq::detail::ByteRingData;
    using shmq::detail::PipeControl;
    const auto sel = in_.take<std::uint8_t>();
    const std::size_t ring = (sel & 1) && duplex_ ? 1 : 0;
    const std::size_t ring_at =
        shmq::detail::kBodyOffset + offsetof(PipeControl, rings) + ring * sizeof(ByteRingData);
    const std::size_t tail_at = ring_at + offsetof(ByteRingData, tail);
    const std::size_t head_at = ring_at + offsetof(ByteRingData, head);
    const std::size_t data_at = shmq::detail::kPipeDataOffset + ring * capacity_;
    switch ((op >> 4) & 3) {
      case 0: {  // an index moved by a small amount (often still plausible)
        const std::size_t at = (sel & 2) ? tail_at : head_at;
        const auto delta = static_cast<std::int8_t>(in_.take<std::uint8_t>());
        const std::uint64_t v =
            read_peer(at) + static_cast<std::uint64_t>((sel & 4) ? delta : delta * 8);
        write_peer(at, &v, 8);
        break;
      }
      case 1: {  // any bytes anywhere in the ring's control block
        const auto where = in_.take<std::uint16_t>();
        const auto value = in_.take<std::uint64_t>();
        write_peer(ring_at + where % sizeof(ByteRingData), &value, 1 + (sel >> 5));
        break;
      }
      case 2: {  // any bytes in the ring's data
        const auto where = in_.take<std::uint16_t>();
        const auto value = in_.take<std::uint64_t>();
        write_peer(data_at + where % capacity_, &value, 1 + (sel >> 5));
        break;
      }
      default: {  // a well-tagged record word forged at a record boundary after head
        const auto k = in_.take<std::uint8_t>();
        const auto remaining = in_.take<std::uint32_t>();
        const std::uint64_t head = read_peer(head_at);
        const std::uint64_t pos = (head + 8ULL * k) & (capacity_ - 1) & ~7ULL;
        std::uint64_t r = remaining;
        if (sel & 8) r = static_cast<std::uint64_t>(remaining) << 8;  // large
        if (sel & 16) r = shmq::detail::kPipeRemainingMask;
        const std::uint64_t word = ByteRing::record_word(r, (sel & 2) != 0);
        write_peer(data_at + pos, &word, 8);
        break;
      }
    }
  }

  Input& in_;
  std::uint64_t capacity_ = 0;
  std::uint64_t max_chunk_ = 0;
  std::uint64_t max_message_ = 0;
  bool duplex_ = true;
  bool hostile_ = false;
  bool corrupted_ = false;
  shmq::WaitPolicy wait_{0, std::chrono::milliseconds(1)};
  std::string name_;
  Connection ends_[2];
  bool open_[2] = {false, false};
  Direction dirs_[2];
  std::uint32_t serial_ = 1;
  unsigned char* peer_ = nullptr;
  std::size_t peer_size_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in(data, size);
  const auto shape = in.take<std::uint8_t>();
  Harness h(in, shape);
  h.run();
  return 0;
}
