// Pipe against a model (a std::deque of messages in flight), driven by rapidcheck's state machine
// testing. The writing end lives in a thread of its own, so messages of several times the ring
// stream through it while the test thread receives; random ring sizes, message sizes up to 4x the
// ring, start positions just below the 2^64 wrap, receive limits that refuse a message (it must
// stay), poll with and without messages, and a close of the writing end (drain, then closed).
#include <gtest/gtest.h>
// rapidcheck's gtest glue needs gtest first.
#include <rapidcheck/gtest.h>
#include <rapidcheck/state.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "shmq/detail/access.hpp"
#include "shmq/pipe.hpp"
#include "support/test_support.hpp"

namespace {

using namespace std::chrono_literals;
using shmq::Connection;
using shmq::Pipe;
using shmq::Status;

// Every run is seeded and prints its seed (RC_PARAMS, if set, wins).
const bool kSeeded = [] {
  if (std::getenv("RC_PARAMS") != nullptr) return false;
  const std::uint64_t seed = shmq::test::test_seed("pipe_model_test (rapidcheck)");
  const std::string params = "seed=" + std::to_string(seed) + " max_success=60";
  ::setenv("RC_PARAMS", params.c_str(), 0);
  return true;
}();

// Message i's bytes: a function of its id, so the model stores ids and sizes only.
std::string message_bytes(std::uint64_t id, std::size_t size) {
  std::string s(size, '\0');
  std::uint64_t x = id * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
  for (auto& c : s) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x);
  }
  return s;
}

struct Msg {
  std::uint64_t id;
  std::size_t size;
};

struct PipeModel {
  std::uint64_t capacity = 0;
  std::deque<Msg> in_flight;  // sent (or queued to the writer thread), not yet received
  bool writer_closed = false;
  std::uint64_t next_id = 0;
};

// The system under test: a pipe whose writing end is driven by a worker thread.
class PipeSut {
 public:
  PipeSut(const std::string& name, const shmq::PipeOptions& options, std::uint64_t start) {
    auto [r, w] = shmq::detail::create_pipe_at(name, options, start);
    reader = std::move(r);
    writer_ = std::move(w);
    worker_ = std::thread([this] { work(); });
  }
  PipeSut(const PipeSut&) = delete;
  PipeSut& operator=(const PipeSut&) = delete;
  ~PipeSut() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    reader.close();  // a writer blocked on a full ring gets Status::closed
    worker_.join();
  }

  // Runs `job` on the writer thread, after the jobs posted before it.
  void post(std::function<void(Connection&)> job) {
    {
      std::lock_guard lock(mutex_);
      jobs_.push_back(std::move(job));
    }
    cv_.notify_all();
  }

  // Waits until the writer thread has run every posted job, receiving and discarding whatever
  // arrives meanwhile (so that a blocked send can finish).
  void settle() {
    for (;;) {
      {
        std::lock_guard lock(mutex_);
        if (jobs_.empty() && !busy_) return;
      }
      if (reader.poll(1ms)) {
        std::string discard;
        (void)reader.recv(discard);
      }
    }
  }

  std::string failures() {
    std::lock_guard lock(mutex_);
    return failures_;
  }
  void fail(const std::string& what) {
    std::lock_guard lock(mutex_);
    if (!stopping_) failures_ += what + "\n";
  }

  Connection reader;

 private:
  void work() {
    for (;;) {
      std::function<void(Connection&)> job;
      {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
        if (stopping_) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
        busy_ = true;
      }
      job(writer_);
      std::lock_guard lock(mutex_);
      busy_ = false;
    }
  }

  Connection writer_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void(Connection&)>> jobs_;
  bool busy_ = false;
  bool stopping_ = false;
  std::string failures_;
  std::thread worker_;
};

using Command = rc::state::Command<PipeModel, PipeSut>;

struct Send : Command {
  std::size_t size;
  explicit Send(const PipeModel& m)
      : size(*rc::gen::weightedOneOf<std::size_t>(
            {{6, rc::gen::inRange<std::size_t>(0, 64)},
             {3, rc::gen::inRange<std::size_t>(64, m.capacity + 1)},
             {2, rc::gen::inRange<std::size_t>(m.capacity, 4 * m.capacity + 1)}})) {}
  void apply(PipeModel& m) const override {
    if (!m.writer_closed) m.in_flight.push_back({m.next_id, size});
    ++m.next_id;
  }
  void run(const PipeModel& m, PipeSut& sut) const override {
    const std::uint64_t id = m.next_id;
    const Status expected = m.writer_closed ? Status::closed : Status::ok;
    const std::size_t n = size;
    sut.post([&sut, id, n, expected](Connection& w) {
      const Status s = w.send(message_bytes(id, n));
      if (s != expected) {
        sut.fail("send of message " + std::to_string(id) + ": " + std::string(shmq::to_string(s)) +
                 ", expected " + std::string(shmq::to_string(expected)));
      }
    });
  }
  void show(std::ostream& os) const override { os << "Send(" << size << " bytes)"; }
};

