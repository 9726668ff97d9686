// Queue<T> (include/shmq/queue.hpp, runtime/queue_core.cpp) in one process: setup calls, element
// types, every verb, closing, batches, zero-copy claims, roles and positions through the wrap.
// Cross-process blocking and crashes are in queue_process_test.cpp.
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <future>
#include <limits>
#include <numeric>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "shmq/detail/access.hpp"
#include "shmq/inspect.hpp"
#include "shmq/queue.hpp"
#include "shmq/shmq.hpp"
#include "support/queue_test_util.hpp"
#include "support/test_support.hpp"

namespace {

using namespace std::chrono_literals;
using shmq::Consumers;
using shmq::Errc;
using shmq::Producers;
using shmq::Queue;
using shmq::QueueOptions;
using shmq::Status;
using shmq::detail::core_of;
using shmq::test::expect_error;
using shmq::test::ScopedName;

using Clock = std::chrono::steady_clock;
using Bytes = std::vector<std::byte>;

// Off the public surface (issue 11): a Queue's core and the ring's first position are reached
// only through detail/access.hpp (detail::core_of, detail::create_queue_at).
template <class Q>
concept HasPublicCore = requires(const Q& q) {
  q.core();
};
template <class O>
concept HasStartPosition = requires(const O& o) {
  o.start_position;
};
static_assert(!HasPublicCore<Queue<int>> && !HasPublicCore<Queue<std::string>>);
static_assert(!HasStartPosition<QueueOptions>);

QueueOptions options(std::uint64_t capacity, Producers p = Producers::many,
                     Consumers c = Consumers::many, std::uint32_t max_message = 0) {
  QueueOptions o;
  o.packed = false;  // SPSC queues of fixed T get one slot per message here; PackedQueue.* pack
  o.capacity = capacity;
  o.producers = p;
  o.consumers = c;
  o.max_message = max_message;
  o.wait.spin_iterations = 100;
  o.wait.sleep_slice = 5ms;
  return o;
}

Bytes bytes_of(std::initializer_list<int> v) {
  Bytes b;
  for (const int x : v)
    b.push_back(static_cast<std::byte>(x));
  return b;
}

// ---- setup ----

TEST(QueueSetup, OpenedHandleSeesWhatTheCreatorPut) {
  ScopedName name("q-open");
  auto creator = Queue<int>::create(name.str(), options(8));
  auto opened = Queue<int>::open(name.str());
  EXPECT_EQ(opened.name(), name.str());
  EXPECT_EQ(opened.capacity(), 8U);
  ASSERT_EQ(creator.try_put(42), Status::ok);
  int v = 0;
  ASSERT_EQ(opened.try_get(v), Status::ok);
  EXPECT_EQ(v, 42);
  ASSERT_EQ(opened.try_put(43), Status::ok);
  ASSERT_EQ(creator.try_get(v), Status::ok);
  EXPECT_EQ(v, 43);
}

TEST(QueueSetup, OpenOrCreateCreatesOnceThenOpensWhenTheOptionsAgree) {
  ScopedName name("q-ooc");
  auto first = Queue<int>::open_or_create(name.str(), options(16));
  auto second = Queue<int>::open_or_create(name.str(), options(10));  // rounds up to 16
  EXPECT_EQ(first.capacity(), 16U);
  EXPECT_EQ(second.capacity(), 16U);
  ASSERT_EQ(first.try_put(1), Status::ok);
  int v = 0;
  ASSERT_EQ(second.try_get(v), Status::ok);
  EXPECT_EQ(v, 1);
}

// Issue 11: open_or_create used to return the old queue silently (asked 8/64, got 16/256).
TEST(QueueSetup, OpenOrCreateRefusesOtherOptionsNamingEachField) {
  ScopedName name("q-ooc-mismatch");
  QueueOptions made;
  made.capacity = 16;
  made.max_message = 256;
  auto first = Queue<std::string>::open_or_create(name.str(), made);
  QueueOptions asked;
  asked.capacity = 8;
  asked.max_message = 64;
  expect_error([&] { Queue<std::string>::open_or_create(name.str(), asked); },
               Errc::options_mismatch, name.str(),
               "capacity 16 (asked for 8), max_message 256 (asked for 64)");
  asked = made;
  asked.consumers = Consumers::one;
  expect_error([&] { Queue<std::string>::open_or_create(name.str(), asked); },
               Errc::options_mismatch, name.str(), "consumers many (asked for one)");
  // open() takes it as it is.
  EXPECT_EQ(Queue<std::string>::open(name.str()).capacity(), 16U);
}

TEST(QueueSetup, OpenOrCreateStillChecksTheElementType) {
  ScopedName name("q-ooc-type");
  auto first = Queue<int>::open_or_create(name.str());
  expect_error([&] { Queue<double>::open_or_create(name.str()); }, Errc::type_mismatch, name);
}

TEST(QueueSetup, RemoveReturnsWhetherTheNameExisted) {
  ScopedName name("q-remove");
  EXPECT_FALSE(Queue<int>::remove(name.str()));
  { auto q = Queue<int>::create(name.str()); }
  EXPECT_TRUE(Queue<int>::remove(name.str()));
  EXPECT_FALSE(Queue<int>::remove(name.str()));
  expect_error([&] { Queue<int>::open(name.str()); }, Errc::not_found, name);
}

TEST(QueueSetup, CreatingAnExistingQueueReportsAlreadyExists) {
  ScopedName name("q-exists");
  auto q = Queue<int>::create(name.str());
  expect_error([&] { Queue<int>::create(name.str()); }, Errc::already_exists, name);
}

// Errors that say what to do next (issue 11).
TEST(QueueSetup, AlreadyExistsSaysWhoIsAttachedAndWhatToDo) {
  ScopedName name("q-exists-hint");
  auto q = Queue<int>::create(name.str());
  auto other = Queue<int>::open(name.str());
  expect_error([&] { Queue<int>::create(name.str()); }, Errc::already_exists, name,
               "2 attachments are open");
  expect_error([&] { Queue<int>::create(name.str()); }, Errc::already_exists, name,
               "open_or_create() to share it, or remove it: shmq rm " + name.str());
}

// A claim that still holds a slot is not overwritten (its slot would be held for ever).
TEST(QueueSetup, AClaimStillHoldingASlotIsBusy) {
  ScopedName name("q-claim-busy");
  auto q = Queue<std::string>::create(name.str(), options(8));
  Queue<std::string>::PutClaim put;
  ASSERT_EQ(q.try_claim(put), Status::ok);
  EXPECT_EQ(q.try_claim(put), Status::busy);
  ASSERT_EQ(put.commit(0), Status::ok);
  ASSERT_EQ(q.try_put(std::string("x")), Status::ok);
  Queue<std::string>::GetClaim got;
  ASSERT_EQ(q.try_get(got), Status::ok);
  EXPECT_EQ(q.try_get(got), Status::busy);
  got.release();
  ASSERT_EQ(q.try_get(got), Status::ok);
  EXPECT_EQ(got.data().size(), 1U);
}

TEST(QueueSetup, NotFoundSuggestsWaitingForTheCreator) {
  ScopedName name("q-missing-hint");
  expect_error([&] { Queue<int>::open(name.str()); }, Errc::not_found, name,
               "open it with a timeout");
}

// Issue 11: a consumer started before its producer waits for the name (bounded).
TEST(QueueSetup, OpenWithATimeoutWaitsForTheCreator) {
  ScopedName name("q-open-wait");
  std::atomic<pid_t> tid{0};
  auto opener = std::async(std::launch::async, [&] {
    tid.store(static_cast<pid_t>(::syscall(SYS_gettid)));
    auto q = Queue<int>::open(name.str(), std::chrono::seconds(60));
    int v = 0;
    return q.get_for(v, std::chrono::seconds(60)) == Status::ok ? v : -1;
  });
  // The opener is waiting (asleep between looks at the name) before the queue exists.
  ASSERT_TRUE(shmq::test::wait_until(
      [&] { return tid.load() != 0 && shmq::test::thread_state(tid.load()) == 'S'; }));
  auto q = Queue<int>::create(name.str());
  ASSERT_EQ(q.put(7), Status::ok);
  EXPECT_EQ(opener.get(), 7);
}

TEST(QueueSetup, OpenWithATimeoutSaysHowLongItWaited) {
  ScopedName name("q-open-wait-none");
  expect_error([&] { Queue<int>::open(name.str(), std::chrono::milliseconds(20)); },
               Errc::not_found, name, "appeared within 20 ms");
}

// The POSIX habit: "/jobs" and "jobs" are one segment.
TEST(QueueSetup, ALeadingSlashNamesTheSameSegment) {
  ScopedName name("q-slash");
  auto q = Queue<int>::create("/" + name.str());
  EXPECT_EQ(q.name(), name.str());
  auto opened = Queue<int>::open(name.str());
  ASSERT_EQ(q.try_put(5), Status::ok);
  int v = 0;
  ASSERT_EQ(opened.try_get(v), Status::ok);
  EXPECT_EQ(v, 5);
  EXPECT_TRUE(Queue<int>::remove("/" + name.str()));
  expect_error([&] { Queue<int>::create("//" + name.str()); }, Errc::invalid_name,
               "/" + name.str());
}

TEST(QueueSetup, CapacityIsRoundedUpToAPowerOfTwo) {
  const std::pair<std::uint64_t, std::uint64_t> cases[] = {
      {2, 2}, {3, 4}, {4, 4}, {5, 8}, {1000, 1024}, {1024, 1024}, {1025, 2048}};
  for (const auto& [asked, got] : cases) {
    ScopedName name("q-cap");
    auto q = Queue<std::uint8_t>::create(name.str(), options(asked));
    EXPECT_EQ(q.capacity(), got) << "asked " << asked;
  }
}

// A multi side's stamp keeps a position modulo 2^30: at 2^30 slots a slot's previous-lap stamp
// would name the current position (INV-R3). Such queues stop at 2^29; SPSC queues keep 2^30.
TEST(QueueSetup, QueuesWithSeveralProducersOrConsumersStopBelowTheStampsRange) {
  for (const auto& [producers, consumers] :
       {std::pair{shmq::Producers::many, shmq::Consumers::one},
        std::pair{shmq::Producers::one, shmq::Consumers::many},
        std::pair{shmq::Producers::many, shmq::Consumers::many}}) {
    ScopedName name("q-cap-stamp");
    shmq::QueueOptions o = options((1ULL << 29) + 1);
    o.producers = producers;
    o.consumers = consumers;
    expect_error([&] { Queue<std::uint8_t>::create(name.str(), o); }, Errc::invalid_argument, name,
                 "queues with several producers or consumers");
  }
}

TEST(QueueSetup, CapacityOneHoldsAtLeastOneMessageWithoutOverwriting) {
  ScopedName name("q-cap1");
  auto q = Queue<int>::create(name.str(), options(1));
  EXPECT_GE(q.capacity(), 1U);
  std::vector<int> put;
  for (int i = 0; i < 8 && q.try_put(i) == Status::ok; ++i)
    put.push_back(i);
  EXPECT_EQ(put.size(), q.capacity()) << "exactly capacity() messages fit";
  for (const int expected : put) {
    int v = -1;
    ASSERT_EQ(q.try_get(v), Status::ok);
    EXPECT_EQ(v, expected);
  }
  int v = -1;
  EXPECT_EQ(q.try_get(v), Status::empty);
}

TEST(QueueSetup, ImpossibleSizesAreInvalidArguments) {
  ScopedName name("q-invalid");
  expect_error([&] { Queue<int>::create(name.str(), options(0)); }, Errc::invalid_argument, name,
               "capacity 0");
  expect_error([&] { Queue<int>::create(name.str(), options((1ULL << 30) + 1)); },
               Errc::invalid_argument, name, "capacity");
  expect_error(
      [&] {
        Queue<std::string>::create(name.str(),
                                   options(4, Producers::many, Consumers::many, (64U << 20) + 1));
      },
      Errc::invalid_argument, name, "max_message");
  EXPECT_FALSE(Queue<int>::remove(name.str())) << "a refused create leaves nothing behind";
}

// A Status prints as its name (issue 11), so a failed EXPECT_EQ(s, Status::ok) says "full".
TEST(QueueStatus, EveryStatusPrintsItsName) {
  const std::pair<Status, const char*> names[] = {
      {Status::ok, "ok"},           {Status::empty, "empty"},
      {Status::full, "full"},       {Status::timeout, "timeout"},
      {Status::closed, "closed"},   {Status::too_large, "too_large"},
      {Status::corrupt, "corrupt"}, {Status::role_taken, "role_taken"},
      {Status::busy, "busy"},       {Status::interrupted, "interrupted"},
  };
  static_assert(std::size(names) == static_cast<std::size_t>(Status::interrupted) + 1,
                "a new Status needs a name here, in to_string() and in docs/status.md");
  for (const auto& [status, name] : names) {
    std::ostringstream os;
    os << status;
    EXPECT_EQ(os.str(), name);
  }
}

TEST(QueueSetup, ByteQueuesDefaultTo4096ByteMessages) {
  ScopedName name("q-default-max");
  auto q = Queue<std::string>::create(name.str(), options(4));
  EXPECT_EQ(q.max_message(), 4096U);
  ScopedName fixed("q-fixed-max");
  auto f =
      Queue<std::uint64_t>::create(fixed.str(), options(4, Producers::many, Consumers::many, 999));
  EXPECT_EQ(f.max_message(), 8U) << "max_message is ignored for fixed-size elements";
}

TEST(QueueSetup, OpeningWithAnotherElementTypeIsATypeMismatch) {
  ScopedName ints("q-type-int");
  ScopedName strings("q-type-str");
  auto qi = Queue<int>::create(ints.str());
  auto qs = Queue<std::string>::create(strings.str());
  expect_error([&] { Queue<double>::open(ints.str()); }, Errc::type_mismatch, ints,
               "fixed-size elements of 4 bytes");
  expect_error([&] { Queue<std::string>::open(ints.str()); }, Errc::type_mismatch, ints);
  expect_error([&] { Queue<Bytes>::open(ints.str()); }, Errc::type_mismatch, ints);
  expect_error([&] { Queue<int>::open(strings.str()); }, Errc::type_mismatch, strings,
               "byte messages");
  EXPECT_NO_THROW(Queue<Bytes>::open(strings.str())) << "both are byte messages";
}

TEST(QueueSetup, AnotherTypeOfTheSameSizeIsATypeMismatchNamingBoth) {
  ScopedName name("q-type-same-size");
  auto made = Queue<double>::create(name.str());
  expect_error([&] { Queue<std::int64_t>::open(name.str()); }, Errc::type_mismatch, name,
               "holds <double>, opened as <long>");
  expect_error([&] { Queue<std::int64_t>::open_or_create(name.str()); }, Errc::type_mismatch, name,
               "holds <double>");
  EXPECT_NO_THROW(Queue<double>::open(name.str()));
  EXPECT_EQ(shmq::inspect(name.str()).queue->element_type, "double");
}

TEST(QueueSetup, ASegmentWithNoRecordedTypeOpensAsAnyTypeOfItsSize) {
  ScopedName name("q-type-unrecorded");
  {
    auto made = Queue<double>::create(name.str());
    ASSERT_EQ(made.try_put(0.5), Status::ok);
  }
  // As made by an older build (the field was zero padding) or a creator that named no type.
  shmq::test::poke<std::uint64_t>(
      name, shmq::detail::kBodyOffset + offsetof(shmq::detail::QueueControl, element_type), 0);
  EXPECT_EQ(shmq::inspect(name.str()).queue->element_type, "") << "not recorded";
  auto q = Queue<std::uint64_t>::open(name.str());
  std::uint64_t bits = 0;
  ASSERT_EQ(q.try_get(bits), Status::ok);
  EXPECT_EQ(bits, std::bit_cast<std::uint64_t>(0.5));
}

TEST(QueueHostile, AnUnprintableRecordedTypeNameIsNotEchoed) {
  ScopedName name("q-type-hostile-name");
  { auto made = Queue<double>::create(name.str()); }
  const std::size_t at =
      shmq::detail::kBodyOffset + offsetof(shmq::detail::QueueControl, element_type_name);
  shmq::test::poke<std::uint64_t>(name, at, 0x0A1B7F0102030405ULL);  // control bytes
  expect_error([&] { Queue<std::int64_t>::open(name.str()); }, Errc::type_mismatch, name,
               "holds <another type>, opened as <long>");
  EXPECT_EQ(shmq::inspect(name.str()).queue->element_type, "") << "not shown either";
}

// ---- element types ----

struct Point {
  std::int32_t x;
  double y;
  char tag[5];
  bool operator==(const Point&) const = default;
};

TEST(QueueElements, TriviallyCopyableStructsRoundTrip) {
  ScopedName name("q-struct");
  auto q = Queue<Point>::create(name.str(), options(4));
  const Point p{-7, 3.25, {'a', 'b', 'c', 'd', '\0'}};
  ASSERT_EQ(q.try_put(p), Status::ok);
  Point out{};
  ASSERT_EQ(q.try_get(out), Status::ok);
  EXPECT_EQ(out, p);
  EXPECT_EQ(q.max_message(), sizeof(Point));
}

TEST(QueueElements, StringsOfEveryLengthUpToMaxMessageRoundTrip) {
  ScopedName name("q-strings");
  auto q =
      Queue<std::string>::create(name.str(), options(4, Producers::many, Consumers::many, 300));
  // Every length up to 40 (the inline copies of 1-3, 4-7 and 8-16 bytes and their edges), then
  // sparser.
  for (std::size_t n = 0; n <= 300; n += n < 40 ? 1 : 1 + n / 8) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i)
      s[i] = static_cast<char>((i * 31 + n) & 0xFF);
    ASSERT_EQ(q.try_put(s), Status::ok) << n;
    std::string out = "stale contents";
    ASSERT_EQ(q.try_get(out), Status::ok);
    EXPECT_EQ(out, s) << n;
  }
}

