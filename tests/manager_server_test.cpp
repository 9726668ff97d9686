// The Manager's server (runtime/manager/manager_server.cpp): what its request path does with
// requests of another epoch, driven directly through dispatch_frame() and a RequestSink that
// records every effect; and its cap on the clients it tracks (kMaxManagerClients), reached by
// forged client ids sent through the real request queue of a live server.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "manager_server.hpp"  // runtime-private: tests/CMakeLists.txt adds runtime/
#include "manager_store.hpp"
#include "manager_test_support.hpp"
#include "shmq/detail/access.hpp"
#include "shmq/detail/layout.hpp"
#include "shmq/detail/manager/manager_client.hpp"
#include "shmq/detail/manager/manager_protocol.hpp"
#include "shmq/detail/segment.hpp"
#include "shmq/manager.hpp"
#include "shmq/queue.hpp"
#include "support/test_support.hpp"

namespace {

using namespace std::chrono_literals;
namespace wire = shmq::detail::wire;
namespace mgr = shmq::detail::mgr;
using shmq::Manager;
using shmq::test::Child;
using shmq::test::ScopedManagerName;
using wire::Code;
using wire::ObjectKind;
using wire::Op;

// ---- dispatch_frame() with frames of another epoch ----

constexpr std::uint32_t kEpoch = 5;  // the server's epoch
constexpr std::uint64_t kClient = 3;

struct Sent {
  std::uint64_t client = 0;
  std::uint64_t request = 0;
  Code code = Code::ok;
  std::string body;
};

// The server around dispatch_frame(): admits every client, records every effect.
class RecordingSink final : public shmq::detail::RequestSink {
 public:
  shmq::detail::PartialRequest* admit(std::uint64_t client, std::uint64_t) override {
    return &partial_[client];
  }
  void refuse(std::uint64_t client, std::uint64_t request) override {
    sent.push_back({client, request, Code::refused, {}});
  }
  void reply(std::uint64_t client, std::uint64_t request, Code code,
             std::string_view body) override {
    sent.push_back({client, request, code, std::string(body)});
  }
  void journal(Op op, std::string_view body) override {
    journaled.emplace_back(op, std::string(body));
  }
  void changed() override { ++changes; }
  void malformed() override { ++malformed_count; }
  void applied() override { ++applied_count; }
  void stop() override { stopped = true; }

  std::vector<Sent> sent;
  std::vector<std::pair<Op, std::string>> journaled;
  int changes = 0;
  int malformed_count = 0;
  int applied_count = 0;
  bool stopped = false;

 private:
  std::map<std::uint64_t, shmq::detail::PartialRequest> partial_;
};

// A request body on object `name` of `kind`, as ManagerObject::call starts it.
std::string object_body(std::string_view name, ObjectKind kind) {
  std::string body;
  wire::Writer w(body);
  w.bytes(name);
  w.u8(static_cast<std::uint8_t>(kind));
  return body;
}

std::string attach_body(std::string_view name, ObjectKind kind) {
  std::string body = object_body(name, kind);
  wire::Writer w(body);
  w.bytes("tag");
  w.u64(0);
  w.bytes("");
  return body;
}

std::string append_body(std::string_view value) {
  std::string body = object_body("l", ObjectKind::list);
  wire::Writer(body).bytes(value);
  return body;
}

std::string frame(Op op, std::uint32_t epoch, std::uint64_t request, std::string_view body,
                  bool more = false, std::uint64_t client = kClient) {
  wire::FrameHeader h;
  h.op = op;
  h.flags = more ? wire::kFrameMore : 0;
  h.epoch = epoch;
  h.client_id = client;
  h.request_id = request;
  h.token = 1;
  std::string f(wire::kFrameHeaderBytes, '\0');
  wire::put_header(h, f.data());
  f.append(body);
  return f;
}

class ManagerServerEpoch : public ::testing::Test {
 protected:
  // Hands one frame to the request path; returns what the server sent for it.
  std::vector<Sent> dispatch(const std::string& f) {
    sink_.sent.clear();
    shmq::detail::dispatch_frame(f, kEpoch, store_, sink_);
    return std::move(sink_.sent);
  }
  // Attaches list "l" at the server's epoch; afterwards only what the test sends is journaled.
  void attach_list() {
    const auto sent = dispatch(frame(Op::attach, kEpoch, 1, attach_body("l", ObjectKind::list)));
    ASSERT_EQ(sent.size(), 1U);
    ASSERT_EQ(sent[0].code, Code::ok);
    ASSERT_EQ(sink_.journaled.size(), 1U);
    sink_.journaled.clear();
    sink_.changes = 0;
    sink_.applied_count = 0;
  }
  // The length of list "l", asked at the server's epoch.
  std::uint64_t list_size(std::uint64_t request) {
    const auto sent =
        dispatch(frame(Op::list_size, kEpoch, request, object_body("l", ObjectKind::list)));
    EXPECT_EQ(sent.size(), 1U);
    if (sent.size() != 1 || sent[0].code != Code::ok) return ~std::uint64_t{0};
    wire::Reader in(sent[0].body);
    const std::uint64_t n = in.u64();
    EXPECT_TRUE(in.done());
    return n;
  }

