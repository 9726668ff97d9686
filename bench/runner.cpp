#include "runner.hpp"

#include <fmt/format.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <system_error>
#include <vector>

namespace shmq_bench {

volatile std::sig_atomic_t g_interrupted = 0;

std::string_view to_string(Figure f) noexcept {
  switch (f) {
    case Figure::roundtrip:
      return "roundtrip";
    case Figure::throughput:
      return "throughput";
    case Figure::mpmc:
      return "mpmc";
    case Figure::manager:
      return "manager";
  }
  return "?";
}

std::string_view to_string(Wait w) noexcept {
  switch (w) {
    case Wait::spin:
      return "spin";
    case Wait::sleep:
      return "sleep";
    case Wait::normal:
      return "normal";
  }
  return "?";
}

std::int64_t now_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

namespace {

std::int64_t to_ns(const timeval& tv) {
  return std::int64_t{tv.tv_sec} * 1'000'000'000 + std::int64_t{tv.tv_usec} * 1000;
}

void sleep_ns(long ns) {
  timespec ts{0, ns};
  nanosleep(&ts, nullptr);
}

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  }
  return cpus;
}

std::string read_line(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return {};
  char buf[256] = {};
  const bool got = std::fgets(buf, sizeof buf, f) != nullptr;
  std::fclose(f);
  std::string s = got ? buf : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  return s;
}

// The anonymous shared page of one run.
class SharedMapping {
 public:
  SharedMapping() {
    void* p =
        mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "mmap");
    shared_ = new (p) Shared{};
  }
  ~SharedMapping() {
    shared_->~Shared();
    munmap(shared_, sizeof(Shared));
  }
  SharedMapping(const SharedMapping&) = delete;
  SharedMapping& operator=(const SharedMapping&) = delete;
  Shared& get() const noexcept { return *shared_; }

 private:
  Shared* shared_;
};

struct Child {
  pid_t pid = -1;
  Role role = Role::producer;
  int index = 0;
  bool reaped = false;
  int status = 0;
  rusage usage{};
};

[[noreturn]] void child_main(Run& run, Shared& shared, const Scenario& s, Role role, int index,
                             int slot, int cpu, pid_t parent, std::size_t samples_cap) {
  // The parent handles ^C (it cleans up); a child just dies, also if the parent dies first.
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(3);
  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);  // best effort: unpinned still measures
  }
  int rc = 0;
  try {
    ChildContext ctx(shared, s, role, index, slot, samples_cap);
    run.child(ctx);
  } catch (const std::exception& e) {
    std::snprintf(shared.results[slot].error, sizeof shared.results[slot].error, "%s", e.what());
    rc = 1;
  } catch (...) {
    std::snprintf(shared.results[slot].error, sizeof shared.results[slot].error, "unknown error");
    rc = 1;
  }
  std::fflush(nullptr);
  _exit(rc);
}

const char* role_name(Role r) {
  switch (r) {
    case Role::ping:
      return "ping";
    case Role::pong:
      return "pong";
    case Role::producer:
      return "producer";
    case Role::consumer:
      return "consumer";
    case Role::client:
      return "client";
    case Role::server:
      return "server";
  }
  return "?";
}

// Reaps whatever has exited; returns the first failure (or empty).
std::string reap(std::vector<Child>& children, const Shared& shared, bool block) {
  std::string failure;
  for (std::size_t i = 0; i < children.size(); ++i) {
    Child& c = children[i];
    if (c.reaped) continue;
    const pid_t r = wait4(c.pid, &c.status, block ? 0 : WNOHANG, &c.usage);
    if (r != c.pid) continue;
    c.reaped = true;
    const bool clean = WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0;
    if (!clean && failure.empty()) {
      const char* msg = shared.results[i].error;
      if (msg[0] != '\0') {
        failure = fmt::format("{} {}: {}", role_name(c.role), c.index, msg);
      } else if (WIFSIGNALED(c.status)) {
        failure = fmt::format("{} {} killed by signal {}", role_name(c.role), c.index,
                              WTERMSIG(c.status));
      } else {
        failure =
            fmt::format("{} {} exited with {}", role_name(c.role), c.index, WEXITSTATUS(c.status));
      }
    }
  }
  return failure;
}

bool all_reaped(const std::vector<Child>& children) {
  return std::all_of(children.begin(), children.end(), [](const Child& c) { return c.reaped; });
}

