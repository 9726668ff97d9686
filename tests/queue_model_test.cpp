// Queue<T> against a model (a bounded std::deque), driven by rapidcheck's state machine testing:
// random capacities, message sizes and start positions (some just below the 2^64 wrap), for every
// kind, through several handles, with every non-blocking verb, claims, peeks and close.
#include <gtest/gtest.h>
// rapidcheck's gtest glue needs gtest first.
#include <rapidcheck/gtest.h>
#include <rapidcheck/state.h>

#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <limits>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "shmq/detail/access.hpp"
#include "shmq/queue.hpp"
#include "support/queue_test_util.hpp"
#include "support/test_support.hpp"

namespace {

using namespace std::chrono_literals;
using shmq::Consumers;
using shmq::Producers;
using shmq::Queue;
using shmq::Status;

const bool kSeeded = shmq::test::seed_rapidcheck("queue_model_test (rapidcheck)", 200);

// ---- elements ----

template <class T>
struct Elem;

template <>
struct Elem<std::string> {
  static constexpr bool kFixed = false;
  // Mostly sizes up to max_message, sometimes a few bytes over it.
  static std::string generate(std::uint32_t max_message) {
    const bool too_large = *rc::gen::inRange(0, 10) == 0;
    const auto n = too_large ? max_message + 1 + *rc::gen::inRange<std::size_t>(0, 3)
                             : *rc::gen::inRange<std::size_t>(0, max_message + 1);
    return *rc::gen::container<std::string>(n, rc::gen::arbitrary<char>());
  }
  static std::span<const std::byte> bytes(const std::string& v) {
    return std::as_bytes(std::span<const char>(v.data(), v.size()));
  }
  static std::string describe(const std::string& v) { return std::to_string(v.size()) + " bytes"; }
};

template <>
struct Elem<std::uint64_t> {
  static constexpr bool kFixed = true;
  static std::uint64_t generate(std::uint32_t) { return *rc::gen::arbitrary<std::uint64_t>(); }
  static std::span<const std::byte> bytes(const std::uint64_t& v) {
    return std::as_bytes(std::span<const std::uint64_t>(&v, 1));
  }
  static std::string describe(std::uint64_t v) { return std::to_string(v); }
};

// ---- model and system under test ----

template <class T>
struct Model {
  std::uint64_t capacity = 0;
  std::uint32_t max_message = 0;
  std::deque<std::optional<T>> slots;  // std::nullopt: a skip (an abandoned claim)
  bool closed = false;
  bool packed = false;  // a packed ring: an abandoned claim publishes nothing