TEST(QueueElements, TheInlineByteCopyWritesExactlyItsRange) {
  for (std::size_t n = 0; n <= 40; ++n) {
    std::array<std::byte, 64> src{};
    for (std::size_t i = 0; i < src.size(); ++i)
      src[i] = static_cast<std::byte>(i + 1);
    std::array<std::byte, 64> dst{};
    dst.fill(std::byte{0xEE});
    shmq::detail::copy_bytes(dst.data() + 8, src.data() + 3, n);
    for (std::size_t i = 0; i < dst.size(); ++i) {
      const bool inside = i >= 8 && i < 8 + n;
      EXPECT_EQ(dst[i], inside ? src[i - 8 + 3] : std::byte{0xEE}) << "n " << n << " byte " << i;
    }
  }
}

TEST(QueueElements, ByteVectorsRoundTrip) {
  ScopedName name("q-bytes");
  auto q = Queue<Bytes>::create(name.str(), options(4, Producers::many, Consumers::many, 16));
  const Bytes b = bytes_of({0, 1, 255, 128, 7});
  ASSERT_EQ(q.try_put(b), Status::ok);
  ASSERT_EQ(q.try_put(Bytes{}), Status::ok);
  Bytes out(100, std::byte{9});
  ASSERT_EQ(q.try_get(out), Status::ok);
  EXPECT_EQ(out, b);
  ASSERT_EQ(q.try_get(out), Status::ok);
  EXPECT_TRUE(out.empty());
}

