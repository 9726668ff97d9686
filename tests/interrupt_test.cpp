// shmq::interrupt() (include/shmq/interrupt.hpp): blocked Queue and Connection calls return
// Status::interrupted once a signal handler (or any thread) calls it; later calls wait normally;
// a handler that does not call it ends no wait.
#include "shmq/interrupt.hpp"

#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <string>
#include <thread>

#include "shmq/pipe.hpp"
#include "shmq/queue.hpp"
#include "support/test_support.hpp"

namespace {

using namespace std::chrono_literals;
using shmq::Queue;
using shmq::Status;
using shmq::test::ScopedName;

pid_t current_tid() {
  return static_cast<pid_t>(::syscall(SYS_gettid));
}

// Installs `handler` for SIGUSR1 (with SA_RESTART, as std::signal does: the interruption must
// not depend on the kernel failing the futex wait) and restores the old action afterwards.
class ScopedHandler {
 public:
  explicit ScopedHandler(void (*handler)(int)) {
    struct sigaction sa {};
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGUSR1, &sa, &old_);
  }
  ~ScopedHandler() { ::sigaction(SIGUSR1, &old_, nullptr); }
  ScopedHandler(const ScopedHandler&) = delete;
  ScopedHandler& operator=(const ScopedHandler&) = delete;

 private:
  struct sigaction old_ {};
};

void interrupting_handler(int) {
  shmq::interrupt();
}
std::atomic<int> g_plain_handler_runs{0};
void plain_handler(int) {
  g_plain_handler_runs.fetch_add(1, std::memory_order_relaxed);
}

// Runs `blocking_call` on a thread, waits until that thread sleeps in the kernel, then runs
// `poke(thread)`; returns the call's status.
template <class Call, class Poke>
Status block_then(Call blocking_call, Poke poke) {
  std::atomic<pid_t> tid{0};
  std::promise<pthread_t> handle;
  auto result = std::async(std::launch::async, [&] {
    handle.set_value(pthread_self());
    tid.store(current_tid());
    return blocking_call();
  });
  const pthread_t thread = handle.get_future().get();
  EXPECT_TRUE(shmq::test::wait_until(
      [&] { return tid.load() != 0 && shmq::test::thread_state(tid.load()) == 'S'; }));
  poke(thread);
  return result.get();
}

shmq::QueueOptions small() {
  return {.capacity = 4};
}

TEST(Interrupt, AHandlerCallingInterruptEndsABlockedGetOnItsThread) {
  ScopedName name("intr-get");
  auto q = Queue<std::uint64_t>::create(name.str(), small());
  ScopedHandler h(interrupting_handler);
  const Status s = block_then(
      [&] {
        std::uint64_t v = 0;
        return q.get_for(v, 60s);
      },
      [](pthread_t t) { ::pthread_kill(t, SIGUSR1); });
  EXPECT_EQ(s, Status::interrupted);
}

TEST(Interrupt, InterruptFromAnotherThreadEndsABlockedPutWithinASlice) {
  ScopedName name("intr-put");
  auto q = Queue<std::uint64_t>::create(name.str(), small());
  for (std::uint64_t i = 0; i < q.capacity(); ++i)
    ASSERT_EQ(q.try_put(i), Status::ok);
  const Status s =
      block_then([&] { return q.put_for(99, 60s); }, [](pthread_t) { shmq::interrupt(); });
  EXPECT_EQ(s, Status::interrupted);
  // Nothing was put: the queue holds what it held.
  EXPECT_EQ(q.size(), q.capacity());
}

TEST(Interrupt, ACallStartedAfterTheInterruptWaitsNormally) {
  ScopedName name("intr-after");
  auto q = Queue<std::string>::create(name.str(), small());
  shmq::interrupt();
  std::string v;
  EXPECT_EQ(q.get_for(v, 30ms), Status::timeout);
  ASSERT_EQ(q.try_put(std::string("after")), Status::ok);
  EXPECT_EQ(q.get(v), Status::ok);
  EXPECT_EQ(v, "after");
}

TEST(Interrupt, AHandlerThatDoesNotCallInterruptEndsNoWait) {
  ScopedName name("intr-plain");
  auto q = Queue<std::uint64_t>::create(name.str(), small());
  // A handle is not thread-safe (queue.hpp): the main thread puts through a handle of its own.
  auto producer = Queue<std::uint64_t>::open(name.str());
  ScopedHandler h(plain_handler);
  const int before = g_plain_handler_runs.load();
  const Status s = block_then(
      [&] {
        std::uint64_t v = 0;
        return q.get_for(v, 60s);
      },
      [&](pthread_t t) {
        ::pthread_kill(t, SIGUSR1);
        // The handler ran and the get goes on waiting: only this put ends it.
        EXPECT_TRUE(shmq::test::wait_until([&] { return g_plain_handler_runs.load() > before; }));
        EXPECT_EQ(producer.try_put(5), Status::ok);
      });
  EXPECT_EQ(s, Status::ok);
}

TEST(Interrupt, ABlockedRecvReturnsInterruptedAndThePipeStillWorks) {
  ScopedName name("intr-pipe");
  auto ends = shmq::Pipe::create(name.str());  // not a structured binding: clang 14 cannot
  shmq::Connection& a = ends.first;            // capture one in a lambda
  shmq::Connection& b = ends.second;
  ScopedHandler h(interrupting_handler);
  std::string got;
  const Status s =
      block_then([&] { return b.recv(got); }, [](pthread_t t) { ::pthread_kill(t, SIGUSR1); });
  EXPECT_EQ(s, Status::interrupted);
  ASSERT_EQ(a.send(std::string_view("next")), Status::ok);
  EXPECT_EQ(b.recv(got), Status::ok);
  EXPECT_EQ(got, "next");
}

}  // namespace
