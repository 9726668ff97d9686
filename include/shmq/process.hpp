// shmq::Process: run a callable in a forked child process — Python's multiprocessing.Process.
//
//   shmq::Process p(worker, 42, std::string("x"));  // target and arguments, copied into the handle
//   p.start();                                      // fork(); the child runs worker(42, "x")
//   p.join();                                       // or join(timeout): whether it ended
//   p.exitcode();                                   // std::optional<int>, Python's semantics
//
// The child:
// - runs target(args...) on its own copies of the arguments (fork copies the whole address space:
//   globals written by the child are not seen by the parent, as in Python);
// - exits with the target's int result, or 0 for a void target; an exception escaping the target
//   prints its what() to stderr and exits 1 (Python prints the traceback and exits 1);
// - flushes stdio and leaves with _exit(): the parent's atexit handlers and static destructors
//   do not run a second time in the child.
// Queue, Pipe and Manager handles the parent held stay usable in the child: the segment layer
// gives each inherited handle the child's own registry entry at fork() (detail/segment.hpp).
//
// exitcode(): std::nullopt until the child has ended (or before start()); then its exit status,
// or -N if signal N ended it (Python's convention: -15 after terminate(), -9 after kill()).
//
// Destruction: a started Process that was not joined is joined by the destructor (like
// std::jthread, and like Python's interpreter joining its non-daemon children at exit), so no
// child is left running unseen and no zombie is left behind. set_daemon(true) before start()
// makes the destructor terminate() the child first, as Python does with daemon processes at exit;
// detach() gives the child up instead (it keeps running; the handle forgets it). See
// docs/process.md.
//
// A Process handle is move-only and not thread-safe; only the process that called start() may
// join, signal or query it (in any other process these calls see "not started").
// Setup failures (fork, a second start()) throw shmq::Error.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <concepts>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace shmq {

namespace detail {

template <class...>
inline constexpr bool always_false = false;

// The stored target: a move-only, type-erased `int()` (std::move_only_function is C++23).
class ProcessTarget {
 public:
  virtual ~ProcessTarget() = default;
  virtual int run() = 0;
};

template <class F, class... Args>
class BoundProcessTarget final : public ProcessTarget {
 public:
  template <class G, class... A>
  explicit BoundProcessTarget(G&& f, A&&... args)
      : f_(std::forward<G>(f)), args_(std::forward<A>(args)...) {}
  // The child runs the target once: arguments are passed as rvalues where the target takes them
  // so (by value: a moved-in Connection or Queue handle), else as lvalues (by reference).
  int run() override {
    if constexpr (std::is_invocable_v<F&, Args&&...>) {
      return result([&] { return std::apply(f_, std::move(args_)); });
    } else {
      return result([&] { return std::apply(f_, args_); });
    }
  }

 private:
  template <class Call>
  static int result(Call&& call) {
    if constexpr (std::is_void_v<decltype(call())>) {
      call();
      return 0;
    } else {
      return static_cast<int>(call());
    }
  }

 private:
  F f_;
  std::tuple<Args...> args_;
};

}  // namespace detail

namespace detail {
// The result of running a stored target: with its arguments as rvalues if it takes them so,
// else as lvalues (BoundProcessTarget::run()).
template <class F, class... Args>
struct ProcessCall {
  static constexpr bool kByValue = std::is_invocable_v<F&, Args&&...>;
  static constexpr bool kByRef = std::is_invocable_v<F&, Args&...>;
  static constexpr bool kInvocable = kByValue || kByRef;
};
template <class F, class... Args>
using ProcessResult = typename std::conditional_t<ProcessCall<F, Args...>::kByValue,
                                                  std::invoke_result<F&, Args&&...>,
                                                  std::invoke_result<F&, Args&...>>::type;
template <class F, class... Args>
constexpr bool process_result_ok() {
  if constexpr (!ProcessCall<F, Args...>::kInvocable) {
    return false;
  } else {
    using R = ProcessResult<F, Args...>;
    return std::is_void_v<R> || std::is_convertible_v<R, int>;
  }
}
}  // namespace detail

// What a Process target may be: callable with the stored arguments, returning nothing (exit code
// 0) or an exit code.
template <class F, class... Args>
concept ProcessCallable = detail::process_result_ok<std::decay_t<F>, std::decay_t<Args>...>();

class Process {
 public:
  Process() noexcept = default;

  // The target and its arguments are copied (lvalues) or moved (rvalues) into the handle. start()
  // hands them to the child: the parent's copies are destroyed right after the fork, as Python
  // drops a Process's target and args after start(), so an end moved in here is held by the
  // child alone and its peer sees end-of-file when the child exits.
  template <class F, class... Args>
  requires ProcessCallable<F, Args...> &&
      (!std::same_as<std::decay_t<F>, Process>)explicit Process(F&& target, Args&&... args) {
    if constexpr ((std::is_constructible_v<std::decay_t<Args>, Args&&> && ...)) {
      target_ =
          std::make_unique<detail::BoundProcessTarget<std::decay_t<F>, std::decay_t<Args>...>>(
              std::forward<F>(target), std::forward<Args>(args)...);
    } else {
      static_assert(detail::always_false<Args...>,
                    "shmq::Process copies its arguments into the handle: pass a move-only one (a "
                    "Connection, a Queue) with std::move(end) to hand it to the child, or — for a "
                    "target taking it by reference (Connection&) — std::ref(end) to lend it");
    }
  }

  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  // Joins a started, un-joined child (terminating it first if it is a daemon). See the header.
  ~Process();

  // Forks; the child runs the target and never returns from start(). Throws Error(invalid_argument)
  // without a target or on a second start(), Error(system) if fork() fails.
  void start();

  // Waits until the child ends. Returns false only when not started.
  bool join();
  // Waits at most `timeout`; returns whether the child has ended.
  template <class Rep, class Period>
  bool join(std::chrono::duration<Rep, Period> timeout) {
    return join_for(std::chrono::duration_cast<std::chrono::nanoseconds>(timeout));
  }

  // Started and not yet ended (reaps the child if it has ended).
  bool is_alive();
  // std::nullopt while running or before start(); the exit status; -signal if a signal ended it.
  std::optional<int> exitcode();
  // The child's pid; 0 before start().
  pid_t pid() const noexcept { return pid_; }

  // SIGTERM / SIGKILL to a running child; no effect once it has ended or before start().
  void terminate() noexcept;
  void kill() noexcept;

  // Daemon: the destructor terminates the child before joining it. Set before start().
  void set_daemon(bool daemon) noexcept { daemon_ = daemon; }
  bool daemon() const noexcept { return daemon_; }
  // Forgets the child: it keeps running, the destructor leaves it alone.
  void detach() noexcept;

 private:
  bool join_for(std::chrono::nanoseconds timeout);
  bool owned_here() const noexcept;
  // Reaps the child if it has ended (blocking or not); returns whether it has.
  bool reap(bool block);
  void signal(int sig) noexcept;
  void release() noexcept;

  std::unique_ptr<detail::ProcessTarget> target_;
  pid_t pid_ = 0;
  pid_t parent_ = 0;  // the process that called start(): the only one that may reap the child
  int pidfd_ = -1;    // pidfd_open(pid_), for join(timeout) without polling; -1 if unsupported
  std::optional<int> exitcode_;
  bool daemon_ = false;
};

}  // namespace shmq