TEST(QueueElements, MessageLargerThanMaxMessageIsTooLargeAndNothingIsPut) {
  ScopedName name("q-too-large");
  auto q = Queue<std::string>::create(name.str(), options(4, Producers::many, Consumers::many, 10));
  EXPECT_EQ(q.try_put(std::string(10, 'a')), Status::ok);
  EXPECT_EQ(q.try_put(std::string(11, 'b')), Status::too_large);
  EXPECT_EQ(q.put(std::string(11, 'b')), Status::too_large) << "blocking put does not wait";
  EXPECT_EQ(q.put_for(std::string(1000, 'b'), 1s), Status::too_large);
  EXPECT_EQ(q.size(), 1U);
  std::string out;
  ASSERT_EQ(q.try_get(out), Status::ok);
  EXPECT_EQ(out, std::string(10, 'a'));
  EXPECT_EQ(q.try_get(out), Status::empty);
}

// ---- non-blocking and bounded verbs ----

TEST(QueueVerbs, TryPutReportsFullAndTryGetReportsEmpty) {
  ScopedName name("q-full-empty");
  auto q = Queue<int>::create(name.str(), options(4));
  int v = 0;
  EXPECT_EQ(q.try_get(v), Status::empty);
  EXPECT_TRUE(q.empty());
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(q.size(), static_cast<std::size_t>(i));
    ASSERT_EQ(q.try_put(i), Status::ok);
    EXPECT_FALSE(q.empty());
  }
  EXPECT_TRUE(q.full());
  EXPECT_EQ(q.try_put(99), Status::full);
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(q.try_get(v), Status::ok);
    EXPECT_EQ(v, i);
    EXPECT_FALSE(q.full());
  }
  EXPECT_EQ(q.try_get(v), Status::empty);
  EXPECT_TRUE(q.empty());
}

TEST(QueueVerbs, PutForOnAFullQueueTimesOutNoEarlierThanItsTimeout) {
  ScopedName name("q-put-for");
  auto q = Queue<int>::create(name.str(), options(2));
  ASSERT_EQ(q.try_put(1), Status::ok);
  ASSERT_EQ(q.try_put(2), Status::ok);
  const auto start = Clock::now();
  EXPECT_EQ(q.put_for(3, 50ms), Status::timeout);
  const auto waited = Clock::now() - start;
  EXPECT_GE(waited, 50ms);
  EXPECT_LT(waited, 10s);
  EXPECT_EQ(q.size(), 2U);
  EXPECT_GE(core_of(q).counters().timeouts.load(), 1U);
}

TEST(QueueVerbs, GetForOnAnEmptyQueueTimesOutNoEarlierThanItsTimeout) {
  ScopedName name("q-get-for");
  auto q = Queue<std::string>::create(name.str(), options(2));
  std::string out = "untouched";
  const auto start = Clock::now();
  EXPECT_EQ(q.get_for(out, 50ms), Status::timeout);
  const auto waited = Clock::now() - start;
  EXPECT_GE(waited, 50ms);
  EXPECT_LT(waited, 10s);
  EXPECT_GE(core_of(q).counters().sleeps.load(), 1U) << "it slept rather than spun";
}