  mgr::Store store_;
  RecordingSink sink_;
};

TEST_F(ManagerServerEpoch, ARequestOfAnotherEpochIsAnsweredStaleAndNotApplied) {
  ASSERT_NO_FATAL_FAILURE(attach_list());
  std::uint64_t request = 10;
  for (const std::uint32_t epoch : {kEpoch - 1, kEpoch + 1}) {
    ++request;
    const auto sent = dispatch(frame(Op::list_append, epoch, request, append_body("x")));
    ASSERT_EQ(sent.size(), 1U) << "epoch " << epoch;
    EXPECT_EQ(sent[0].client, kClient);
    EXPECT_EQ(sent[0].request, request);
    EXPECT_EQ(sent[0].code, Code::stale_epoch) << "epoch " << epoch;
    EXPECT_TRUE(sent[0].body.empty());
  }
  EXPECT_TRUE(sink_.journaled.empty()) << "a stale request was journaled";
  EXPECT_EQ(sink_.applied_count, 0);
  EXPECT_EQ(sink_.changes, 0);
  EXPECT_EQ(list_size(20), 0U) << "a stale request was applied";
  // The same request at the server's epoch is applied and journaled (what the client resends).
  const auto sent = dispatch(frame(Op::list_append, kEpoch, 21, append_body("x")));
  ASSERT_EQ(sent.size(), 1U);
  EXPECT_EQ(sent[0].code, Code::ok);
  EXPECT_EQ(sink_.journaled.size(), 1U);
  EXPECT_EQ(list_size(22), 1U);
}

TEST_F(ManagerServerEpoch, AMultiFrameRequestOfAnotherEpochIsAnsweredStaleOnceAtItsLastFrame) {
  ASSERT_NO_FATAL_FAILURE(attach_list());
  const std::string body = append_body(std::string(90, 'v'));
  const std::size_t third = body.size() / 3;
  const std::string_view b(body);
  EXPECT_TRUE(dispatch(frame(Op::list_append, kEpoch - 1, 2, b.substr(0, third), true)).empty());
  EXPECT_TRUE(
      dispatch(frame(Op::list_append, kEpoch - 1, 2, b.substr(third, third), true)).empty());
  const auto sent = dispatch(frame(Op::list_append, kEpoch - 1, 2, b.substr(2 * third)));
  ASSERT_EQ(sent.size(), 1U);
  EXPECT_EQ(sent[0].request, 2U);
  EXPECT_EQ(sent[0].code, Code::stale_epoch);
  EXPECT_TRUE(sink_.journaled.empty());
  EXPECT_EQ(list_size(3), 0U);
}

// A cancel is never answered (its client waits for the reply to the request it cancels); one of
// another epoch cancels nothing: the wait of this epoch stays parked and is granted later.
TEST_F(ManagerServerEpoch, ACancelOfAnotherEpochCancelsNothing) {
  constexpr std::uint64_t kHolder = 7;
  const std::string lock = object_body("k", ObjectKind::lock);
  std::string blocking = lock;
  wire::Writer(blocking).u8(1);
  auto attached =
      dispatch(frame(Op::attach, kEpoch, 1, attach_body("k", ObjectKind::lock), false, kHolder));
  ASSERT_EQ(attached.size(), 1U);
  ASSERT_EQ(attached[0].code, Code::ok);
  auto held = dispatch(frame(Op::lock_acquire, kEpoch, 2, blocking, false, kHolder));
  ASSERT_EQ(held.size(), 1U);
  ASSERT_EQ(held[0].code, Code::ok);
  EXPECT_TRUE(dispatch(frame(Op::lock_acquire, kEpoch, 5, blocking)).empty()) << "not parked";
  std::string cancel;  // what a client's cancel carries: the request it gives up
  wire::Writer(cancel).u64(5);
  EXPECT_TRUE(dispatch(frame(Op::cancel, kEpoch - 1, 6, cancel)).empty())
      << "a stale cancel was answered, or cancelled the wait";
  const auto released = dispatch(frame(Op::lock_release, kEpoch, 3, lock, false, kHolder));
  ASSERT_EQ(released.size(), 2U);  // the release's answer and the grant, in either order
  const Sent& grant = released[0].client == kClient ? released[0] : released[1];
  const Sent& release = released[0].client == kClient ? released[1] : released[0];
  EXPECT_EQ(release.client, kHolder);
  EXPECT_EQ(release.request, 3U);
  EXPECT_EQ(release.code, Code::ok);
  EXPECT_EQ(grant.client, kClient);
  EXPECT_EQ(grant.request, 5U);
  EXPECT_EQ(grant.code, Code::ok) << "the parked wait was not granted";
}

// ---- the cap on tracked clients, on a live server ----

// The server's count of clients it found dead and reclaimed.
std::uint64_t dead_clients(const shmq::detail::Segment& seg) {
  const auto& ctl = *reinterpret_cast<const shmq::detail::ManagerControl*>(
      seg.base() + shmq::detail::kBodyOffset);
  // relaxed: a statistics counter, read after a reply the server sent after writing it.
  return ctl.dead_clients.load(std::memory_order_relaxed);
}

bool is_refused(const shmq::Error& e) {
  return e.code() == std::make_error_code(std::errc::connection_refused);
}

// A process forges client ids (the only way to reach the cap: each real connection holds one of
// N.req's 64 registry entries) and fills the server's table but for one place. The next client
// takes it; the one after is refused with a clear error, and keeps being refused while the forged
// clients live; the tracked clients keep working. Once the forger dies, its forged clients are
// reclaimed and the refused client, and a new one, are admitted.
TEST(ManagerServerClients, AClientBeyondTheCapIsRefusedClearlyUntilDeadClientsAreReclaimed) {
  ScopedManagerName name("mgr-cap");
  shmq::ManagerOptions o = shmq::test::fast_options();
  // Housekeeping looks at every tracked client (a syscall each): not every 10 ms for 16384.
  o.housekeeping = std::chrono::milliseconds(200);
  auto m = Manager::create(name, o);
  auto d1 = m.dict<std::string, int>("d");  // tracked client 1
  auto second = Manager::open(name, o);
  auto d2 = second.dict<std::string, int>("d");                  // tracked client 2
  constexpr std::uint64_t kForgedBase = std::uint64_t{1} << 40;  // no real client has these
  const std::size_t forged = shmq::detail::kMaxManagerClients - 3;
  Child forger([&]() -> int {
    auto requests = shmq::Queue<std::string>::open(shmq::detail::manager_request_name(name.str()));
    wire::FrameHeader h;
    h.op = Op::cancel;  // never answered; of epoch 0 (no server's), so it cancels nothing
    h.epoch = 0;
    h.request_id = 1;
    h.token =
        shmq::detail::core_of(requests).segment().self_token();  // alive as long as this process
    std::string cancel;
    wire::Writer(cancel).u64(0);
    std::string f(wire::kFrameHeaderBytes, '\0');
    f.append(cancel);
    for (std::size_t i = 0; i < forged; ++i) {
      h.client_id = kForgedBase + i;
      wire::put_header(h, f.data());
      if (requests.put(f) != shmq::Status::ok) return 2;
    }
    shmq::test::report_ready();  // every forged frame is in the queue, ahead of later requests
    shmq::test::wait_go();
    return 0;
  });
  ASSERT_TRUE(forger.wait_ready());

  auto third = Manager::open(name, o);
  auto d3 = third.dict<std::string, int>("d");  // the last place
  d3.set("third", 3);
  // The client beyond the cap, in a child: a refusal that never came would fail wait_ready(), not
  // hang the test.
  constexpr int kAdmitted = 1;
  constexpr int kOtherError = 2;
  constexpr int kWrongAfterAdmission = 3;
  Child late([&]() -> int {
    auto mine = Manager::open(name, o);
    for (int attempt = 0; attempt < 2; ++attempt) {  // still refused while the forged live
      try {
        (void)mine.dict<std::string, int>("d");
        return kAdmitted;
      } catch (const shmq::Error& e) {
        const std::string what = e.what();
        std::fprintf(stderr, "refused client, attempt %d: %s\n", attempt, what.c_str());
        if (!is_refused(e) || e.segment() != name.str() ||
            what.find(std::to_string(shmq::detail::kMaxManagerClients)) == std::string::npos) {
          return kOtherError;
        }
      }
    }
    shmq::test::report_ready();
    shmq::test::wait_go();
    auto d = mine.dict<std::string, int>("d");  // admitted now
    d.set("late", 4);
    if (d.get("first") != 1) return kWrongAfterAdmission;
    shmq::test::report_ready();  // admitted; alive (tracked) until go
    shmq::test::wait_go();
    return 0;
  });
  ASSERT_TRUE(late.wait_ready()) << "no refusal seen (exit " << late.wait(0ms)
                                 << ": 1 admitted, 2 another error, -1 still waiting)";
  // The tracked clients are served as before.
  d1.set("first", 1);
  d2.set("second", 2);
  EXPECT_EQ(d1.get("third"), 3);
  EXPECT_EQ(d3.get("second"), 2);
  EXPECT_EQ(d2.size(), 3U);

  const auto seg = shmq::detail::Segment::open(name.str(), shmq::detail::SegmentKind::manager);
  EXPECT_EQ(dead_clients(seg), 0U);
  ASSERT_TRUE(forger.go());
  ASSERT_EQ(forger.wait(), 0);
  // Its forged clients are dead now: reclaimed, at the latest when the refused client asks again.
  ASSERT_TRUE(late.go());
  ASSERT_TRUE(late.wait_ready()) << "not admitted once the forger died; exit " << late.wait(0ms)
                                 << " (3: admitted, but saw a wrong value)";
  EXPECT_EQ(dead_clients(seg), forged);  // those, and no tracked client
  auto fresh = Manager::open(name, o);
  auto d_fresh = fresh.dict<std::string, int>("d");
  EXPECT_EQ(d_fresh.get("late"), 4);
  ASSERT_TRUE(late.go());
  EXPECT_EQ(late.wait(), 0);
}

}  // namespace
