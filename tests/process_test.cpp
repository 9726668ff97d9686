// shmq::Process: exit codes, signals, exceptions, join timeouts, destruction, and handles of
// queues inherited across fork().
#include "shmq/process.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "shmq/error.hpp"
#include "shmq/pipe.hpp"
#include "shmq/queue.hpp"
#include "support/test_support.hpp"

namespace {

using namespace std::chrono_literals;
using shmq::Process;
using shmq::Status;

constexpr auto kChildWaitSeconds = std::chrono::seconds(60);

int g_counter = 1;  // NOLINT: the test is about a global

std::string temp_path(const char* what) {
  return "/tmp/shmq-process-test-" + std::to_string(getpid()) + "-" + what;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Blocks until `fd` can be read (or is closed): a child that runs until the parent lets it end.
void wait_on(int fd) {
  char byte = 0;
  while (::read(fd, &byte, 1) < 0 && errno == EINTR) {
  }
}

// Runs forever: a child that only a signal ends.
[[noreturn]] void pause_forever() {
  for (;;)
    ::pause();
}

TEST(ProcessTest, ExitcodeIsNoneBeforeStartAndWhileRunning) {
  int release[2];
  ASSERT_EQ(::pipe(release), 0);
  Process p([r = release[0], w = release[1]] {
    ::close(w);
    wait_on(r);  // runs until the parent closes the pipe
  });
  EXPECT_FALSE(p.exitcode().has_value());
  EXPECT_FALSE(p.is_alive());
  EXPECT_EQ(p.pid(), 0);
  p.start();
  EXPECT_GT(p.pid(), 0);
  EXPECT_TRUE(p.is_alive());
  EXPECT_FALSE(p.exitcode().has_value());
  ::close(release[0]);
  ::close(release[1]);  // end-of-file: the child ends
  EXPECT_TRUE(p.join());
  EXPECT_FALSE(p.is_alive());
  EXPECT_EQ(p.exitcode(), 0);
}

TEST(ProcessTest, VoidTargetExitsWithZero) {
  Process p([] {});
  p.start();
  ASSERT_TRUE(p.join());
  EXPECT_EQ(p.exitcode(), 0);
}

TEST(ProcessTest, IntTargetReturnValueIsTheExitCode) {
  Process p([](int a, int b) { return a + b; }, 3, 4);
  p.start();
  ASSERT_TRUE(p.join());
  EXPECT_EQ(p.exitcode(), 7);
}

TEST(ProcessTest, MoveOnlyArgumentsAreStoredAndPassedToTheTarget) {
  auto value = std::make_unique<int>(42);
  Process p(
      [](std::unique_ptr<int>& v, const std::string& s) { return *v + static_cast<int>(s.size()); },
      std::move(value), std::string("abc"));
  p.start();
  ASSERT_TRUE(p.join());
  EXPECT_EQ(p.exitcode(), 45);
}

TEST(ProcessTest, EscapingExceptionPrintsWhatAndExitsWithOne) {
  const std::string path = temp_path("stderr");
  Process p([&path] {
    // Send this child's stderr to a file the parent reads.
    if (std::freopen(path.c_str(), "w", stderr) == nullptr) _exit(99);
    throw std::runtime_error("boom in the child");
  });
  p.start();
  ASSERT_TRUE(p.join());
  EXPECT_EQ(p.exitcode(), 1);
  const std::string err = read_file(path);
  std::remove(path.c_str());
  EXPECT_NE(err.find("boom in the child"), std::string::npos) << err;
}

TEST(ProcessTest, NonStandardExceptionExitsWithOne) {
  Process p([] {
    std::freopen("/dev/null", "w", stderr);
    throw 42;
  });
  p.start();
  ASSERT_TRUE(p.join());
  EXPECT_EQ(p.exitcode(), 1);
}

TEST(ProcessTest, JoinWithTimeoutReturnsFalseWhileTheChildRuns) {
  Process p([] { pause_forever(); });
  p.start();
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(p.join(50ms));
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, 50ms);
  EXPECT_LT(waited, 5s) << "join(50ms) did not end at its timeout";
  std::fprintf(stderr, "[time] join(50ms) of a running child: %.2f ms\n",
               std::chrono::duration<double, std::milli>(waited).count());
  EXPECT_TRUE(p.is_alive());
  p.kill();
  EXPECT_TRUE(p.join(60s));
  EXPECT_EQ(p.exitcode(), -SIGKILL);
}

TEST(ProcessTest, JoinWithTimeoutReturnsTrueAsSoonAsTheChildEnds) {
  Process p([] {
    // deliberate-sleep: most likely still running when join() starts; the test holds either way.
    std::this_thread::sleep_for(50ms);
    return 5;
  });
  p.start();
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(p.join(10s));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_EQ(p.exitcode(), 5);
  EXPECT_TRUE(p.join(0ms));  // joining again is harmless
  EXPECT_TRUE(p.join());
}

TEST(ProcessTest, TerminateEndsTheChildWithMinusSigterm) {
  Process p([] { pause_forever(); });
  p.start();
  p.terminate();
  ASSERT_TRUE(p.join(60s));
  EXPECT_EQ(p.exitcode(), -SIGTERM);
}

TEST(ProcessTest, KillEndsTheChildWithMinusSigkill) {
  Process p([] {
    std::signal(SIGTERM, SIG_IGN);  // only SIGKILL can end it
    pause_forever();
  });
  p.start();
  p.kill();
  ASSERT_TRUE(p.join(60s));
  EXPECT_EQ(p.exitcode(), -SIGKILL);
}

TEST(ProcessTest, ChildEndedBySignalReportsMinusTheSignal) {
  Process p([] {
    std::signal(SIGABRT, SIG_DFL);
    std::raise(SIGABRT);
  });
  p.start();
  ASSERT_TRUE(p.join(60s));
  EXPECT_EQ(p.exitcode(), -SIGABRT);
}

TEST(ProcessTest, SignalsAfterTheChildEndedHaveNoEffect) {
  Process p([] { return 3; });
  p.start();
  ASSERT_TRUE(p.join());
  p.terminate();
  p.kill();
  EXPECT_EQ(p.exitcode(), 3);
}

TEST(ProcessTest, GlobalsWrittenByTheChildAreNotSeenByTheParent) {
  g_counter = 1;
  Process p([] {
    g_counter += 1;
    return g_counter;
  });
  p.start();
  ASSERT_TRUE(p.join());
  EXPECT_EQ(p.exitcode(), 2);
  EXPECT_EQ(g_counter, 1);
}

TEST(ProcessTest, StartWithoutTargetThrows) {
  Process p;
  EXPECT_THROW(p.start(), shmq::Error);
}

TEST(ProcessTest, SecondStartThrows) {
  Process p([] {});
  p.start();
  EXPECT_THROW(p.start(), shmq::Error);
  EXPECT_TRUE(p.join());
}

TEST(ProcessTest, MovedProcessKeepsTheChild) {
  std::vector<Process> ps;
  for (int i = 0; i < 4; ++i) {
    Process p([](int v) { return v; }, i + 10);
    p.start();
    ps.push_back(std::move(p));
  }
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(ps[i].join());
    EXPECT_EQ(ps[i].exitcode(), i + 10);
  }
}