TEST(QueueVerbs, UntilADeadlineInThePastTriesOnce) {
  ScopedName name("q-until-past");
  auto q = Queue<int>::create(name.str(), options(2));
  int v = 0;
  EXPECT_EQ(q.get_until(v, Clock::now() - 1s), Status::timeout);
  EXPECT_EQ(q.put_until(5, Clock::now() - 1s), Status::ok) << "there was room";
  EXPECT_EQ(q.get_until(v, Clock::now() - 1s), Status::ok) << "there was a message";
  EXPECT_EQ(v, 5);
  EXPECT_EQ(q.get_for(v, -5s), Status::timeout);
  EXPECT_EQ(q.get_for(v, 0ms), Status::timeout);
}

TEST(QueueVerbs, BoundedVerbsSucceedAtOnceWhenTheyCan) {
  ScopedName name("q-bounded-ok");
  auto q = Queue<int>::create(name.str(), options(2));
  EXPECT_EQ(q.put_for(1, 10s), Status::ok);
  EXPECT_EQ(q.put(2), Status::ok);
  int v = 0;
  EXPECT_EQ(q.get_for(v, 10s), Status::ok);
  EXPECT_EQ(v, 1);
  EXPECT_EQ(q.get(v), Status::ok);
  EXPECT_EQ(v, 2);
}

TEST(QueueVerbs, HugeTimeoutsSaturateInsteadOfOverflowing) {
  using shmq::detail::Deadline;
  using shmq::detail::deadline_after;
  EXPECT_EQ(deadline_after(std::chrono::hours::max()), Deadline::max());
  EXPECT_EQ(deadline_after(std::chrono::nanoseconds::max()), Deadline::max());
  const auto past = deadline_after(-1h);
  EXPECT_LE(past, Clock::now());
  const auto before = Clock::now();
  const auto soon = deadline_after(1s);
  const auto after = Clock::now();
  EXPECT_GE(soon, before + 1s);
  EXPECT_LE(soon, after + 1s);
}

// ---- close ----

TEST(QueueClose, PutsAfterCloseReportClosed) {
  ScopedName name("q-close-put");
  auto q = Queue<int>::create(name.str(), options(4));
  auto other = Queue<int>::open(name.str());
  other.close();
  EXPECT_TRUE(q.closed());
  EXPECT_TRUE(other.closed());
  EXPECT_EQ(q.try_put(1), Status::closed);
  EXPECT_EQ(q.put(1), Status::closed);
  EXPECT_EQ(q.put_for(1, 1s), Status::closed);
  const std::array<int, 3> items{1, 2, 3};
  std::size_t n = 99;
  EXPECT_EQ(q.try_put_many(items, n), Status::closed);
  EXPECT_EQ(n, 0U);
  n = 99;
  EXPECT_EQ(q.put_many(items, n), Status::closed);
  EXPECT_EQ(n, 0U);
  Queue<int>::PutClaim claim;
  EXPECT_EQ(q.try_claim(claim), Status::closed);
  EXPECT_FALSE(claim);
  EXPECT_EQ(q.size(), 0U);
}

TEST(QueueClose, GetDrainsThenReportsClosedAfterClose) {
  ScopedName name("q-close-get");
  auto q = Queue<std::string>::create(name.str(), options(8));
  for (const char* s : {"a", "b", "c"})
    ASSERT_EQ(q.try_put(s), Status::ok);
  q.close();
  q.close();  // idempotent
  std::string out;
  ASSERT_EQ(q.try_get(out), Status::ok);
  EXPECT_EQ(out, "a");
  ASSERT_EQ(q.get(out), Status::ok);
  EXPECT_EQ(out, "b");
  ASSERT_EQ(q.get_for(out, 1s), Status::ok);
  EXPECT_EQ(out, "c");
  EXPECT_EQ(q.try_get(out), Status::closed);
  EXPECT_EQ(q.get(out), Status::closed) << "a blocking get on a closed, drained queue returns";
  EXPECT_EQ(q.get_for(out, 10s), Status::closed);
  std::array<std::string, 2> many;
  std::size_t got = 9;
  EXPECT_EQ(q.get_many(many, got), Status::closed);
  EXPECT_EQ(got, 0U);
  got = 9;
  EXPECT_EQ(q.try_get_many(many, got), Status::closed);
  EXPECT_EQ(got, 0U);
  Queue<std::string>::GetClaim in_place;
  EXPECT_EQ(q.try_get(in_place), Status::closed);
  EXPECT_EQ(q.get(in_place), Status::closed);
  EXPECT_EQ(core_of(q).counters().closes.load(), 2U);
}

TEST(QueueClose, ClosedStateIsSeenByHandlesOpenedLater) {
  ScopedName name("q-close-later");
  {
    auto q = Queue<int>::create(name.str(), options(4));
    ASSERT_EQ(q.try_put(1), Status::ok);
    q.close();
  }
  auto later = Queue<int>::open(name.str());
  EXPECT_TRUE(later.closed());
  int v = 0;
  EXPECT_EQ(later.try_get(v), Status::ok);
  EXPECT_EQ(v, 1);
  EXPECT_EQ(later.try_get(v), Status::closed);
  EXPECT_EQ(later.try_put(2), Status::closed);
}

// ---- batches ----

TEST(QueueBatch, TryPutManyPutsWhatFitsInOrder) {
  ScopedName name("q-try-put-many");
  auto q = Queue<int>::create(name.str(), options(4));
  const std::array<int, 6> items{10, 11, 12, 13, 14, 15};
  std::size_t n = 0;
  EXPECT_EQ(q.try_put_many(items, n), Status::full) << "stopped: the queue is full";
  EXPECT_EQ(n, 4U);
  EXPECT_EQ(q.try_put_many(items, n), Status::full);
  EXPECT_EQ(n, 0U);
  std::array<int, 3> out{};
  EXPECT_EQ(q.try_get_many(out, n), Status::ok);
  EXPECT_EQ(n, 3U);
  EXPECT_EQ(out, (std::array<int, 3>{10, 11, 12}));
  EXPECT_EQ(q.try_get_many(out, n), Status::ok);
  EXPECT_EQ(n, 1U);
  EXPECT_EQ(out[0], 13);
  EXPECT_EQ(q.try_get_many(out, n), Status::empty);
  EXPECT_EQ(n, 0U);
  EXPECT_EQ(q.try_get_many(std::span<int>{}, n), Status::ok);
  EXPECT_EQ(n, 0U);
  EXPECT_EQ(q.try_put_many(std::span<const int>(items).first(2), n), Status::ok);
  EXPECT_EQ(n, 2U);
}

TEST(QueueBatch, PutManyAndGetManyMoveEverythingInOrder) {
  ScopedName name("q-put-many");
  auto q = Queue<std::string>::create(name.str(), options(8));
  std::vector<std::string> items;
  for (int i = 0; i < 8; ++i)
    items.push_back("item" + std::to_string(i));
  std::size_t put = 0;
  ASSERT_EQ(q.put_many(items, put), Status::ok);
  EXPECT_EQ(put, 8U);
  std::vector<std::string> out(5);
  std::size_t got = 0;
  ASSERT_EQ(q.get_many(out, got), Status::ok);
  EXPECT_EQ(got, 5U);
  ASSERT_EQ(q.get_many(out, got), Status::ok);
  EXPECT_EQ(got, 3U) << "get_many takes what is there once at least one message is";
  EXPECT_EQ(out[0], "item5");
  EXPECT_EQ(out[2], "item7");
  std::vector<std::string> none;
  EXPECT_EQ(q.get_many(none, got), Status::ok);
  EXPECT_EQ(got, 0U);
}

