// Segments (runtime/segment.cpp): names, create/open/remove, permissions, the registry of attached
// processes and its kernel-backed liveness, and validation of hostile or broken segment files.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <bit>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "shmq/detail/access.hpp"
#include "shmq/detail/segment.hpp"
#include "shmq/detail/wait/event_count.hpp"
#include "shmq/error.hpp"
#include "shmq/queue.hpp"
#include "support/queue_test_util.hpp"
#include "support/test_support.hpp"

namespace {

using namespace std::chrono_literals;
using shmq::Errc;
using shmq::detail::Segment;
using shmq::detail::SegmentKind;
using shmq::test::Child;
using shmq::test::eventually;
using shmq::test::expect_error;
using shmq::test::FdPipe;
using shmq::test::poke;
using shmq::test::process_state;
using shmq::test::ScopedName;

constexpr std::uint64_t kRawBody = 64;

Segment create_raw(const std::string& name, std::uint32_t mode = 0600) {
  Segment::CreateSpec spec;
  spec.kind = SegmentKind::pipe;
  spec.body_bytes = kRawBody;
  spec.total_bytes = shmq::detail::kBodyOffset + kRawBody;
  spec.mode = mode;
  return Segment::create(name, spec, [](std::byte*) {});
}

Segment open_raw(const std::string& name) {
  return Segment::open(name, SegmentKind::pipe);
}

std::uint32_t file_mode(const std::string& name) {
  struct stat st {};
  EXPECT_EQ(::stat(("/dev/shm/" + name).c_str(), &st), 0);
  return st.st_mode & 07777;
}

// A time a test measured, printed for the log.
double print_ms(const char* what, std::chrono::steady_clock::duration d) {
  const double ms = std::chrono::duration<double, std::milli>(d).count();
  std::fprintf(stderr, "[time] %s: %.2f ms\n", what, ms);
  return ms;
}

int live_entries(const Segment& seg) {
  int n = 0;
  for (std::uint32_t i = 0; i < shmq::detail::kRegistryCapacity; ++i)
    n += seg.entry_alive(i);
  return n;
}

// ---- names ----

TEST(SegmentName, EmptyNameIsInvalid) {
  expect_error([] { shmq::detail::validate_name(""); }, Errc::invalid_name, "", "empty");
}

TEST(SegmentName, NameLongerThanTheLimitIsInvalid) {
  const std::string name(shmq::detail::kMaxNameLength + 1, 'a');
  try {
    shmq::detail::validate_name(name);
    ADD_FAILURE() << "no error";
  } catch (const shmq::Error& e) {
    EXPECT_EQ(e.code(), make_error_code(Errc::invalid_name));
    EXPECT_NE(std::string(e.what()).find("201 characters"), std::string::npos) << e.what();
    EXPECT_EQ(name.rfind(e.segment(), 0), 0U) << "the message names (a prefix of) the segment";
  }
  EXPECT_NO_THROW(shmq::detail::validate_name(std::string(shmq::detail::kMaxNameLength, 'a')));
}

TEST(SegmentName, SlashIsInvalidExceptOneLeadingSlash) {
  expect_error([] { shmq::detail::validate_name("jobs/a"); }, Errc::invalid_name, "jobs/a", "'/'");
  expect_error([] { shmq::detail::validate_name("//jobs"); }, Errc::invalid_name, "/jobs");
  shmq::detail::validate_name("/jobs");  // shm_open's habit: the same name as "jobs"
  EXPECT_EQ(shmq::detail::bare_name("/jobs"), "jobs");
  EXPECT_EQ(shmq::detail::segment_path("/jobs"), shmq::detail::segment_path("jobs"));
}

TEST(SegmentName, LeadingDotIsInvalid) {
  expect_error([] { shmq::detail::validate_name("."); }, Errc::invalid_name, ".", "'.'");
  expect_error([] { shmq::detail::validate_name("..jobs"); }, Errc::invalid_name, "..jobs");
}

TEST(SegmentName, CharactersOutsideTheAlphabetAreInvalid) {
  for (const std::string& bad :
       std::vector<std::string>{"a b", "a\nb", "a*b", "caf\xc3\xa9", std::string("a\0b", 3)}) {
    EXPECT_THROW(shmq::detail::validate_name(bad), shmq::Error) << bad;
  }
}

TEST(SegmentName, GoodNamesAreAccepted) {
  for (const std::string good : {"a", "jobs", "Jobs-2_v1.0", "a.", "0", "x-y-z"}) {
    EXPECT_NO_THROW(shmq::detail::validate_name(good)) << good;
  }
}

TEST(SegmentName, EveryEntryPointValidatesTheName) {
  expect_error([] { shmq::Queue<int>::create("bad/name"); }, Errc::invalid_name, "bad/name");
  expect_error([] { shmq::Queue<int>::open("bad/name"); }, Errc::invalid_name, "bad/name");
  expect_error([] { shmq::Queue<int>::open_or_create("bad/name"); }, Errc::invalid_name,
               "bad/name");
  expect_error([] { shmq::Queue<int>::remove(".hidden"); }, Errc::invalid_name, ".hidden");
}

// ---- create / open / remove ----

TEST(Segment, CreatingAnExistingNameReportsAlreadyExists) {
  ScopedName name("seg-twice");
  Segment first = create_raw(name);
  expect_error([&] { create_raw(name); }, Errc::already_exists, name);
  EXPECT_TRUE(first.valid()) << "the first segment is untouched";
  expect_error([&] { shmq::Queue<int>::create(name.str()); }, Errc::already_exists, name);
}

TEST(Segment, OpeningAMissingNameReportsNotFound) {
  ScopedName name("seg-missing");
  expect_error([&] { open_raw(name); }, Errc::not_found, name, "no such segment");
  expect_error([&] { shmq::Queue<int>::open(name.str()); }, Errc::not_found, name);
}

TEST(Segment, RemoveReturnsTrueThenFalse) {
  ScopedName name("seg-remove");
  { Segment s = create_raw(name); }
  EXPECT_TRUE(Segment::remove(name.str()));
  EXPECT_FALSE(Segment::remove(name.str()));
  expect_error([&] { open_raw(name); }, Errc::not_found, name);
}

TEST(Segment, RemovedSegmentStaysUsableByAttachedHandles) {
  ScopedName name("seg-unlinked");
  auto q = shmq::Queue<int>::create(name.str());
  EXPECT_TRUE(shmq::Queue<int>::remove(name.str()));
  EXPECT_EQ(q.try_put(7), shmq::Status::ok);
  int v = 0;
  EXPECT_EQ(q.try_get(v), shmq::Status::ok);
  EXPECT_EQ(v, 7);
}

TEST(Segment, ModeIs0600ByDefault) {
  ScopedName name("seg-mode-default");
  auto q = shmq::Queue<int>::create(name.str());
  EXPECT_EQ(file_mode(name), 0600U);
}

TEST(Segment, GivenModeIsHonouredDespiteTheUmask) {
  ScopedName a("seg-mode-a");
  ScopedName b("seg-mode-b");
  shmq::QueueOptions opts;
  opts.mode = 0640;
  auto qa = shmq::Queue<int>::create(a.str(), opts);
  EXPECT_EQ(file_mode(a), 0640U);
  const mode_t old = ::umask(0077);
  opts.mode = 0666;
  auto qb = shmq::Queue<int>::create(b.str(), opts);
  ::umask(old);
  EXPECT_EQ(file_mode(b), 0666U);
}

TEST(Segment, ModeWithBitsOutsideThePermissionsIsRejected) {
  ScopedName name("seg-mode-bad");
  shmq::QueueOptions opts;
  opts.mode = 04600;
  expect_error([&] { shmq::Queue<int>::create(name.str(), opts); }, Errc::invalid_argument, name);
  EXPECT_FALSE(Segment::remove(name.str())) << "nothing was left behind";
}

TEST(Segment, OpenedSegmentCarriesTheCreatorsHeader) {
  ScopedName name("seg-info");
  Segment created = create_raw(name);
  Segment opened = open_raw(name);
  EXPECT_EQ(opened.info().magic, shmq::detail::kMagic);
  EXPECT_EQ(opened.info().layout_version, shmq::detail::kLayoutVersion);
  EXPECT_EQ(opened.info().kind, static_cast<std::uint32_t>(SegmentKind::pipe));
  EXPECT_EQ(opened.info().creator_pid, static_cast<std::uint32_t>(getpid()));
  EXPECT_EQ(opened.info().created_unix_ns, created.info().created_unix_ns);
  EXPECT_EQ(opened.size(), shmq::detail::kBodyOffset + kRawBody);
  EXPECT_EQ(opened.name(), name.str());
}

TEST(Segment, OpeningAsAnotherKindReportsWrongKind) {
  ScopedName name("seg-kind");
  Segment s = create_raw(name);
  expect_error([&] { Segment::open(name.str(), SegmentKind::manager); }, Errc::wrong_kind, name,
               "a pipe segment, expected a manager");
  expect_error([&] { shmq::Queue<int>::open(name.str()); }, Errc::wrong_kind, name,
               "a pipe segment, expected a queue");
}

TEST(Segment, FifoInPlaceOfASegmentIsNotASegment) {
  ScopedName name("seg-fifo");
  ASSERT_EQ(::mkfifo(("/dev/shm/" + name.str()).c_str(), 0600), 0);
  expect_error([&] { open_raw(name); }, Errc::not_a_segment, name, "not a regular file");
}

// ---- registry ----

TEST(SegmentRegistry, AttachingNHandlesTakesNEntries) {
  ScopedName name("reg-n");
  Segment creator = create_raw(name);
  EXPECT_EQ(live_entries(creator), 1);
  std::vector<Segment> handles;
  for (int i = 0; i < 5; ++i)
    handles.push_back(open_raw(name));
  EXPECT_EQ(live_entries(creator), 6);
  std::vector<std::uint32_t> indices{creator.self_index()};
  for (const auto& h : handles)
    indices.push_back(h.self_index());
  std::sort(indices.begin(), indices.end());
  EXPECT_EQ(std::adjacent_find(indices.begin(), indices.end()), indices.end()) << "distinct";
  for (const auto& h : handles) {
    EXPECT_TRUE(creator.is_alive(h.self_token()));
    EXPECT_TRUE(h.is_alive(creator.self_token()));
    EXPECT_EQ(h.self().pid.load(), static_cast<std::uint32_t>(getpid()));
  }
  const std::uint64_t gone = handles.back().self_token();
  handles.pop_back();
  EXPECT_EQ(live_entries(creator), 5) << "a destroyed handle frees its entry";
  EXPECT_FALSE(creator.is_alive(gone));
}

TEST(SegmentRegistry, SixtyFifthAttachmentReportsRegistryFull) {
  ScopedName name("reg-full");
  std::vector<Segment> handles;
  handles.push_back(create_raw(name));
  for (std::uint32_t i = 1; i < shmq::detail::kRegistryCapacity; ++i) {
    handles.push_back(open_raw(name));
  }
  EXPECT_EQ(live_entries(handles.front()), 64);
  expect_error([&] { open_raw(name); }, Errc::registry_full, name, "64");
  handles.pop_back();
  EXPECT_NO_THROW(handles.push_back(open_raw(name))) << "a freed entry can be taken again";
}

struct Attached {
  std::uint32_t index;
  std::uint64_t token;
};

// A forked child that attaches to `name`, reports its entry, then waits to be killed.
Child attached_child(const std::string& name, FdPipe& pipe) {
  return Child([&pipe, name] {
    Segment seg = open_raw(name);
    if (!pipe.write(Attached{seg.self_index(), seg.self_token()})) return 1;
    for (;;)
      ::pause();
  });
}

TEST(SegmentRegistry, SigkilledChildIsSeenAsDeadAndLiveChildAsAlive) {
  ScopedName name("reg-kill");
  Segment parent = create_raw(name);
  FdPipe pipe;
  Child child = attached_child(name, pipe);
  Attached a{};
  ASSERT_TRUE(pipe.read(a));
  EXPECT_NE(a.index, parent.self_index());
  EXPECT_TRUE(parent.entry_alive(a.index));
  EXPECT_TRUE(parent.is_alive(a.token));
  EXPECT_EQ(parent.entry(a.index).pid.load(), static_cast<std::uint32_t>(child.pid()));

  child.kill(SIGKILL);
  EXPECT_EQ(child.wait(10s), 128 + SIGKILL);
  EXPECT_FALSE(parent.entry_alive(a.index));
  EXPECT_FALSE(parent.is_alive(a.token));
  EXPECT_TRUE(parent.is_alive(parent.self_token()));
}

TEST(SegmentRegistry, StoppedChildIsStillAlive) {
  ScopedName name("reg-stop");
  Segment parent = create_raw(name);
  FdPipe pipe;
  Child child = attached_child(name, pipe);
  Attached a{};
  ASSERT_TRUE(pipe.read(a));
  child.kill(SIGSTOP);
  ASSERT_TRUE(eventually([&] { return process_state(child.pid()) == 'T'; }))
      << "state " << process_state(child.pid());
  EXPECT_TRUE(parent.entry_alive(a.index));
  EXPECT_TRUE(parent.is_alive(a.token));
  child.kill(SIGKILL);
  EXPECT_EQ(child.wait(10s), 128 + SIGKILL);
  EXPECT_FALSE(parent.is_alive(a.token));
}

TEST(SegmentRegistry, InheritedHandleTakesItsOwnEntryInAForkedChild) {
  ScopedName name("reg-fork");
  Segment parent = create_raw(name);
  FdPipe pipe;
  Child child([&] {
    // `parent`, inherited across fork(), is now the child's own attachment.
    if (!pipe.write(Attached{parent.self_index(), parent.self_token()})) return 1;
    for (;;)
      ::pause();
  });
  Attached a{};
  ASSERT_TRUE(pipe.read(a));
  EXPECT_NE(a.index, parent.self_index());
  EXPECT_TRUE(parent.is_alive(a.token));
  EXPECT_EQ(parent.entry(a.index).pid.load(), static_cast<std::uint32_t>(child.pid()));
  child.kill(SIGKILL);
  ASSERT_EQ(child.wait(10s), 128 + SIGKILL);
  EXPECT_FALSE(parent.is_alive(a.token));
  EXPECT_TRUE(parent.is_alive(parent.self_token())) << "the child's death leaves the parent alive";
}

TEST(SegmentRegistry, DeadEntryIsReusedWithANewGenerationAndItsCountersRetired) {
  ScopedName name("reg-reuse");
  Segment parent = create_raw(name);
  FdPipe pipe;
  Child child([&] {
    // The inherited handle takes the lowest free entry in the child.
    shmq::detail::bump(parent.self().counters.msgs_put, 3);
    if (!pipe.write(Attached{parent.self_index(), parent.self_token()})) return 1;
    for (;;)
      ::pause();
  });
  Attached a{};
  ASSERT_TRUE(pipe.read(a));
  ASSERT_TRUE(eventually([&] { return parent.entry(a.index).counters.msgs_put.load() == 3; }));
  child.kill(SIGKILL);
  ASSERT_EQ(child.wait(10s), 128 + SIGKILL);

  Segment next = open_raw(name);
  EXPECT_EQ(next.self_index(), a.index) << "the lowest free entry is the dead child's";
  EXPECT_NE(next.self_token(), a.token);
  EXPECT_FALSE(parent.is_alive(a.token)) << "a reused entry does not revive the old token";
  EXPECT_TRUE(parent.is_alive(next.self_token()));
  EXPECT_EQ(next.self().counters.msgs_put.load(), 0U);
  EXPECT_EQ(parent.shared_header().retired.msgs_put.load(), 3U);
}

// ---- hostile and broken segment files ----

constexpr std::size_t kControl = shmq::detail::kBodyOffset;  // QueueControl in a queue segment

// A closed, valid Queue<uint64_t> of 8 slots (13824 bytes), no handle left open.
void make_queue(const std::string& name) {
  shmq::QueueOptions opts;
  opts.capacity = 8;
  auto q = shmq::Queue<std::uint64_t>::create(name, opts);
  ASSERT_EQ(q.try_put(1), shmq::Status::ok);
}

void expect_open_fails(const std::string& name, Errc code, const std::string& contains = {}) {
  expect_error([&] { shmq::Queue<std::uint64_t>::open(name); }, code, name, contains);
}

TEST(SegmentValidation, UntouchedQueueOpens) {
  ScopedName name("val-ok");
  make_queue(name);
  auto q = shmq::Queue<std::uint64_t>::open(name.str());
  std::uint64_t v = 0;
  EXPECT_EQ(q.try_get(v), shmq::Status::ok);
  EXPECT_EQ(v, 1U);
}

TEST(SegmentValidation, ForeignMagicIsNotASegment) {
  ScopedName name("val-magic");
  make_queue(name);
  poke<std::uint64_t>(name, 0, 0x1122334455667788ULL);
  expect_open_fails(name, Errc::not_a_segment, "magic");
}

TEST(SegmentValidation, ZeroMagicWithReadySetIsNotASegment) {
  ScopedName name("val-magic0");
  make_queue(name);
  poke<std::uint64_t>(name, 0, 0);
  expect_open_fails(name, Errc::not_a_segment, "magic");
}

TEST(SegmentValidation, OtherLayoutVersionIsAVersionMismatch) {
  ScopedName name("val-version");
  make_queue(name);
  poke<std::uint32_t>(name, 8, 7);
  expect_open_fails(name, Errc::version_mismatch, "layout version 7, this library reads 6");
}

TEST(SegmentValidation, OtherKindIsWrongKind) {
  ScopedName name("val-kind");
  make_queue(name);
  poke<std::uint32_t>(name, 12, 3);
  expect_open_fails(name, Errc::wrong_kind, "a manager segment, expected a queue");
  poke<std::uint32_t>(name, 12, 0xDEADBEEF);
  expect_open_fails(name, Errc::wrong_kind);
}

TEST(SegmentValidation, TotalSizeThatIsNotTheFileSizeIsCorrupt) {
  ScopedName name("val-total");
  make_queue(name);
  poke<std::uint64_t>(name, 16, 1ULL << 40);
  expect_open_fails(name, Errc::corrupt, "the file has 13824");
}

TEST(SegmentValidation, FileTruncatedBelowItsHeaderSizeIsCorrupt) {
  ScopedName name("val-trunc");
  make_queue(name);
  ASSERT_EQ(::truncate(("/dev/shm/" + name.str()).c_str(), 13824 - 64), 0);
  expect_open_fails(name, Errc::corrupt, "header says 13824 bytes, the file has 13760");
}

TEST(SegmentValidation, FileGrownBeyondItsHeaderSizeIsCorrupt) {
  ScopedName name("val-grow");
  make_queue(name);
  ASSERT_EQ(::truncate(("/dev/shm/" + name.str()).c_str(), 1 << 20), 0);
  expect_open_fails(name, Errc::corrupt);
}

// Shorter than a header and not locked by a creator: reported promptly, as a segment that is not
// (or never became) a segment.
TEST(SegmentValidation, FileTruncatedInsideTheHeaderIsRefusedPromptly) {
  ScopedName name("val-trunc-hdr");
  make_queue(name);
  ASSERT_EQ(::truncate(("/dev/shm/" + name.str()).c_str(), 100), 0);
  const auto start = std::chrono::steady_clock::now();
  try {
    shmq::Queue<std::uint64_t>::open(name.str());
    ADD_FAILURE() << "opened a 100-byte file";
  } catch (const shmq::Error& e) {
    EXPECT_TRUE(e.code() == make_error_code(Errc::not_ready) ||
                e.code() == make_error_code(Errc::not_a_segment))
        << e.what();
    EXPECT_EQ(e.segment(), name.str());
    // Promptly: refused for what it is, not after the ready timeout.
    EXPECT_EQ(std::string(e.what()).find("not initialised within"), std::string::npos) << e.what();
  }
  print_ms("open of a truncated file refused", std::chrono::steady_clock::now() - start);
}

TEST(SegmentValidation, RegistryThatDoesNotFitIsCorrupt) {
  ScopedName name("val-registry");
  make_queue(name);
  poke<std::uint32_t>(name, 36, 1000000);
  expect_open_fails(name, Errc::corrupt, "registry");
  poke<std::uint32_t>(name, 36, 64);
  poke<std::uint64_t>(name, 40, 9000);
  expect_open_fails(name, Errc::corrupt, "registry");
}

TEST(SegmentValidation, BodyThatDoesNotFitIsCorrupt) {
  ScopedName name("val-body");
  make_queue(name);
  for (const std::uint64_t offset : {std::uint64_t{0}, std::uint64_t{9000}, ~std::uint64_t{0}}) {
    poke<std::uint64_t>(name, 48, offset);
    expect_open_fails(name, Errc::corrupt, "body");
  }
  poke<std::uint64_t>(name, 48, 12544);
  for (const std::uint64_t bytes : {std::uint64_t{13824}, ~std::uint64_t{0} - 100}) {
    poke<std::uint64_t>(name, 56, bytes);
    expect_open_fails(name, Errc::corrupt, "body");
  }
  poke<std::uint64_t>(name, 56, 512);  // fits the file, but is not a queue control block
  expect_open_fails(name, Errc::corrupt, "control block");
}

TEST(SegmentValidation, CapacityThatIsNotAPowerOfTwoIsCorrupt) {
  ScopedName name("val-cap");
  make_queue(name);
  for (const std::uint64_t cap : {std::uint64_t{0}, std::uint64_t{6}, std::uint64_t{1} << 63}) {
    poke<std::uint64_t>(name, kControl + 0, cap);
    expect_open_fails(name, Errc::corrupt, "capacity");
  }
}

TEST(SegmentValidation, CapacityThatDoesNotFitTheFileIsCorrupt) {
  ScopedName name("val-cap-fit");
  make_queue(name);
  poke<std::uint64_t>(name, kControl + 0, 16);
  expect_open_fails(name, Errc::corrupt, "do not fit");
  poke<std::uint64_t>(name, kControl + 0, 4);
  expect_open_fails(name, Errc::corrupt, "do not fit");
}

TEST(SegmentValidation, CapacityOneIsCorrupt) {
  ScopedName name("val-cap1");
  make_queue(name);
  // A ring of one slot cannot tell "holds the message of p" from "free for p + 1".
  poke<std::uint64_t>(name, kControl + 0, 1);
  expect_open_fails(name, Errc::corrupt, "capacity");
}

TEST(SegmentValidation, SlotsOffsetElsewhereIsCorrupt) {
  ScopedName name("val-slots");
  make_queue(name);
  poke<std::uint64_t>(name, kControl + 8, 13312 + 64);
  expect_open_fails(name, Errc::corrupt);
}

TEST(SegmentValidation, StrideTooSmallForTheMessagesIsCorrupt) {
  ScopedName name("val-stride");
  shmq::QueueOptions opts;
  opts.capacity = 8;
  opts.max_message = 100;  // stride 128
  { auto q = shmq::Queue<std::string>::create(name.str(), opts); }
  for (const std::uint32_t stride : {0U, 64U, 100U, 0xFFFFFFC0U}) {
    poke<std::uint32_t>(name, kControl + 16, stride);
    expect_error([&] { shmq::Queue<std::string>::open(name.str()); }, Errc::corrupt, name,
                 "stride");
  }
  poke<std::uint32_t>(name, kControl + 16, 128);
  poke<std::uint32_t>(name, kControl + 20, 0xFFFFFFFFU);  // max_message no slot can hold
  expect_error([&] { shmq::Queue<std::string>::open(name.str()); }, Errc::corrupt, name);
}

TEST(SegmentValidation, UnknownQueueFlagsAreCorrupt) {
  ScopedName name("val-flags");
  make_queue(name);
  poke<std::uint32_t>(name, kControl + 24, 0x80);
  expect_open_fails(name, Errc::corrupt, "flags");
}

TEST(SegmentValidation, UnknownElementKindIsCorrupt) {
  ScopedName name("val-element");
  make_queue(name);
  poke<std::uint32_t>(name, kControl + 28, 9);
  expect_open_fails(name, Errc::corrupt, "element kind 9");
}

TEST(SegmentValidation, FixedSlotsOfAnotherSizeThanTheElementAreCorrupt) {
  ScopedName name("val-fixed");
  make_queue(name);
  poke<std::uint32_t>(name, kControl + 20, 16);  // max_message 16 for 8-byte elements
  expect_open_fails(name, Errc::corrupt, "fixed elements of 8 bytes in slots of 16");
}

// A packed queue (SPSC, fixed-size elements back to back): 8 elements of 8 bytes, one line.
void make_packed_queue(const std::string& name) {
  shmq::QueueOptions opts;
  opts.capacity = 8;
  opts.producers = shmq::Producers::one;
  opts.consumers = shmq::Consumers::one;
  auto q = shmq::Queue<std::uint64_t>::create(name, opts);
  ASSERT_TRUE(shmq::detail::core_of(q).ring().packed());
  ASSERT_EQ(q.try_put(1), shmq::Status::ok);
}

TEST(SegmentValidation, PackedFlagOnAMultiSideIsCorrupt) {
  ScopedName name("val-packed-mp");
  make_packed_queue(name);
  poke<std::uint32_t>(name, kControl + 24, 0x4 | 0x1);  // packed | multi-producer
  expect_open_fails(name, Errc::corrupt, "packing is for SPSC");
}

TEST(SegmentValidation, PackedStrideOtherThanTheElementIsCorrupt) {
  ScopedName name("val-packed-stride");
  make_packed_queue(name);
  for (const std::uint32_t stride : {0U, 7U, 16U, 64U}) {
    poke<std::uint32_t>(name, kControl + 16, stride);
    expect_open_fails(name, Errc::corrupt, "stride");
  }
}

TEST(SegmentValidation, PackedFlagOnASlotQueueIsCorrupt) {
  ScopedName name("val-packed-slots");
  make_queue(name);                                     // MPMC, 64-byte slots
  poke<std::uint32_t>(name, kControl + 24, 0x4);        // packed, single sides
  expect_open_fails(name, Errc::corrupt, "stride 64");  // slots are not 8 bytes apart
}

TEST(SegmentValidation, PackedIndicesMoreThanACapacityApartAreCorrupt) {
  ScopedName name("val-packed-tail");
  make_packed_queue(name);
  poke<std::uint64_t>(name, kControl + 128, 9);  // tail 9, head 0: 9 > capacity 8
  expect_open_fails(name, Errc::corrupt, "tail 9 and head 0");
  poke<std::uint64_t>(name, kControl + 128, 0);
  poke<std::uint64_t>(name, kControl + 256, 1);  // head one past tail (a slot queue's lag)
  expect_open_fails(name, Errc::corrupt, "tail 0 and head 1");
}

TEST(SegmentValidation, TailFarAheadOfHeadIsCorrupt) {
  ScopedName name("val-tail");
  make_queue(name);
  poke<std::uint64_t>(name, kControl + 128, 1000);
  expect_open_fails(name, Errc::corrupt, "tail 1000 and head 0");
}

TEST(SegmentValidation, HeadFarAheadOfTailIsCorrupt) {
  ScopedName name("val-head");
  make_queue(name);
  poke<std::uint64_t>(name, kControl + 256, 50);
  expect_open_fails(name, Errc::corrupt, "head 50");
}

// A queue larger than the shared-memory file system: a clear error at create (posix_fallocate
// reserves the pages), not a SIGBUS at the first touch of a page tmpfs cannot give. The request
// exceeds the file system's total size, which tmpfs refuses before allocating anything (so the
// test never fills the machine's /dev/shm).
TEST(SegmentCreate, AQueueLargerThanTheSharedMemoryFileSystemIsAClearError) {
  struct statvfs fs {};
  ASSERT_EQ(::statvfs("/dev/shm", &fs), 0);
  const std::uint64_t total = static_cast<std::uint64_t>(fs.f_blocks) * fs.f_frsize;
  constexpr std::uint32_t kSlot = 64U << 20;  // the largest message a slot takes
  ScopedName name("create-nospace");
  shmq::QueueOptions o;
  o.max_message = kSlot;
  o.capacity = std::bit_ceil(total / kSlot + 1);
  try {
    (void)shmq::Queue<std::string>::create(name.str(), o);
    ADD_FAILURE() << "created a queue larger than /dev/shm";
  } catch (const shmq::Error& e) {
    EXPECT_EQ(e.code(), std::errc::no_space_on_device) << e.what();
    EXPECT_NE(std::string(e.what()).find("no space for"), std::string::npos) << e.what();
    EXPECT_EQ(e.segment(), name.str());
  }
  struct stat st {};
  EXPECT_NE(::stat(shmq::detail::segment_path(name.str()).c_str(), &st), 0)
      << "the half-made segment was unlinked";
}

TEST(SegmentValidation, GarbageReadyWordIsCorrupt) {
  ScopedName name("val-ready");
  make_queue(name);
  poke<std::uint32_t>(name, 64, 0x12345678);
  expect_open_fails(name, Errc::corrupt, "ready word 0x12345678");
}

// A creator that died after writing the magic (which it does holding the init lock) and before
// `ready`; the kernel dropped its lock. No timing: the magic proves the creator had the lock.
TEST(SegmentValidation, CreatorThatDiedMidInitialisationIsReportedNotReadyPromptly) {
  ScopedName name("val-dead-creator");
  const int fd = ::shm_open(name.str().c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, sizeof(shmq::detail::SegmentHeader)), 0);
  ASSERT_EQ(::pwrite(fd, &shmq::detail::kMagic, sizeof(shmq::detail::kMagic), 0), 8);
  ::close(fd);
  const auto start = std::chrono::steady_clock::now();
  // Promptly: "creator died", not "not initialised within" the ready timeout.
  expect_open_fails(name, Errc::not_ready, "creator died");
  print_ms("open refused, creator died", std::chrono::steady_clock::now() - start);
}