void kill_all(std::vector<Child>& children, const Shared& shared) {
  for (Child& c : children) {
    if (!c.reaped && c.pid > 0) kill(c.pid, SIGKILL);
  }
  while (!all_reaped(children))
    (void)reap(children, shared, true);
}

// Round trips: ping's latencies; two messages per round trip, each side's CPU over its count.
// Returns the CPU per message, in ns.
double aggregate_roundtrip(Measurement& m, const Shared& shared) {
  const ChildResult& ping = shared.results[0];
  const ChildResult& pong = shared.results[1];
  if (ping.samples == 0) throw std::runtime_error("no round trip inside the window");
  if (pong.msgs_total != ping.msgs_total) {
    throw std::runtime_error(
        fmt::format("ping made {} round trips, pong echoed {}", ping.msgs_total, pong.msgs_total));
  }
  m.p50_us = ping.p50_ns / 1e3;
  m.p99_us = ping.p99_ns / 1e3;
  m.p999_us = ping.p999_ns / 1e3;
  m.max_us = ping.max_ns / 1e3;
  m.mean_us = ping.mean_ns / 1e3;
  m.samples = ping.samples;
  m.messages = 2 * ping.msgs_window;
  m.window_s = static_cast<double>(ping.window_end_ns - ping.window_start_ns) / 1e9;
  return (static_cast<double>(ping.cpu_ns) + static_cast<double>(pong.cpu_ns)) /
         (2.0 * static_cast<double>(ping.msgs_total));
}

// One client (slot 0) calling one server (slot 1); the server's CPU counts per call too.
double aggregate_manager(Measurement& m, const Shared& shared) {
  const ChildResult& client = shared.results[0];
  const ChildResult& server = shared.results[1];
  if (client.msgs_window == 0 || client.window_end_ns <= client.window_start_ns) {
    throw std::runtime_error("no call inside the window");
  }
  m.messages = client.msgs_window;
  m.window_s = static_cast<double>(client.window_end_ns - client.window_start_ns) / 1e9;
  m.msgs_per_s = static_cast<double>(client.msgs_window) / m.window_s;
  m.mb_per_s = m.msgs_per_s * static_cast<double>(m.scenario.bytes) / 1e6;
  return (static_cast<double>(client.cpu_ns) + static_cast<double>(server.cpu_ns)) /
         static_cast<double>(client.msgs_total);
}

// Producers and consumers: every message sent must be taken; the window spans the consumers'.
double aggregate_throughput(Measurement& m, const std::vector<Child>& children,
                            const Shared& shared) {
  std::uint64_t sent = 0, taken = 0, window_msgs = 0;
  double prod_cpu = 0, cons_cpu = 0;
  std::int64_t start = INT64_MAX, end = INT64_MIN;
  for (std::size_t i = 0; i < children.size(); ++i) {
    const ChildResult& r = shared.results[i];
    if (children[i].role == Role::producer) {
      sent += r.msgs_total;
      prod_cpu += static_cast<double>(r.cpu_ns);
    } else {
      taken += r.msgs_total;
      window_msgs += r.msgs_window;
      cons_cpu += static_cast<double>(r.cpu_ns);
      start = std::min(start, r.window_start_ns);
      end = std::max(end, r.window_end_ns);
    }
  }
  if (sent != taken) {
    throw std::runtime_error(
        fmt::format("{} messages sent but {} taken: messages lost or duplicated", sent, taken));
  }
  if (sent == 0 || end <= start) throw std::runtime_error("no message inside the window");
  m.messages = window_msgs;
  m.window_s = static_cast<double>(end - start) / 1e9;
  m.msgs_per_s = static_cast<double>(window_msgs) / m.window_s;
  m.mb_per_s = m.msgs_per_s * static_cast<double>(m.scenario.bytes) / 1e6;
  return (prod_cpu + cons_cpu) / static_cast<double>(sent);
}

// Fills the figures of `m` from the children's results.
void aggregate(Measurement& m, const std::vector<Child>& children, const Shared& shared) {
  for (const Child& c : children)
    m.cpu_total_s += static_cast<double>(to_ns(c.usage.ru_utime) + to_ns(c.usage.ru_stime)) / 1e9;
  const double cpu_per_msg_ns =
      m.scenario.figure == Figure::roundtrip ? aggregate_roundtrip(m, shared)
      : m.scenario.figure == Figure::manager ? aggregate_manager(m, shared)
                                             : aggregate_throughput(m, children, shared);
  m.cpu_s_per_million = cpu_per_msg_ns * 1e6 / 1e9;
}

}  // namespace