TEST(QueueBatch, BatchesStopAtATooLargeItem) {
  ScopedName name("q-many-too-large");
  auto q = Queue<std::string>::create(name.str(), options(8, Producers::many, Consumers::many, 4));
  const std::array<std::string, 3> items{"ok", "too long", "ok2"};
  std::size_t put = 0;
  EXPECT_EQ(q.try_put_many(items, put), Status::too_large);
  EXPECT_EQ(put, 1U);
  EXPECT_EQ(q.put_many(items, put), Status::too_large);
  EXPECT_EQ(put, 1U);
  EXPECT_EQ(q.size(), 2U);
}

// ---- zero copy ----

TEST(QueueZeroCopy, ClaimedAndCommittedMessageIsDelivered) {
  ScopedName name("q-claim");
  auto q = Queue<std::string>::create(name.str(), options(4, Producers::many, Consumers::many, 64));
  Queue<std::string>::PutClaim claim;
  ASSERT_EQ(q.try_claim(claim), Status::ok);
  ASSERT_TRUE(claim);
  ASSERT_EQ(claim.buffer().size(), 64U);
  const std::string text = "written in place";
  std::memcpy(claim.buffer().data(), text.data(), text.size());
  EXPECT_EQ(claim.commit(text.size()), Status::ok);
  EXPECT_FALSE(claim);
  EXPECT_EQ(claim.commit(1), Status::empty) << "a claim commits once: it holds nothing now";
  std::string out;
  ASSERT_EQ(q.try_get(out), Status::ok);
  EXPECT_EQ(out, text);
}

TEST(QueueZeroCopy, AbandonedClaimBecomesASkipThatGettersPassOver) {
  ScopedName name("q-abandon");
  auto q = Queue<int>::create(name.str(), options(4));
  {
    Queue<int>::PutClaim dropped;
    ASSERT_EQ(q.try_claim(dropped), Status::ok);
  }
  ASSERT_EQ(q.try_put(7), Status::ok);
  int v = 0;
  ASSERT_EQ(q.try_get(v), Status::ok);
  EXPECT_EQ(v, 7);
  EXPECT_EQ(q.try_get(v), Status::empty);
  EXPECT_EQ(q.size(), 0U);
}

TEST(QueueZeroCopy, MovedClaimIsCommittedOnceAndReassignmentAbandonsTheOldOne) {
  ScopedName name("q-claim-move");
  auto q = Queue<int>::create(name.str(), options(4));
  Queue<int>::PutClaim a;
  ASSERT_EQ(q.try_claim(a), Status::ok);
  Queue<int>::PutClaim b(std::move(a));
  EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  ASSERT_TRUE(b);
  const int x = 5;
  std::memcpy(b.buffer().data(), &x, sizeof(x));
  Queue<int>::PutClaim c;
  ASSERT_EQ(q.try_claim(c), Status::ok);
  b = std::move(c);  // abandons the claim b held (a skip), takes c's
  const int y = 6;
  std::memcpy(b.buffer().data(), &y, sizeof(y));
  ASSERT_EQ(b.commit(sizeof(y)), Status::ok);
  int v = 0;
  ASSERT_EQ(q.try_get(v), Status::ok);
  EXPECT_EQ(v, 6);
  EXPECT_EQ(q.try_get(v), Status::empty);
}

TEST(QueueZeroCopy, CommitLargerThanTheSlotIsTooLargeAndSkipped) {
  ScopedName name("q-commit-large");
  auto q = Queue<std::string>::create(name.str(), options(4, Producers::many, Consumers::many, 8));
  Queue<std::string>::PutClaim claim;
  ASSERT_EQ(q.try_claim(claim), Status::ok);
  EXPECT_EQ(claim.commit(9), Status::too_large);
  ASSERT_EQ(q.try_put("next"), Status::ok);
  std::string out;
  ASSERT_EQ(q.try_get(out), Status::ok);
  EXPECT_EQ(out, "next");
}

TEST(QueueZeroCopy, ClaimOnAFullQueueReportsFull) {
  ScopedName name("q-claim-full");
  auto q = Queue<int>::create(name.str(), options(2));
  ASSERT_EQ(q.try_put(1), Status::ok);
  ASSERT_EQ(q.try_put(2), Status::ok);
  Queue<int>::PutClaim claim;
  EXPECT_EQ(q.try_claim(claim), Status::full);
  EXPECT_FALSE(claim);
}

TEST(QueueZeroCopy, PeekShowsTheMessageInPlaceUntilReleased) {
  ScopedName name("q-peek");
  auto q = Queue<std::string>::create(name.str(), options(4));
  ASSERT_EQ(q.try_put("first"), Status::ok);
  ASSERT_EQ(q.try_put("second"), Status::ok);
  Queue<std::string>::GetClaim claim;
  ASSERT_EQ(q.try_get(claim), Status::ok);
  ASSERT_TRUE(claim);
  const auto data = claim.data();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(data.data()), data.size()), "first");
  claim.release();
  EXPECT_FALSE(claim);
  EXPECT_TRUE(claim.data().empty());
  {
    Queue<std::string>::GetClaim dropped;
    ASSERT_EQ(q.get(dropped), Status::ok);
    EXPECT_EQ(dropped.data().size(), 6U);
  }  // dropping a claim releases it
  EXPECT_EQ(q.try_get(claim), Status::empty);
  // The released slots are free again: the queue holds its full capacity.
  for (int i = 0; i < 4; ++i)
    ASSERT_EQ(q.try_put("x"), Status::ok);
  EXPECT_EQ(q.try_put("x"), Status::full);
  EXPECT_EQ(core_of(q).counters().msgs_got.load(), 2U);
}

TEST(QueueZeroCopy, PeekPassesOverSkips) {
  ScopedName name("q-peek-skip");
  auto q = Queue<int>::create(name.str(), options(4));
  {
    Queue<int>::PutClaim dropped;
    ASSERT_EQ(q.try_claim(dropped), Status::ok);
  }
  ASSERT_EQ(q.try_put(3), Status::ok);
  Queue<int>::GetClaim claim;
  ASSERT_EQ(q.try_get(claim), Status::ok);
  int v = 0;
  ASSERT_EQ(claim.data().size(), sizeof(int));
  std::memcpy(&v, claim.data().data(), sizeof(int));
  EXPECT_EQ(v, 3);
}

// ---- roles ----

TEST(QueueRoles, SecondSingleProducerIsRefusedUntilTheFirstHandleIsGone) {
  ScopedName name("q-sp");
  auto consumer = Queue<int>::create(name.str(), options(8, Producers::one, Consumers::many));
  {
    auto first = Queue<int>::open(name.str());
    ASSERT_EQ(first.try_put(1), Status::ok);
    auto second = Queue<int>::open(name.str());
    EXPECT_EQ(second.try_put(2), Status::role_taken);
    EXPECT_EQ(second.put(2), Status::role_taken) << "a blocking put does not wait for the role";
    std::size_t put = 9;
    EXPECT_EQ(second.try_put_many(std::array<int, 1>{2}, put), Status::role_taken);
    EXPECT_EQ(put, 0U);
    Queue<int>::PutClaim claim;
    EXPECT_EQ(second.try_claim(claim), Status::role_taken);
    expect_error([&] { second.claim_producer(); }, Errc::role_taken, name,
                 "held by live process " + std::to_string(getpid()));
    EXPECT_EQ(first.try_put(3), Status::ok);
    EXPECT_NO_THROW(first.claim_producer()) << "the holder may claim again";
    int v = 0;
    EXPECT_EQ(second.try_get(v), Status::ok) << "getting is not refused on a multi-consumer side";
    EXPECT_EQ(v, 1);
  }
  auto third = Queue<int>::open(name.str());
  EXPECT_NO_THROW(third.claim_producer());
  EXPECT_EQ(third.try_put(4), Status::ok);
  int v = 0;
  ASSERT_EQ(consumer.try_get(v), Status::ok);
  EXPECT_EQ(v, 3);
  ASSERT_EQ(consumer.try_get(v), Status::ok);
  EXPECT_EQ(v, 4) << "the new producer continues after its predecessor";
}