// An empty file with no creator holding it: a creator preempted between its O_EXCL open and its
// lock looks the same, so the opener waits for it (up to its timeout) instead of judging it dead.
TEST(SegmentValidation, AnEmptyFileWithoutACreatorIsWaitedForThenReportedNotReady) {
  ScopedName name("val-dead-creator0");
  const int fd = ::shm_open(name.str().c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  ASSERT_GE(fd, 0);
  ::close(fd);
  const auto start = std::chrono::steady_clock::now();
  expect_error([&] { Segment::open(name.str(), SegmentKind::queue, 200ms); }, Errc::not_ready, name,
               "no creator holds it");
  EXPECT_GE(std::chrono::steady_clock::now() - start, 200ms);
}

TEST(SegmentValidation, LiveCreatorThatNeverFinishesIsReportedNotReadyAfterTheTimeout) {
  ScopedName name("val-slow-creator");
  const int fd = ::shm_open(name.str().c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  ASSERT_GE(fd, 0);
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = static_cast<off_t>(shmq::detail::kInitLockByte);
  fl.l_len = 1;
  ASSERT_EQ(::fcntl(fd, F_OFD_SETLK, &fl), 0);
  const auto start = std::chrono::steady_clock::now();
  expect_error([&] { Segment::open(name.str(), SegmentKind::queue, 200ms); }, Errc::not_ready, name,
               "not initialised within 200 ms");
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, 200ms);
  EXPECT_LT(print_ms("open of a never-ready segment with a 200 ms timeout", waited), 5000.0);
  ::close(fd);
}

}  // namespace