void Peer::measure_itself(const Scenario&, const Variant&, const RunOptions&, const std::string&,
                          Measurement&) {
  throw std::logic_error("this peer is measured by the runner (measures_itself() is false)");
}

std::int64_t cpu_self_ns() noexcept {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return to_ns(u.ru_utime) + to_ns(u.ru_stime);
}

int allowed_cpu_count() noexcept {
  return static_cast<int>(allowed_cpus().size());
}

std::vector<int> cpu_order(const std::vector<int>& wanted) {
  std::vector<int> cpus;
  for (const int c : allowed_cpus()) {
    if (wanted.empty() || std::find(wanted.begin(), wanted.end(), c) != wanted.end()) {
      cpus.push_back(c);
    }
  }
  if (cpus.size() < 2) return {};
  const auto sys = [](int c, const char* leaf) {
    return read_line(fmt::format("/sys/devices/system/cpu/cpu{}/{}", c, leaf));
  };
  // A CPU's physical core: its SMT sibling list (or itself where sysfs says nothing).
  const auto core = [&](int c) {
    std::string k = sys(c, "topology/thread_siblings_list");
    return k.empty() ? std::to_string(c) : k;
  };
  const std::string first_l3 = sys(cpus[0], "cache/index3/shared_cpu_list");
  std::vector<int> order;
  std::vector<std::string> cores;
  for (const bool same_l3 : {true, false}) {
    for (const int c : cpus) {
      if ((sys(c, "cache/index3/shared_cpu_list") == first_l3) != same_l3) continue;
      const std::string k = core(c);
      if (std::find(cores.begin(), cores.end(), k) != cores.end()) continue;
      cores.push_back(k);
      order.push_back(c);
    }
  }
  for (const int c : cpus) {
    if (std::find(order.begin(), order.end(), c) == order.end()) order.push_back(c);
  }
  return order;
}