TEST(QueueRoles, SecondSingleConsumerIsRefusedUntilTheFirstHandleIsGone) {
  ScopedName name("q-sc");
  auto producer = Queue<int>::create(name.str(), options(8, Producers::many, Consumers::one));
  for (int i = 0; i < 4; ++i)
    ASSERT_EQ(producer.try_put(i), Status::ok);
  int v = 0;
  {
    auto first = Queue<int>::open(name.str());
    first.claim_consumer();
    auto second = Queue<int>::open(name.str());
    EXPECT_EQ(second.try_get(v), Status::role_taken);
    EXPECT_EQ(second.get(v), Status::role_taken);
    std::array<int, 2> out{};
    std::size_t got = 9;
    EXPECT_EQ(second.try_get_many(out, got), Status::role_taken);
    EXPECT_EQ(got, 0U);
    Queue<int>::GetClaim in_place;
    EXPECT_EQ(second.try_get(in_place), Status::role_taken);
    expect_error([&] { second.claim_consumer(); }, Errc::role_taken, name, "consumer");
    ASSERT_EQ(first.try_get(v), Status::ok);
    EXPECT_EQ(v, 0);
  }
  auto third = Queue<int>::open(name.str());
  for (int expected = 1; expected < 4; ++expected) {
    ASSERT_EQ(third.try_get(v), Status::ok);
    EXPECT_EQ(v, expected);
  }
}

TEST(QueueRoles, OneHandleMayBeBothTheSingleProducerAndTheSingleConsumer) {
  ScopedName name("q-spsc-self");
  auto q = Queue<int>::create(name.str(), options(4, Producers::one, Consumers::one));
  ASSERT_EQ(q.try_put(1), Status::ok);
  int v = 0;
  ASSERT_EQ(q.try_get(v), Status::ok);
  EXPECT_EQ(v, 1);
  auto other = Queue<int>::open(name.str());
  EXPECT_EQ(other.try_put(2), Status::role_taken);
  EXPECT_EQ(other.try_get(v), Status::role_taken);
  other.close();  // closing needs no role
  EXPECT_EQ(q.try_put(3), Status::closed);
}

TEST(QueueRoles, MultiSidesNeverRefuseAHandle) {
  ScopedName name("q-mpmc-roles");
  auto a = Queue<int>::create(name.str(), options(8));
  auto b = Queue<int>::open(name.str());
  auto c = Queue<int>::open(name.str());
  EXPECT_NO_THROW(a.claim_producer());
  EXPECT_NO_THROW(b.claim_producer());
  EXPECT_NO_THROW(b.claim_consumer());
  EXPECT_NO_THROW(c.claim_consumer());
  EXPECT_EQ(a.try_put(1), Status::ok);
  EXPECT_EQ(b.try_put(2), Status::ok);
  int v = 0;
  EXPECT_EQ(c.try_get(v), Status::ok);
  EXPECT_EQ(b.try_get(v), Status::ok);
}

TEST(QueueRoles, MovedHandleKeepsItsRoleAndMoveAssignmentReleasesTheTargets) {
  ScopedName name("q-role-move");
  auto q = Queue<int>::create(name.str(), options(4, Producers::one, Consumers::many));
  ASSERT_EQ(q.try_put(1), Status::ok);
  Queue<int> moved(std::move(q));
  EXPECT_EQ(moved.try_put(2), Status::ok);
  auto other = Queue<int>::open(name.str());
  EXPECT_EQ(other.try_put(3), Status::role_taken);
  moved = Queue<int>::open(name.str());  // the producer handle is replaced: its role is released
  EXPECT_EQ(other.try_put(3), Status::ok);
  int v = 0;
  for (const int expected : {1, 2, 3}) {
    ASSERT_EQ(moved.try_get(v), Status::ok);
    EXPECT_EQ(v, expected);
  }
}

// ---- positions through the 2^64 wrap ----

class QueueWrap : public ::testing::TestWithParam<std::pair<Producers, Consumers>> {};

TEST_P(QueueWrap, ManyPutsAndGetsRunThroughThe64BitWrap) {
  ScopedName name("q-wrap");
  QueueOptions o = options(4, GetParam().first, GetParam().second, 32);
  const std::uint64_t start = std::numeric_limits<std::uint64_t>::max() - 2;  // 2^64 - 3
  auto q = shmq::detail::create_queue_at<std::string>(name.str(), o, start);
  int sent = 0;
  int received = 0;
  for (int round = 0; round < 300; ++round) {
    const int batch = 1 + round % 4;
    for (int i = 0; i < batch; ++i)
      ASSERT_EQ(q.try_put(std::to_string(sent++)), Status::ok);
    EXPECT_EQ(q.size(), static_cast<std::size_t>(batch));
    if (batch == 4) {
      EXPECT_EQ(q.try_put("x"), Status::full);
    }
    for (int i = 0; i < batch; ++i) {
      std::string out;
      ASSERT_EQ(q.try_get(out), Status::ok);
      ASSERT_EQ(out, std::to_string(received++));
    }
    std::string out;
    EXPECT_EQ(q.try_get(out), Status::empty);
  }
  // A handle opened after the wrap carries on.
  auto later = Queue<std::string>::open(name.str());
  q = Queue<std::string>();  // give up the roles
  ASSERT_EQ(later.try_put("after"), Status::ok);
  std::string out;
  ASSERT_EQ(later.try_get(out), Status::ok);
  EXPECT_EQ(out, "after");
  EXPECT_EQ(core_of(later).control().tail.load(), start + 751);
}

INSTANTIATE_TEST_SUITE_P(AllKinds, QueueWrap,
                         ::testing::Values(std::pair{Producers::one, Consumers::one},
                                           std::pair{Producers::many, Consumers::one},
                                           std::pair{Producers::one, Consumers::many},
                                           std::pair{Producers::many, Consumers::many}),
                         [](const auto& p) {
                           return std::string(p.param.first == Producers::one ? "SP" : "MP") +
                                  (p.param.second == Consumers::one ? "SC" : "MC");
                         });

// ---- a single side killed between publishing (releasing) a slot and storing its index ----
// docs/design.md §6: any process may die at any instruction. These states are simulated by
// rewinding the index the dead party did not get to store; the queue must stay openable and lose
// nothing.

TEST(QueueCrashWindow, ProducerKilledBetweenPublishAndTailStoreLeavesAnOpenableQueue) {
  ScopedName name("q-crash-tail");
  auto consumer = Queue<int>::create(name.str(), options(4, Producers::one, Consumers::many));
  const std::uint64_t start = core_of(consumer).control().tail.load();
  {
    auto producer = Queue<int>::open(name.str());
    ASSERT_EQ(producer.try_put(1), Status::ok);
    core_of(producer).control().tail.store(start);  // published seq, died before storing tail
  }
  int v = 0;
  ASSERT_EQ(consumer.try_get(v), Status::ok);  // a consumer takes it: head is now ahead of tail
  EXPECT_EQ(v, 1);
  EXPECT_EQ(consumer.size(), 0U);
  auto producer = Queue<int>::open(name.str());  // must not report the lag as corruption
  ASSERT_EQ(producer.try_put(2), Status::ok) << "the new producer resumes after the message";
  ASSERT_EQ(consumer.try_get(v), Status::ok);
  EXPECT_EQ(v, 2);
  EXPECT_EQ(consumer.try_get(v), Status::empty);
}

