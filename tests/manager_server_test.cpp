// The Manager's server (runtime/manager_server.cpp): its cap on the clients it tracks
// (kMaxManagerClients), reached by forged client ids sent through the real request queue of a
// live server.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "manager_server.hpp"  // runtime-private: tests/CMakeLists.txt adds runtime/
#include "manager_test_support.hpp"
#include "shmq/detail/layout.hpp"
#include "shmq/detail/manager_client.hpp"
#include "shmq/detail/manager_protocol.hpp"
#include "shmq/detail/segment.hpp"
#include "shmq/manager.hpp"
#include "shmq/queue.hpp"
#include "support/test_support.hpp"

namespace {

using namespace std::chrono_literals;
namespace wire = shmq::detail::wire;
using shmq::Manager;
using shmq::test::Child;
using shmq::test::ScopedManagerName;
using wire::Op;

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
    h.token = requests.core().segment().self_token();  // alive as long as this process
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