void ChildContext::start_barrier() noexcept {
  // [R6] this child's setup is done; pairs with [A6] in measure().
  shared_.ready.fetch_add(1, std::memory_order_release);
  // [A7] see the window the parent wrote before `go`; pairs with [R7] in measure().
  while (shared_.go.load(std::memory_order_acquire) == 0)
    sleep_ns(20'000);
}

bool ChildContext::last_producer_done() noexcept {
  // acq_rel: every producer puts all its messages before its increment, and the last one sends
  // the stops after its own: in the queue's order the stops come after every message.
  return shared_.producers_done.fetch_add(1, std::memory_order_acq_rel) + 1 == scenario_.producers;
}

void ChildContext::consumer_done() noexcept {
  shared_.consumers_done.fetch_add(1, std::memory_order_release);  // pairs with the wait below
}

void ChildContext::wait_consumers_done(std::int64_t patience_ns) const noexcept {
  const std::int64_t until = now_ns() + patience_ns;
  // acquire: pairs with consumer_done().
  while (shared_.consumers_done.load(std::memory_order_acquire) < scenario_.consumers &&
         now_ns() < until)
    sleep_ns(100'000);
}

namespace {

Measurement fresh_measurement(const Peer& peer, const Scenario& s, const Variant& v) {
  Measurement r;
  r.scenario = s;
  r.peer = std::string(peer.name());
  r.variant = v;
  return r;
}

// A peer that measures itself (one that runs its own processes) gets the whole row to fill.
Measurement measured_by_itself(Peer& peer, const Scenario& s, const Variant& v, const RunOptions& t,
                               const std::string& unique) {
  Measurement m = fresh_measurement(peer, s, v);
  try {
    peer.measure_itself(s, v, t, unique, m);
  } catch (const Unavailable& e) {
    m = fresh_measurement(peer, s, v);
    m.skipped = true;
    m.error = e.what();
  } catch (const std::exception& e) {
    m = fresh_measurement(peer, s, v);
    m.error = e.what();
  }
  return m;
}

// Child i's role in the scenario: ping then pong; producers (clients) then consumers (servers).
Child child_for(const Scenario& s, int i) {
  Child c;
  if (s.figure == Figure::roundtrip) {
    c.role = i == 0 ? Role::ping : Role::pong;
  } else if (s.figure == Figure::manager) {
    c.role = i < s.producers ? Role::client : Role::server;
    c.index = i < s.producers ? i : i - s.producers;
  } else {
    c.role = i < s.producers ? Role::producer : Role::consumer;
    c.index = i < s.producers ? i : i - s.producers;
  }
  return c;
}

// Forks every child of the scenario, each pinned to its CPU (m.cpus records which).
void fork_children(Run& run, Shared& shared, const Scenario& s, const RunOptions& t, Measurement& m,
                   std::vector<Child>& children) {
  const int n_children = s.producers + s.consumers;
  const std::vector<int> cpus = cpu_order(t.cpus);
  // Room for one sample per 0.2 µs of window (below any round trip measured here), at most 64M.
  const auto samples_cap = static_cast<std::size_t>(std::min(64e6, std::max(1e4, t.seconds * 5e6)));
  std::fflush(nullptr);
  for (int i = 0; i < n_children; ++i) {
    Child c = child_for(s, i);
    // Ping and pong, producers and consumers, on different CPUs (round robin over cpu_order).
    const int cpu = cpus.empty() ? -1 : cpus[static_cast<std::size_t>(i) % cpus.size()];
    if (cpu >= 0) m.cpus.push_back(cpu);
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
    if (pid == 0) child_main(run, shared, s, c.role, c.index, i, cpu, parent, samples_cap);
    c.pid = pid;
    children.push_back(c);
  }
}

// Starts the children together once every one has opened its endpoints (or gives up after 20 s).
void start_together(std::vector<Child>& children, Shared& shared, int n_children,
                    const RunOptions& t) {
  const std::int64_t setup_deadline = now_ns() + 20'000'000'000;
  // [A6] pairs with [R6] in start_barrier().
  while (shared.ready.load(std::memory_order_acquire) < n_children) {
    if (std::string f = reap(children, shared, false); !f.empty()) throw std::runtime_error(f);
    if (g_interrupted) throw Interrupted{};
    if (now_ns() > setup_deadline) throw std::runtime_error("children did not start in 20 s");
    sleep_ns(100'000);
  }
  const std::int64_t start = now_ns();
  shared.window_start_ns = start + static_cast<std::int64_t>(t.warmup * 1e9);
  shared.end_ns = shared.window_start_ns + static_cast<std::int64_t>(t.seconds * 1e9);
  shared.go.store(1, std::memory_order_release);  // [R7] pairs with [A7] in start_barrier()
}

// Reaps the children as they finish. Watchdog: a peer that hangs (or a lost message) ends the
// run instead of the benchmark.
void wait_for_children(std::vector<Child>& children, Shared& shared, const RunOptions& t) {
  const std::int64_t deadline =
      shared.end_ns + static_cast<std::int64_t>((10.0 + 2.0 * t.seconds) * 1e9);
  while (!all_reaped(children)) {
    if (std::string f = reap(children, shared, false); !f.empty()) throw std::runtime_error(f);
    if (g_interrupted) throw Interrupted{};
    if (now_ns() > deadline) {
      throw std::runtime_error(fmt::format("hung: still running {:.0f} s after the window",
                                           static_cast<double>(now_ns() - shared.end_ns) / 1e9));
    }
    // Rarely inside the window: the parent is not pinned and would take a CPU from a child.
    sleep_ns(now_ns() < shared.end_ns ? 50'000'000 : 1'000'000);
  }
}

}  // namespace

Measurement measure(Peer& peer, const Scenario& s, const Variant& v, const RunOptions& t,
                    const std::string& unique) {
  if (peer.measures_itself()) return measured_by_itself(peer, s, v, t, unique);
  Measurement m = fresh_measurement(peer, s, v);
  const int n_children = s.producers + s.consumers;
  if (n_children > kMaxChildren) {
    m.error = fmt::format("{} processes, at most {}", n_children, kMaxChildren);
    return m;
  }
  SharedMapping mapping;
  Shared& shared = mapping.get();
  std::vector<Child> children;
  // Owns the run's names and descriptors; destroyed after the children are gone, on every path.
  std::unique_ptr<Run> run;
  try {
    run = peer.prepare(s, v, unique);
    fork_children(*run, shared, s, t, m, children);
    start_together(children, shared, n_children, t);
    wait_for_children(children, shared, t);
    aggregate(m, children, shared);
    m.syscalls_per_message = run->syscalls_per_message();
    m.ok = true;
  } catch (const Interrupted&) {
    kill_all(children, shared);
    throw;
  } catch (const Unavailable& e) {  // thrown by prepare(), before any fork
    kill_all(children, shared);
    m.skipped = true;
    m.error = e.what();
  } catch (const std::exception& e) {
    kill_all(children, shared);
    m.ok = false;
    m.error = e.what();
  }
  return m;
}

}  // namespace shmq_bench