TEST(ProcessTest, DestructorJoinsAnUnjoinedChild) {
  const std::string path = temp_path("joined");
  std::remove(path.c_str());
  {
    Process p([&path] {
      // The child is still running when the destructor runs (most likely), so the file exists
      // only if the destructor waited; the test holds either way.
      // deliberate-sleep: outlive the destructor's start.
      std::this_thread::sleep_for(100ms);
      std::ofstream(path) << "done";
    });
    p.start();
  }
  EXPECT_EQ(read_file(path), "done");  // the destructor waited for the child to finish
  std::remove(path.c_str());
}

TEST(ProcessTest, DestructorTerminatesADaemonChild) {
  const auto t0 = std::chrono::steady_clock::now();
  pid_t pid = 0;
  {
    Process p([] { pause_forever(); });
    p.set_daemon(true);
    p.start();
    pid = p.pid();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
  EXPECT_EQ(::kill(pid, 0), -1);  // reaped: the pid no longer names our child
}

TEST(ProcessTest, DetachLeavesTheChildRunning) {
  pid_t pid = 0;
  {
    Process p([] { pause_forever(); });
    p.start();
    pid = p.pid();
    p.detach();
    EXPECT_FALSE(p.is_alive());
  }
  EXPECT_EQ(::kill(pid, 0), 0);  // still there
  ::kill(pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);  // detached: reaping is ours now
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
}

TEST(ProcessTest, ChildReportsItsOwnPid) {
  shmq::test::ScopedName name("proc-pid");
  auto q = shmq::Queue<std::int64_t>::create(name.str(), {.capacity = 4});
  Process p([&q] { return q.put(static_cast<std::int64_t>(getpid())) == Status::ok ? 0 : 1; });
  p.start();
  ASSERT_TRUE(p.join());
  EXPECT_EQ(p.exitcode(), 0);
  std::int64_t got = 0;
  ASSERT_EQ(q.get_for(got, 5s), Status::ok);
  EXPECT_EQ(got, p.pid());
}

// The queue is created in the parent; one child only puts, another only gets, through the
// handle each inherited at fork(). Payloads are checked by sequence number and checksum.
TEST(ProcessTest, QueueCreatedInTheParentIsUsableForPutInOneChildAndGetInAnother) {
  shmq::test::ScopedName name("proc-queue");
  auto q = shmq::Queue<std::uint64_t>::create(
      name.str(),
      {.capacity = 64, .producers = shmq::Producers::one, .consumers = shmq::Consumers::one});
  constexpr std::uint64_t kCount = 20000;
  Process producer([&q] {
    for (std::uint64_t i = 0; i < kCount; ++i) {
      if (q.put(i * 2654435761ULL) != Status::ok) return 2;
    }
    return 0;
  });
  Process consumer([&q] {
    for (std::uint64_t i = 0; i < kCount; ++i) {
      std::uint64_t v = 0;
      if (q.get_for(v, 30s) != Status::ok) return 3;
      if (v != i * 2654435761ULL) return 4;
    }
    return 0;
  });
  producer.start();
  consumer.start();
  ASSERT_TRUE(producer.join(60s));
  ASSERT_TRUE(consumer.join(60s));
  EXPECT_EQ(producer.exitcode(), 0);
  EXPECT_EQ(consumer.exitcode(), 0);
  // The parent never took a role: it can still be the single consumer now that the child is gone.
  std::uint64_t v = 0;
  EXPECT_EQ(q.try_get(v), Status::empty);
}

// Issue 11, first hour: `Process p(child, std::move(end))` used to keep the parent's copy of the
// end, so the parent's recv never saw end-of-file after the child exited.
TEST(ProcessTest, AnEndMovedIntoAProcessIsHeldByTheChildAlone) {
  shmq::test::ScopedName name("process-moved-end");
  auto [parent_end, child_end] = shmq::Pipe::create(name.str());
  Process p(
      [](shmq::Connection conn) {
        return conn.send(std::string_view("from the child")) == Status::ok ? 0 : 1;
      },
      std::move(child_end));
  p.start();
  ASSERT_TRUE(parent_end.poll(kChildWaitSeconds));
  std::string got;
  ASSERT_EQ(parent_end.recv(got), Status::ok);
  EXPECT_EQ(got, "from the child");
  ASSERT_TRUE(p.join(kChildWaitSeconds));
  EXPECT_EQ(p.exitcode(), 0);
  // The child has exited and nobody else holds its end: end-of-file at once, not a hang.
  ASSERT_TRUE(parent_end.poll(kChildWaitSeconds));
  EXPECT_EQ(parent_end.recv(got), Status::closed);
}

// A lent end (std::ref) stays the parent's: the child uses it, the parent keeps it open.
TEST(ProcessTest, AnEndLentWithStdRefStaysWithTheParent) {
  shmq::test::ScopedName name("process-lent-end");
  auto [parent_end, child_end] = shmq::Pipe::create(name.str());
  Process p([](shmq::Connection& conn) { return conn.closed() ? 1 : 0; }, std::ref(child_end));
  p.start();
  ASSERT_TRUE(p.join(kChildWaitSeconds));
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_FALSE(child_end.closed());
  EXPECT_EQ(child_end.send(std::string_view("still mine")), Status::ok);
  std::string got;
  EXPECT_EQ(parent_end.recv(got), Status::ok);
  EXPECT_EQ(got, "still mine");
}

}  // namespace