TEST(QueueCrashWindow, ConsumerKilledBetweenReleaseAndHeadStoreLeavesAnOpenableQueue) {
  ScopedName name("q-crash-head");
  auto producer = Queue<int>::create(name.str(), options(2, Producers::many, Consumers::one));
  const std::uint64_t start = core_of(producer).control().head.load();
  ASSERT_EQ(producer.try_put(1), Status::ok);
  ASSERT_EQ(producer.try_put(2), Status::ok);
  {
    auto consumer = Queue<int>::open(name.str());
    int v = 0;
    ASSERT_EQ(consumer.try_get(v), Status::ok);
    EXPECT_EQ(v, 1);
    core_of(consumer).control().head.store(start);  // released the slot, died before storing head
  }
  ASSERT_EQ(producer.try_put(3), Status::ok) << "the released slot is reused: tail - head = 3";
  EXPECT_EQ(producer.try_put(4), Status::full);
  auto consumer = Queue<int>::open(name.str());  // must not report the lag as corruption
  for (const int expected : {2, 3}) {
    int v = 0;
    ASSERT_EQ(consumer.try_get(v), Status::ok) << "the new consumer resumes after the taken one";
    EXPECT_EQ(v, expected);
  }
  int v = 0;
  EXPECT_EQ(consumer.try_get(v), Status::empty);
}

TEST(QueueCrashWindow, SpscQueueSurvivesBothSidesDyingInTheirWindows) {
  ScopedName name("q-crash-both");
  { auto creator = Queue<int>::create(name.str(), options(2, Producers::one, Consumers::one)); }
  const std::uint64_t start = 0;
  {
    auto producer = Queue<int>::open(name.str());
    auto consumer = Queue<int>::open(name.str());
    ASSERT_EQ(producer.try_put(1), Status::ok);
    ASSERT_EQ(producer.try_put(2), Status::ok);
    int v = 0;
    ASSERT_EQ(consumer.try_get(v), Status::ok);
    core_of(consumer).control().head.store(start);  // the consumer dies in its window
    consumer = Queue<int>();
    ASSERT_EQ(producer.try_put(3), Status::ok);  // tail - head is now capacity + 1
  }                                              // ... and the producer goes too
  auto producer = Queue<int>::open(name.str());
  EXPECT_NO_THROW(producer.claim_producer());
  EXPECT_EQ(producer.try_put(4), Status::full);
  auto consumer = Queue<int>::open(name.str());
  for (const int expected : {2, 3}) {
    int v = 0;
    ASSERT_EQ(consumer.try_get(v), Status::ok);
    EXPECT_EQ(v, expected);
  }
  EXPECT_EQ(producer.try_put(4), Status::ok);
}

// ---- packed SPSC queues of fixed-size elements (packed_ring.hpp) ----

QueueOptions packed_options(std::uint64_t capacity) {
  QueueOptions o = options(capacity, Producers::one, Consumers::one);
  o.packed = true;
  return o;
}

TEST(PackedQueue, SpscQueueOfSmallElementsIsPackedByDefaultAndOthersAreNot) {
  ScopedName name("q-packed-default");
  QueueOptions o;
  o.capacity = 64;
  o.producers = Producers::one;
  o.consumers = Consumers::one;
  {
    auto q = Queue<std::uint64_t>::create(name.str(), o);
    EXPECT_TRUE(core_of(q).ring().packed());
    // 64 elements of 8 bytes back to back: 8 cache lines after the header.
    EXPECT_EQ(shmq::inspect(name.str()).size_bytes, 13312U + 64U * 8U);
    EXPECT_TRUE(shmq::inspect(name.str()).queue->packed);
  }
  Queue<std::uint64_t>::remove(name.str());
  o.producers = Producers::many;
  EXPECT_FALSE(core_of(Queue<std::uint64_t>::create(name.str(), o)).ring().packed());
  Queue<std::uint64_t>::remove(name.str());
  o.producers = Producers::one;
  EXPECT_FALSE(core_of(Queue<std::string>::create(name.str(), o)).ring().packed());
  Queue<std::string>::remove(name.str());
  o.packed = false;
  EXPECT_FALSE(core_of(Queue<std::uint64_t>::create(name.str(), o)).ring().packed());
}

TEST(PackedQueue, OddSizedElementsAreStoredBackToBackAndComeOutWhole) {
  struct Odd {
    char bytes[12];
  };
  ScopedName name("q-packed-odd");
  auto q = Queue<Odd>::create(name.str(), packed_options(8));
  EXPECT_EQ(shmq::inspect(name.str()).size_bytes, 13312U + 128U);  // 96 bytes, rounded to lines
  for (int round = 0; round < 5; ++round) {
    for (char c = 0; c < 8; ++c) {
      Odd v{};
      std::memset(v.bytes, c + round, sizeof(v.bytes));
      ASSERT_EQ(q.try_put(v), Status::ok);
    }
    EXPECT_EQ(q.try_put(Odd{}), Status::full);
    for (char c = 0; c < 8; ++c) {
      Odd v{};
      ASSERT_EQ(q.try_get(v), Status::ok);
      for (const char b : v.bytes)
        ASSERT_EQ(b, static_cast<char>(c + round));
    }
    Odd v{};
    EXPECT_EQ(q.try_get(v), Status::empty);
  }
}

TEST(PackedQueue, ZeroCopyClaimsAreOneAtATimeAndAShortCommitPublishesNothing) {
  ScopedName name("q-packed-claims");
  auto q = Queue<std::uint64_t>::create(name.str(), packed_options(4));
  {
    Queue<std::uint64_t>::PutClaim a;
    Queue<std::uint64_t>::PutClaim b;
    ASSERT_EQ(q.try_claim(a), Status::ok);
    EXPECT_EQ(q.try_claim(b), Status::busy);
    EXPECT_EQ(q.try_put(1), Status::busy) << "a put would write the open claim's element";
    const std::uint64_t v = 41;
    std::memcpy(a.buffer().data(), &v, sizeof(v));
    EXPECT_EQ(a.commit(sizeof(v)), Status::ok);
  }
  {
    Queue<std::uint64_t>::PutClaim dropped;
    ASSERT_EQ(q.try_claim(dropped), Status::ok);
  }
  Queue<std::uint64_t>::PutClaim short_one;
  ASSERT_EQ(q.try_claim(short_one), Status::ok);
  EXPECT_EQ(short_one.commit(3), Status::too_large);
  EXPECT_EQ(q.size(), 1U) << "neither the dropped nor the short claim published anything";
  Queue<std::uint64_t>::GetClaim g;
  ASSERT_EQ(q.try_get(g), Status::ok);
  std::uint64_t out = 0;
  std::memcpy(&out, g.data().data(), sizeof(out));
  EXPECT_EQ(out, 41U);
  EXPECT_EQ(q.try_get(out), Status::busy);
  g.release();
  EXPECT_EQ(q.try_get(out), Status::empty);
}

// The one-element fast paths know of an open claim through the cached indices (packed_ring.hpp):
// after a claim is closed they must still see exactly what is there.
TEST(PackedQueue, CopyingCallsAfterAZeroCopyClaimSeeExactlyWhatIsQueued) {
  ScopedName name("q-packed-after-claims");
  auto q = Queue<std::uint64_t>::create(name.str(), packed_options(4));
  for (std::uint64_t v = 1; v <= 3; ++v)
    ASSERT_EQ(q.try_put(v), Status::ok);
  {
    Queue<std::uint64_t>::GetClaim g;
    ASSERT_EQ(q.try_get(g), Status::ok);
  }  // released
  std::uint64_t out = 0;
  ASSERT_EQ(q.try_get(out), Status::ok);
  EXPECT_EQ(out, 2U);
  ASSERT_EQ(q.try_get(out), Status::ok);
  EXPECT_EQ(out, 3U);
  EXPECT_EQ(q.try_get(out), Status::empty) << "nothing was put at the fourth position";
  {
    Queue<std::uint64_t>::PutClaim dropped;
    ASSERT_EQ(q.try_claim(dropped), Status::ok);
  }
  for (std::uint64_t v = 4; v <= 7; ++v)
    ASSERT_EQ(q.try_put(v), Status::ok);
  EXPECT_EQ(q.try_put(8), Status::full) << "a dropped claim must not make room";
  for (std::uint64_t v = 4; v <= 7; ++v) {
    ASSERT_EQ(q.try_get(out), Status::ok);
    EXPECT_EQ(out, v);
  }
}