  Status put_status(const T& v) const {
    if (closed) return Status::closed;
    if (Elem<T>::bytes(v).size() > max_message) return Status::too_large;
    if (slots.size() == capacity) return Status::full;
    return Status::ok;
  }
  Status claim_status() const {
    if (closed) return Status::closed;
    return slots.size() == capacity ? Status::full : Status::ok;
  }
  // A get: skips at the front are passed over (and freed); then the front message, or why none.
  std::pair<Status, std::optional<T>> get() {
    while (!slots.empty() && !slots.front())
      slots.pop_front();
    if (slots.empty()) return {closed ? Status::closed : Status::empty, std::nullopt};
    std::optional<T> v = std::move(slots.front());
    slots.pop_front();
    return {Status::ok, std::move(v)};
  }
};

template <class T>
struct Sut {
  std::vector<Queue<T>> producers;  // one handle on a single-producer queue, two otherwise
  std::vector<Queue<T>> consumers;
  Queue<T>& producer(int i) { return producers[static_cast<std::size_t>(i) % producers.size()]; }
  Queue<T>& consumer(int i) { return consumers[static_cast<std::size_t>(i) % consumers.size()]; }
};

void check_status(Status got, Status want) {
  RC_ASSERT(std::string(to_string(got)) == std::string(to_string(want)));
}

template <class T>
using Command = rc::state::Command<Model<T>, Sut<T>>;

template <class T>
struct TryPut : Command<T> {
  T value;
  int handle = *rc::gen::inRange(0, 2);
  explicit TryPut(const Model<T>& m) : value(Elem<T>::generate(m.max_message)) {}
  void apply(Model<T>& m) const override {
    if (m.put_status(value) == Status::ok) m.slots.push_back(value);
  }
  void run(const Model<T>& m, Sut<T>& s) const override {
    check_status(s.producer(handle).try_put(value), m.put_status(value));
  }
  void show(std::ostream& os) const override {
    os << "try_put(" << Elem<T>::describe(value) << ") on producer " << handle;
  }
};

template <class T>
struct PutForZero : Command<T> {
  T value;
  int handle = *rc::gen::inRange(0, 2);
  explicit PutForZero(const Model<T>& m) : value(Elem<T>::generate(m.max_message)) {}
  void apply(Model<T>& m) const override {
    if (m.put_status(value) == Status::ok) m.slots.push_back(value);
  }
  void run(const Model<T>& m, Sut<T>& s) const override {
    const Status want = m.put_status(value);
    check_status(s.producer(handle).put_for(value, 0ms),
                 want == Status::full ? Status::timeout : want);
  }
  void show(std::ostream& os) const override {
    os << "put_for(" << Elem<T>::describe(value) << ", 0ms) on producer " << handle;
  }
};

template <class T>
struct TryPutMany : Command<T> {
  std::vector<T> values;
  int handle = *rc::gen::inRange(0, 2);
  explicit TryPutMany(const Model<T>& m) {
    const int n = *rc::gen::inRange(0, 6);
    for (int i = 0; i < n; ++i)
      values.push_back(Elem<T>::generate(m.max_message));
  }
  // How many go in, and why the batch stops (ok: all went in).
  std::pair<std::size_t, Status> expected(Model<T>& m) const {
    std::size_t n = 0;
    for (const T& v : values) {
      if (const Status why = m.put_status(v); why != Status::ok) return {n, why};
      m.slots.push_back(v);
      ++n;
    }
    return {n, Status::ok};
  }
  void apply(Model<T>& m) const override { expected(m); }
  void run(const Model<T>& m, Sut<T>& s) const override {
    Model<T> after = m;
    const auto [want_n, want_status] = expected(after);
    std::size_t put = 0;
    check_status(s.producer(handle).try_put_many(values, put), want_status);
    RC_ASSERT(put == want_n);
  }
  void show(std::ostream& os) const override {
    os << "try_put_many(" << values.size() << " items) on producer " << handle;
  }
};

template <class T>
struct TryGet : Command<T> {
  int handle = *rc::gen::inRange(0, 2);
  void apply(Model<T>& m) const override { m.get(); }
  void run(const Model<T>& m, Sut<T>& s) const override {
    Model<T> after = m;
    const auto [want, value] = after.get();
    T out{};
    check_status(s.consumer(handle).try_get(out), want);
    if (want == Status::ok) RC_ASSERT(out == *value);
  }
  void show(std::ostream& os) const override { os << "try_get on consumer " << handle; }
};

template <class T>
struct GetForZero : Command<T> {
  int handle = *rc::gen::inRange(0, 2);
  void apply(Model<T>& m) const override { m.get(); }
  void run(const Model<T>& m, Sut<T>& s) const override {
    Model<T> after = m;
    const auto [want, value] = after.get();
    T out{};
    check_status(s.consumer(handle).get_for(out, 0ms),
                 want == Status::empty ? Status::timeout : want);
    if (want == Status::ok) RC_ASSERT(out == *value);
  }
  void show(std::ostream& os) const override { os << "get_for(0ms) on consumer " << handle; }
};

template <class T>
struct TryGetMany : Command<T> {
  std::size_t n = *rc::gen::inRange<std::size_t>(0, 6);
  int handle = *rc::gen::inRange(0, 2);
  // What comes out, and the status: ok if anything did (or no room was given), else why not.
  std::vector<T> expected(Model<T>& m, Status& why) const {
    std::vector<T> out;
    why = Status::ok;
    while (out.size() < n) {
      auto [status, value] = m.get();
      if (status != Status::ok) {
        if (out.empty()) why = status;
        break;
      }
      out.push_back(std::move(*value));
    }
    return out;
  }
  void apply(Model<T>& m) const override {
    Status why;
    expected(m, why);
  }
  void run(const Model<T>& m, Sut<T>& s) const override {
    Model<T> after = m;
    Status why = Status::ok;
    const std::vector<T> want = expected(after, why);
    std::vector<T> out(n);
    std::size_t got = 0;
    check_status(s.consumer(handle).try_get_many(out, got), why);
    RC_ASSERT(got == want.size());
    out.resize(got);
    RC_ASSERT(out == want);
  }
  void show(std::ostream& os) const override {
    os << "try_get_many(" << n << ") on consumer " << handle;
  }
};

template <class T>
struct ClaimCommit : Command<T> {
  T value;
  int handle = *rc::gen::inRange(0, 2);
  explicit ClaimCommit(const Model<T>& m) : value(Elem<T>::generate(m.max_message)) {}
  bool too_large(const Model<T>& m) const { return Elem<T>::bytes(value).size() > m.max_message; }
  void apply(Model<T>& m) const override {
    if (m.claim_status() != Status::ok) return;
    if (too_large(m)) {
      m.slots.push_back(std::nullopt);  // a commit that does not fit publishes a skip
    } else {
      m.slots.push_back(value);
    }
  }
  void run(const Model<T>& m, Sut<T>& s) const override {
    typename Queue<T>::PutClaim claim;
    check_status(s.producer(handle).try_claim(claim), m.claim_status());
    if (m.claim_status() != Status::ok) return;
    RC_ASSERT(claim.buffer().size() == m.max_message);
    const auto bytes = Elem<T>::bytes(value);
    std::memcpy(claim.buffer().data(), bytes.data(), std::min(bytes.size(), claim.buffer().size()));
    check_status(claim.commit(bytes.size()), too_large(m) ? Status::too_large : Status::ok);
  }
  void show(std::ostream& os) const override {
    os << "try_claim + commit(" << Elem<T>::describe(value) << ") on producer " << handle;
  }
};

template <class T>
struct ClaimAbandon : Command<T> {
  int handle = *rc::gen::inRange(0, 2);
  void apply(Model<T>& m) const override {
    if (m.claim_status() == Status::ok && !m.packed) m.slots.push_back(std::nullopt);
  }
  void run(const Model<T>& m, Sut<T>& s) const override {
    typename Queue<T>::PutClaim claim;
    check_status(s.producer(handle).try_claim(claim), m.claim_status());
  }  // dropped uncommitted: a skip (nothing, on a packed ring)
  void show(std::ostream& os) const override { os << "try_claim + abandon on producer " << handle; }
};

template <class T>
struct PeekRelease : Command<T> {
  int handle = *rc::gen::inRange(0, 2);
  void apply(Model<T>& m) const override { m.get(); }
  void run(const Model<T>& m, Sut<T>& s) const override {
    Model<T> after = m;
    const auto [want, value] = after.get();
    typename Queue<T>::GetClaim claim;
    check_status(s.consumer(handle).try_get(claim), want);
    if (want != Status::ok) return;
    const auto expected = Elem<T>::bytes(*value);
    const auto data = claim.data();
    RC_ASSERT(data.size() == expected.size());
    RC_ASSERT(std::memcmp(data.data(), expected.data(), data.size()) == 0);
    claim.release();
  }
  void show(std::ostream& os) const override {
    os << "try_get(GetClaim&) + release on consumer " << handle;
  }
};

// Closes one time in four: a close ends the interesting part of a run, so keep it rare.
template <class T>
struct MaybeClose : Command<T> {
  bool really = *rc::gen::inRange(0, 4) == 0;
  int handle = *rc::gen::inRange(0, 2);
  void apply(Model<T>& m) const override {
    if (really) m.closed = true;
  }
  void run(const Model<T>&, Sut<T>& s) const override {
    if (really) (handle == 0 ? s.producer(0) : s.consumer(0)).close();
  }
  void show(std::ostream& os) const override { os << (really ? "close" : "(no close)"); }
};

template <class T>
struct CheckState : Command<T> {
  int handle = *rc::gen::inRange(0, 2);
  void run(const Model<T>& m, Sut<T>& s) const override {
    const Queue<T>& q = handle == 0 ? s.producer(0) : s.consumer(0);
    RC_ASSERT(q.size() == m.slots.size());
    RC_ASSERT(q.empty() == m.slots.empty());
    RC_ASSERT(q.full() == (m.slots.size() == m.capacity));
    RC_ASSERT(q.closed() == m.closed);
    RC_ASSERT(q.capacity() == m.capacity);
  }
  void show(std::ostream& os) const override { os << "check size/empty/full/closed"; }
};

template <class T>
void check_against_model(Producers producers, Consumers consumers, bool packed = true) {
  const auto requested = *rc::gen::inRange<std::uint64_t>(1, 65);
  const std::uint32_t max_message =
      Elem<T>::kFixed ? static_cast<std::uint32_t>(sizeof(T)) : *rc::gen::inRange(1U, 257U);
  const bool near_wrap = *rc::gen::arbitrary<bool>();
  const std::uint64_t start = near_wrap ? std::numeric_limits<std::uint64_t>::max() -
                                              *rc::gen::inRange<std::uint64_t>(0, 130)
                                        : 0;

  shmq::test::ScopedName name("model");
  shmq::QueueOptions o;
  o.capacity = requested;
  o.producers = producers;
  o.consumers = consumers;
  o.max_message = max_message;
  o.packed = packed;
  o.wait.spin_iterations = 0;
  o.wait.sleep_slice = 1ms;

  Sut<T> sut;
  sut.producers.push_back(shmq::detail::create_queue_at<T>(name.str(), o, start));
  if (producers == Producers::many) sut.producers.push_back(Queue<T>::open(name.str(), o.wait));
  sut.consumers.push_back(Queue<T>::open(name.str(), o.wait));
  if (consumers == Consumers::many) sut.consumers.push_back(Queue<T>::open(name.str(), o.wait));

  Model<T> model;
  model.capacity = sut.producer(0).capacity();
  model.max_message = max_message;
  model.packed =
      Elem<T>::kFixed && packed && producers == Producers::one && consumers == Consumers::one;
  RC_ASSERT(shmq::detail::core_of(sut.producer(0)).ring().packed() == model.packed);
  RC_ASSERT(std::has_single_bit(model.capacity));
  RC_ASSERT(model.capacity >= requested);
  RC_ASSERT(model.capacity < 2 * std::max<std::uint64_t>(requested, 2));
  RC_ASSERT(sut.producer(0).max_message() == max_message);

  rc::state::check(
      model, sut,
      rc::state::gen::execOneOfWithArgs<
          TryPut<T>, PutForZero<T>, TryPutMany<T>, TryGet<T>, GetForZero<T>, TryGetMany<T>,
          ClaimCommit<T>, ClaimAbandon<T>, PeekRelease<T>, MaybeClose<T>, CheckState<T>>());
}

RC_GTEST_PROP(QueueModel, SpscStringQueueBehavesLikeABoundedDeque, ()) {
  check_against_model<std::string>(Producers::one, Consumers::one);
}

RC_GTEST_PROP(QueueModel, MpscStringQueueBehavesLikeABoundedDeque, ()) {
  check_against_model<std::string>(Producers::many, Consumers::one);
}

RC_GTEST_PROP(QueueModel, SpmcStringQueueBehavesLikeABoundedDeque, ()) {
  check_against_model<std::string>(Producers::one, Consumers::many);
}

RC_GTEST_PROP(QueueModel, MpmcStringQueueBehavesLikeABoundedDeque, ()) {
  check_against_model<std::string>(Producers::many, Consumers::many);
}

RC_GTEST_PROP(QueueModel, FixedSizeQueueOfEveryKindBehavesLikeABoundedDeque, ()) {
  const bool mp = *rc::gen::arbitrary<bool>();
  const bool mc = *rc::gen::arbitrary<bool>();
  const bool packed = *rc::gen::arbitrary<bool>();  // SPSC: packed ring or one slot per message
  check_against_model<std::uint64_t>(mp ? Producers::many : Producers::one,
                                     mc ? Consumers::many : Consumers::one, packed);
}

TEST(QueueModel, RapidcheckWasSeeded) {
  EXPECT_TRUE(kSeeded || std::getenv("RC_PARAMS") != nullptr);
}

}  // namespace