// Receives the next message, sometimes with a limit below its size (too_large: it stays).
struct Recv : Command {
  std::optional<std::size_t> limit;
  bool into_buffer;
  explicit Recv(const PipeModel& m)
      : limit(!m.in_flight.empty() && m.in_flight.front().size > 0 && *rc::gen::inRange(0, 5) == 0
                  ? std::optional<std::size_t>(
                        *rc::gen::inRange<std::size_t>(0, m.in_flight.front().size))
                  : std::nullopt),
        into_buffer(*rc::gen::arbitrary<bool>()) {}
  void checkPreconditions(const PipeModel& m) const override {
    RC_PRE(!m.in_flight.empty() || m.writer_closed);  // otherwise recv would wait forever
  }
  // Whether the limit refuses the next message (shrinking may have changed which one it is).
  bool refused(const PipeModel& m) const {
    return limit && !m.in_flight.empty() && m.in_flight.front().size > *limit;
  }
  void apply(PipeModel& m) const override {
    if (!m.in_flight.empty() && !refused(m)) m.in_flight.pop_front();
  }
  void run(const PipeModel& m, PipeSut& sut) const override {
    Status s;
    std::string got;
    if (into_buffer) {
      std::vector<std::byte> buffer(limit ? *limit
                                          : (m.in_flight.empty() ? 16 : m.in_flight.front().size));
      std::size_t n = 0;
      s = sut.reader.recv_bytes_into(buffer, n);
      if (s == Status::ok) got.assign(reinterpret_cast<const char*>(buffer.data()), n);
    } else {
      s = sut.reader.recv_bytes(got, limit ? *limit : Connection::npos);
    }
    if (m.in_flight.empty()) {
      RC_ASSERT(s == Status::closed);
    } else if (refused(m)) {
      RC_ASSERT(s == Status::too_large);
    } else {
      RC_ASSERT(s == Status::ok);
      const Msg& front = m.in_flight.front();
      RC_ASSERT(got.size() == front.size);
      RC_ASSERT(got == message_bytes(front.id, front.size));
    }
    const std::string failures = sut.failures();
    RC_ASSERT(failures.empty());
  }
  void show(std::ostream& os) const override {
    os << "Recv(" << (into_buffer ? "into" : "bytes");
    if (limit) os << ", limit " << *limit;
    os << ")";
  }
};

struct Poll : Command {
  void run(const PipeModel& m, PipeSut& sut) const override {
    if (!m.in_flight.empty() || m.writer_closed) {
      RC_ASSERT(sut.reader.poll(10s));  // the writer thread may still be on its way
    } else {
      RC_ASSERT(!sut.reader.poll(1ms));
    }
  }
  void show(std::ostream& os) const override { os << "Poll"; }
};

struct CloseWriter : Command {
  void checkPreconditions(const PipeModel& m) const override { RC_PRE(!m.writer_closed); }
  void apply(PipeModel& m) const override { m.writer_closed = true; }
  void run(const PipeModel&, PipeSut& sut) const override {
    sut.post([](Connection& w) { w.close(); });
  }
  void show(std::ostream& os) const override { os << "CloseWriter"; }
};

RC_GTEST_PROP(PipeModelTest, PipeBehavesLikeADequeOfWholeMessages, ()) {
  static int run = 0;
  PipeModel model;
  model.capacity = *rc::gen::element<std::uint64_t>(256, 1024, 4096);
  const bool near_wrap = *rc::gen::arbitrary<bool>();
  const std::uint64_t start = near_wrap
                                  ? std::numeric_limits<std::uint64_t>::max() -
                                        *rc::gen::inRange<std::uint64_t>(0, 8 * model.capacity)
                                  : 0;
  shmq::test::ScopedName name("pipe-model-" + std::to_string(++run));
  PipeSut sut(name.str(), {.capacity_bytes = model.capacity}, start);
  rc::state::check(model, sut, rc::state::gen::execOneOfWithArgs<Send, Recv, Poll, CloseWriter>());
  sut.settle();
  const std::string failures = sut.failures();
  RC_ASSERT(failures.empty());
}

TEST(PipeModelTest, SeedIsPrinted) {
  SUCCEED() << (kSeeded ? "seeded from SHMQ_SEED or the clock" : "RC_PARAMS given");
}

}  // namespace