TEST(PackedQueue, DumpShowsWhatIsQueuedWithoutTakingIt) {
  ScopedName name("q-packed-dump");
  auto q = Queue<std::uint64_t>::create(name.str(), packed_options(4));
  for (std::uint64_t v = 10; v < 14; ++v)
    ASSERT_EQ(q.try_put(v), Status::ok);
  std::uint64_t v = 0;
  ASSERT_EQ(q.try_get(v), Status::ok);
  ASSERT_EQ(q.try_put(14), Status::ok);  // wraps into the freed element
  const auto messages = shmq::peek_messages(name.str(), 10);
  ASSERT_EQ(messages.size(), 4U);
  for (std::size_t i = 0; i < messages.size(); ++i) {
    ASSERT_EQ(messages[i].size(), 8U);
    std::uint64_t m = 0;
    std::memcpy(&m, messages[i].data(), 8);
    EXPECT_EQ(m, 11 + i);
  }
  EXPECT_EQ(q.size(), 4U);
}

TEST(PackedQueue, HostileIndicesGiveCorruptStatusNotACrash) {
  ScopedName name("q-packed-hostile");
  auto q = Queue<std::uint64_t>::create(name.str(), packed_options(4));
  ASSERT_EQ(q.try_put(1), Status::ok);
  std::uint64_t v = 0;
  ASSERT_EQ(q.try_get(v), Status::ok);
  // tail (QueueControl + 128) far ahead of head: the consumer reloads it when it runs dry.
  shmq::test::poke<std::uint64_t>(name, 12544 + 128, 0xDEADBEEFDEADBEEFULL);
  EXPECT_EQ(q.try_get(v), Status::corrupt);
  EXPECT_EQ(q.get_for(v, 20ms), Status::corrupt) << "a bounded wait ends on corruption too";
  EXPECT_THROW(shmq::peek_messages(name.str(), 10), shmq::Error) << "an observer refuses it";
}

// ---- statistics and hostile contents on the hot path ----

TEST(QueueCounters, PutsAndGetsAreCountedInTheHandlesRegistryEntry) {
  ScopedName name("q-counters");
  auto q = Queue<std::string>::create(name.str(), options(2));
  ASSERT_EQ(q.try_put("abc"), Status::ok);
  ASSERT_EQ(q.try_put("de"), Status::ok);
  EXPECT_EQ(q.try_put("f"), Status::full);
  std::string out;
  ASSERT_EQ(q.try_get(out), Status::ok);
  const auto& c = core_of(q).counters();
  EXPECT_EQ(c.msgs_put.load(), 2U);
  EXPECT_EQ(c.bytes_put.load(), 5U);
  EXPECT_EQ(c.msgs_got.load(), 1U);
  EXPECT_EQ(c.bytes_got.load(), 3U);  // byte queues count bytes; fixed ones derive them (inspect)
  EXPECT_EQ(c.full_events.load(), 1U);
  ASSERT_EQ(q.try_get(out), Status::ok);
  EXPECT_EQ(q.try_get(out), Status::empty);
  EXPECT_EQ(c.empty_events.load(), 1U);
}

TEST(QueueCounters, AFixedElementQueueShowsBytesAsMessagesTimesTheElementSize) {
  // The hot path of a fixed-size T counts messages only; inspect() derives the bytes.
  for (const bool packed : {true, false}) {
    ScopedName name(packed ? "q-counters-fixed-packed" : "q-counters-fixed");
    auto q = Queue<std::uint64_t>::create(name.str(), packed ? packed_options(8) : options(8));
    for (std::uint64_t i = 0; i < 3; ++i)
      ASSERT_EQ(q.try_put(i), Status::ok);
    std::uint64_t v = 0;
    ASSERT_EQ(q.try_get(v), Status::ok);
    ASSERT_EQ(q.try_get(v), Status::ok);
    const shmq::SegmentReport r = shmq::inspect(name.str());
    EXPECT_EQ(r.totals.msgs_put, 3U);
    EXPECT_EQ(r.totals.bytes_put, 24U);
    EXPECT_EQ(r.totals.msgs_got, 2U);
    EXPECT_EQ(r.totals.bytes_got, 16U);
    ASSERT_EQ(r.processes.size(), 1U);
    EXPECT_EQ(r.processes[0].counters.bytes_put, 24U);
    EXPECT_EQ(r.processes[0].counters.bytes_got, 16U);
  }
}

TEST(QueueHostile, SlotSizeThatDoesNotMatchAFixedElementIsCorruptAndSkipped) {
  ScopedName name("q-hostile-size");
  auto q = Queue<std::uint64_t>::create(name.str(), options(4));
  ASSERT_EQ(q.try_put(1), Status::ok);
  ASSERT_EQ(q.try_put(2), Status::ok);
  // Slot 0 of a Queue<uint64_t> is at 13312; its size field at +16. A peer says 3 bytes.
  shmq::test::poke<std::uint32_t>(name, 13312 + 16, 3);
  std::uint64_t v = 0;
  EXPECT_EQ(q.try_get(v), Status::corrupt);
  ASSERT_EQ(q.try_get(v), Status::ok);
  EXPECT_EQ(v, 2U);
}

TEST(QueueHostile, ABatchThatMeetsACorruptMessageAfterOthersSaysCorruptAndCountsThem) {
  ScopedName name("q-hostile-batch");
  auto q = Queue<std::uint64_t>::create(name.str(), options(4));
  std::uint64_t v = 0;
  for (std::uint64_t i = 1; i <= 3; ++i) {
    ASSERT_EQ(q.try_put(i), Status::ok);
    ASSERT_EQ(q.try_get(v), Status::ok);
  }
  for (std::uint64_t i = 4; i <= 6; ++i)
    ASSERT_EQ(q.try_put(i), Status::ok);                 // positions 3, 4, 5: slots 3, 0, 1
  shmq::test::poke<std::uint32_t>(name, 13312 + 16, 3);  // slot 0 (5) says 3 bytes
  std::array<std::uint64_t, 3> out{};
  std::size_t got = 0;
  EXPECT_EQ(q.try_get_many(out, got), Status::corrupt) << "the drop of 5 is not hidden";
  ASSERT_EQ(got, 1U);
  EXPECT_EQ(out[0], 4U);
  EXPECT_EQ(q.try_get_many(out, got), Status::ok);
  ASSERT_EQ(got, 1U);
  EXPECT_EQ(out[0], 6U);
}

TEST(QueueHostile, GarbageSlotSequenceGivesCorruptStatusNotACrash) {
  ScopedName name("q-hostile-seq");
  auto q = Queue<std::uint64_t>::create(name.str(), options(4, Producers::one, Consumers::one));
  ASSERT_EQ(q.try_put(1), Status::ok);
  shmq::test::poke<std::uint64_t>(name, 13312, 0xDEADBEEFDEADBEEFULL);
  std::uint64_t v = 0;
  EXPECT_EQ(q.try_get(v), Status::corrupt);
  EXPECT_EQ(q.get_for(v, 20ms), Status::corrupt) << "a bounded wait ends on corruption too";
}

}  // namespace
