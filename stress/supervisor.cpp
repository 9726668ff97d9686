#include "supervisor.hpp"

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <memory>
#include <utility>

#include <fmt/format.h>

#include "message.hpp"
#include "report.hpp"
#include "shmq/detail/access.hpp"
#include "shmq/detail/segment.hpp"
#include "shmq/error.hpp"
#include "shmq/manager.hpp"
#include "shmq/pipe.hpp"
#include "shmq/process.hpp"
#include "shmq/queue.hpp"
#include "worker.hpp"

namespace shmq::stress {

namespace {

using StringQueue = Queue<std::string>;
using PackedQueue = Queue<PackedRecord>;

constexpr std::uint64_t kTickNs = 5'000'000;  // the supervisor's loop period

volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void on_interrupt(int) {
  g_interrupted = 1;
}

// Ctrl-C / SIGTERM end the run cleanly: workers killed, segment unlinked.
class InterruptGuard {
 public:
  InterruptGuard() {
    g_interrupted = 0;
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &old_int_);
    ::sigaction(SIGTERM, &sa, &old_term_);
  }
  ~InterruptGuard() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
  }
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  double uniform() { return static_cast<double>(splitmix64(state_) >> 11) * 0x1.0p-53; }
  std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : splitmix64(state_) % n; }
  // Time to the next event of a Poisson process of `rate` per second, in ns.
  std::uint64_t exponential_ns(double rate) {
    const double u = 1.0 - uniform();  // (0, 1]
    return static_cast<std::uint64_t>(-std::log(u) / rate * 1e9);
  }

 private:
  std::uint64_t state_;
};

// The supervisor holds no handle while workers run: they open the name like any user, and a
// fork never hands them one.
void create_transport(const Config& config) {
  WaitPolicy wait;
  if (config.spin) wait.spin_iterations = *config.spin;
  if (config.kind == Kind::manager) return;  // the server creates it (Supervisor::start_server)
  if (config.kind == Kind::pipe) {
    PipeOptions options;
    options.duplex = false;
    options.capacity_bytes = config.pipe_bytes;
    options.max_message = config.size_max;
    options.wait = wait;
    // Both ends are given up at once; workers take them over (Connection::open).
    shmq::detail::create_pipe_at(config.name, options, config.start_position);
    return;
  }
  QueueOptions options;
  options.capacity = config.capacity;
  options.producers = multi_producer(config.kind) ? Producers::many : Producers::one;
  options.consumers = multi_consumer(config.kind) ? Consumers::many : Consumers::one;
  options.max_message = config.size_max;
  options.wait = wait;
  if (config.kind == Kind::packed) {
    shmq::detail::create_queue_at<PackedRecord>(config.name, options, config.start_position);
  } else {
    shmq::detail::create_queue_at<std::string>(config.name, options, config.start_position);
  }
}

// Every producer has exited: consumers drain what is left, then see closed.
void end_of_input(const Config& config, SharedControl& control) {
  if (!is_queue(config.kind)) {
    // release: pairs with the acquire in PipeTransport::get().
    control.producers_done.store(1, std::memory_order_release);
    return;
  }
  if (config.kind == Kind::packed) {
    PackedQueue::open(config.name).close();
  } else {
    StringQueue::open(config.name).close();
  }
}

// INV-E1, once every worker has exited: after taking back dead sleepers' registrations, no
// eventcount of the segment may still have a waiters bit (docs/queue.md, "Crashes"). A Manager
// segment has none (its queues are checked by their own workers' runs).
std::string waiters_left(const std::string& name) {
  try {
    const auto kind = static_cast<detail::SegmentKind>(detail::Segment::observe(name).info().kind);
    const detail::Segment seg = detail::Segment::open(name, kind);
    seg.reap_dead_sleepers();
    const detail::EventCountOffsets ecs = detail::eventcount_offsets(kind);
    std::string left;
    for (std::uint32_t k = 0; k < ecs.count; ++k) {
      const auto& ec = *reinterpret_cast<const detail::EventCountData*>(seg.base() + ecs.at[k]);
      // relaxed: every other process is gone; this is the last word.
      const std::uint64_t bits = ec.waiters.load(std::memory_order_relaxed) & ~seg.self_bit();
      if (bits != 0)
        left += fmt::format("{}eventcount at {}: {:#x}", left.empty() ? "" : ", ", ecs.at[k], bits);
    }
    return left;
  } catch (const std::exception& e) {
    return fmt::format("cannot check: {}", e.what());
  }
}

void remove_transport(const Config& config) {
  if (config.kind == Kind::manager) {
    Manager::remove(config.name);
  } else if (config.kind == Kind::pipe) {
    Pipe::remove(config.name);
  } else {
    StringQueue::remove(config.name);  // any queue: the name is what is unlinked
  }
}

void sleep_ns(std::uint64_t ns) {
  timespec ts{static_cast<time_t>(ns / 1'000'000'000ULL), static_cast<long>(ns % 1'000'000'000ULL)};
  ::nanosleep(&ts, nullptr);  // a signal cuts it short: the loop looks at the flag
}

double seconds_between(std::uint64_t from, std::uint64_t to) {
  return to > from ? static_cast<double>(to - from) / 1e9 : 0.0;
}

class Supervisor {
 public:
  Supervisor(const Config& config, std::string log_dir)
      : config_(config),
        log_dir_(std::move(log_dir)),
        rng_(config.seed ^ 0xC4A0'5C4A'05C4'A05CULL) {}
  ~Supervisor() { unmap_shared_control(control_); }
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  RunOutcome run();

 private:
  RunOutcome run_body();
  void start_workers();
  bool loaded_phase();
  void stall_consumers();
  bool wait_until_gone(Role role);
  void finish(bool ok);
  enum class Phase : std::uint8_t { loaded, stopping_producers, draining };

  struct Slot {
    Role role = Role::producer;
    std::size_t incarnation = 0;  // index in out_.incarnations
    std::unique_ptr<Process> process;
    bool alive = false;
    bool stopped = false;  // SIGSTOPped by --stop-chaos, SIGCONT due at cont_at_ns
    bool stalled = false;  // SIGSTOPped for good by --inject-stall
    std::uint64_t cont_at_ns = 0;
  };

  void spawn(unsigned slot);
  Incarnation& current(const Slot& s) { return out_.incarnations[s.incarnation]; }
  // Reaps workers that ended on their own; false (and out_ set) if one crashed.
  bool reap_exited(std::uint64_t now);
  void chaos_kill(std::uint64_t now);
  void chaos_stop(std::uint64_t now);
  void resume_due(std::uint64_t now, bool all);
  // False (and out_ set) if the watchdog fired or the user interrupted.
  bool watch(std::uint64_t now);
  // Prints `headline`, the workers and the queue state to stderr, and keeps it for --json.
  void print_dump(std::string headline);
  void abort_all();
  void start_server();
  // Manager::shutdown() through a client handle, then joins the server; false if it would not go.
  bool stop_server();
  std::uint64_t messages(Role role) const;
  std::uint64_t violations() const;
  std::string worker_table() const;
  void progress(std::uint64_t now, bool last);
  const char* phase_name() const;
  bool alive_of(Role role) const;

  const Config& config_;
  std::string log_dir_;
  Rng rng_;
  SharedControl* control_ = nullptr;
  std::vector<Slot> slots_;
  std::unique_ptr<Process> server_;  // --kind manager: the Manager server
  RunOutcome out_;
  Phase phase_ = Phase::loaded;
  std::uint32_t next_id_ = 1;
  std::uint64_t start_ns_ = 0;
  std::uint64_t exits_ = 0;
  std::uint64_t progress_mark_ = 0;
  std::uint64_t last_progress_ns_ = 0;
  std::uint64_t last_line_ns_ = 0;
  std::uint64_t last_line_msgs_ = 0;
  bool tty_ = false;
  bool line_open_ = false;
};

void Supervisor::spawn(unsigned slot) {
  Slot& s = slots_[slot];
  Incarnation inc;
  inc.id = next_id_++;
  inc.role = s.role;
  inc.slot = slot;
  inc.log_path =
      fmt::format("{}/{}-{}.log", log_dir_, s.role == Role::producer ? 'p' : 'c', inc.id);
  WorkerSpec spec;
  spec.role = s.role;
  spec.slot = slot;
  spec.id = inc.id;
  spec.log_path = inc.log_path;
  spec.supervisor = ::getpid();
  inc.start_ns = monotonic_ns();
  s.process =
      std::make_unique<Process>([this, spec] { return run_worker(config_, spec, *control_); });
  s.process->start();
  inc.pid = s.process->pid();
  s.incarnation = out_.incarnations.size();
  out_.incarnations.push_back(std::move(inc));
  s.alive = true;
  s.stopped = false;
}

bool Supervisor::reap_exited(std::uint64_t now) {
  if (server_ && !server_->is_alive()) {
    out_.kind = RunOutcome::Kind::crashed;
    out_.reason = fmt::format("the manager server (pid {}) ended with {} while {}", server_->pid(),
                              server_->exitcode().value_or(0), phase_name());
    server_.reset();
    print_dump(fmt::format("shmq-stress: {}\n", out_.reason));
    return false;
  }
  for (Slot& s : slots_) {
    if (!s.alive || s.process->is_alive()) continue;
    s.alive = false;
    s.stopped = false;
    ++exits_;
    Incarnation& inc = current(s);
    inc.end_ns = now;
    inc.exit_code = s.process->exitcode().value_or(0);
    // A clean exit is expected from a producer once it was told to stop or ran out of tickets,
    // and from a consumer once the queue was closed.
    const bool expected =
        inc.exit_code == kWorkerOk &&
        (s.role == Role::producer ? (phase_ != Phase::loaded || config_.messages != 0)
                                  : phase_ == Phase::draining);
    if (expected) {
      inc.end = Incarnation::End::exited;
      continue;
    }
    inc.end = Incarnation::End::crashed;
    out_.kind = RunOutcome::Kind::crashed;
    out_.reason =
        inc.exit_code < 0
            ? fmt::format(
                  "{} #{} (id {}, pid {}) died of signal {} ({}) that shmq-stress did "
                  "not send",
                  to_string(s.role), inc.slot, inc.id, inc.pid, -inc.exit_code,
                  ::strsignal(-inc.exit_code))
            : fmt::format("{} #{} (id {}, pid {}) exited with code {} while {}", to_string(s.role),
                          inc.slot, inc.id, inc.pid, inc.exit_code, phase_name());
    print_dump(fmt::format("shmq-stress: {}\n", out_.reason));
    return false;
  }
  return true;
}

void Supervisor::chaos_kill(std::uint64_t now) {
  std::vector<unsigned> eligible;
  for (unsigned i = 0; i < slots_.size(); ++i) {
    const Slot& s = slots_[i];
    const bool side = config_.chaos_side == ChaosSide::both ||
                      (config_.chaos_side == ChaosSide::producers) == (s.role == Role::producer);
    if (s.alive && !s.stalled && side) eligible.push_back(i);
  }
  if (eligible.empty()) return;
  Slot& s = slots_[eligible[rng_.below(eligible.size())]];
  s.process->kill();  // SIGKILL; a stopped process dies as well
  s.process->join();
  Incarnation& inc = current(s);
  inc.end_ns = monotonic_ns();
  inc.exit_code = s.process->exitcode().value_or(0);
  if (inc.exit_code != -SIGKILL) {
    // It ended by itself just before the kill: judge it like any other exit (reap_exited sees
    // it as ended, since it was joined).
    reap_exited(now);
    return;
  }
  inc.end = Incarnation::End::chaos_kill;
  (s.role == Role::producer ? out_.kills_producers : out_.kills_consumers) += 1;
  s.alive = false;
  s.stopped = false;
  const unsigned slot = inc.slot;
  spawn(slot);
}

void Supervisor::chaos_stop(std::uint64_t now) {
  std::vector<unsigned> eligible;
  for (unsigned i = 0; i < slots_.size(); ++i) {
    if (slots_[i].alive && !slots_[i].stopped && !slots_[i].stalled) eligible.push_back(i);
  }
  if (eligible.empty()) return;
  Slot& s = slots_[eligible[rng_.below(eligible.size())]];
  const auto max_ns = static_cast<std::uint64_t>(config_.stop_pause_max.count()) * 1'000'000ULL;
  const std::uint64_t pause = 1'000'000 + rng_.below(max_ns > 1'000'000 ? max_ns - 1'000'000 : 1);
  if (::kill(s.process->pid(), SIGSTOP) == 0) {
    s.stopped = true;
    s.cont_at_ns = now + pause;
    ++out_.stops;
  }
}

void Supervisor::resume_due(std::uint64_t now, bool all) {
  for (Slot& s : slots_) {
    if (s.alive && s.stopped && (all || now >= s.cont_at_ns)) {
      ::kill(s.process->pid(), SIGCONT);
      s.stopped = false;
    }
  }
}

std::uint64_t Supervisor::messages(Role role) const {
  std::uint64_t n = 0;
  for (unsigned i = 0; i < slots_.size(); ++i) {
    // relaxed: progress figures
    if (slots_[i].role == role) n += control_->slots[i].messages.load(std::memory_order_relaxed);
  }
  return n;
}

std::uint64_t Supervisor::violations() const {
  std::uint64_t n = 0;
  for (unsigned i = 0; i < slots_.size(); ++i) {
    n += control_->slots[i].violations.load(std::memory_order_relaxed);  // relaxed: a figure
  }
  return n;
}

const char* Supervisor::phase_name() const {
  switch (phase_) {
    case Phase::loaded:
      return "running under load";
    case Phase::stopping_producers:
      return "stopping the producers";
    case Phase::draining:
      return "draining the closed queue";
  }
  return "?";
}

bool Supervisor::alive_of(Role role) const {
  return std::any_of(slots_.begin(), slots_.end(),
                     [&](const Slot& s) { return s.alive && s.role == role; });
}

std::string Supervisor::worker_table() const {
  using A = output::Table::Align;
  output::Table t({{"SLOT", A::right},
                   {"ROLE"},
                   {"ID", A::right},
                   {"PID", A::right},
                   {"STATE"},
                   {"MESSAGES", A::right}});
  for (unsigned i = 0; i < slots_.size(); ++i) {
    const Slot& s = slots_[i];
    const Incarnation& inc = out_.incarnations[s.incarnation];
    const char* state = !s.alive    ? to_string(inc.end)
                        : s.stalled ? "stopped (inject-stall)"
                        : s.stopped ? "stopped (stop-chaos)"
                                    : "running";
    // relaxed: a progress figure
    t.add_row({std::to_string(i), std::string(to_string(s.role)), std::to_string(inc.id),
               std::to_string(inc.pid), state,
               std::to_string(control_->slots[i].messages.load(std::memory_order_relaxed))});
  }
  return output::indented(t.render(), "  ");
}

bool Supervisor::watch(std::uint64_t now) {
  if (g_interrupted != 0) {
    out_.kind = RunOutcome::Kind::interrupted;
    out_.reason = fmt::format("interrupted by a signal while {}", phase_name());
    return false;
  }
  const std::uint64_t mark = messages(Role::producer) + messages(Role::consumer) + exits_;
  if (mark != progress_mark_) {
    progress_mark_ = mark;
    last_progress_ns_ = now;
    return true;
  }
  const double idle = seconds_between(last_progress_ns_, now);
  if (config_.watchdog <= 0 || idle < config_.watchdog) return true;

  out_.kind = RunOutcome::Kind::stuck;
  out_.reason = fmt::format("no progress for {:.1f} s while {}", idle, phase_name());
  std::string dump =
      fmt::format("shmq-stress: watchdog: {} (messages put {}, got {}; kills {}, stops {})\n",
                  out_.reason, messages(Role::producer), messages(Role::consumer),
                  out_.kills_producers + out_.kills_consumers, out_.stops);
  const std::uint64_t mp_producer_kills = multi_producer(config_.kind) ? out_.kills_producers : 0;
  const std::uint64_t mc_consumer_kills = multi_consumer(config_.kind) ? out_.kills_consumers : 0;
  if (is_queue(config_.kind) && mp_producer_kills + mc_consumer_kills != 0) {
    dump += fmt::format(
        "shmq-stress: likely cause: --chaos killed {} producer(s) on the multi-producer side and "
        "{} consumer(s) on the multi-consumer side of this {} queue. A process killed between "
        "claiming a slot and publishing (or releasing) it leaves the slot claimed; every later "
        "position waits behind it until a survivor recovers the slot (docs/design.md §6). A build "
        "without that recovery (docs/queue.md, \"Crashes\") wedges here: there, kill only "
        "single sides (--chaos-side consumers on mpsc, producers on spmc; --stop-chaos alone on "
        "mpmc). A build with it should never get here: report the seed.\n",
        mp_producer_kills, mc_consumer_kills, to_string(config_.kind));
  }
  if (config_.inject_stall) {
    dump +=
        "shmq-stress: --inject-stall stopped every consumer for good: this is the watchdog's "
        "self-test.\n";
  }
  print_dump(std::move(dump));
  return false;
}

void Supervisor::print_dump(std::string dump) {
  dump += "\nworkers\n" + worker_table();
  dump += fmt::format("\nqueue state (as `shmq inspect {}` shows it)\n", config_.name);
  try {
    dump += output::indented(output::inspect_text(inspect(config_.name)), "  ");
  } catch (const std::exception& e) {
    dump += fmt::format("  inspect failed: {}\n", e.what());
  }
  if (line_open_) std::fputs("\n", stderr);
  line_open_ = false;
  std::fputs(dump.c_str(), stderr);
  out_.dump = std::move(dump);
}

void Supervisor::progress(std::uint64_t now, bool last) {
  if (config_.quiet) return;
  const std::uint64_t interval = tty_ ? 200'000'000 : 1'000'000'000;
  if (!last && now - last_line_ns_ < interval) return;
  const std::uint64_t got = messages(Role::consumer);
  if (last && !tty_ && got == last_line_msgs_) return;  // nothing new since the last line
  const double dt = seconds_between(last_line_ns_, now);
  const double rate = dt > 0 ? static_cast<double>(got - last_line_msgs_) / dt : 0.0;
  last_line_ns_ = now;
  last_line_msgs_ = got;
  const std::string line =
      fmt::format("[{:7.1f}s] {:<8} msgs {:>9}  {:>9}/s  kills {}  stops {}  violations {}",
                  seconds_between(start_ns_, now),
                  phase_ == Phase::loaded               ? "load"
                  : phase_ == Phase::stopping_producers ? "stop"
                                                        : "drain",
                  output::human_count(static_cast<double>(got)), output::human_count(rate),
                  out_.kills_producers + out_.kills_consumers, out_.stops, violations());
  if (tty_) {
    fmt::print(stderr, "\r{}\x1b[K", line);
    line_open_ = true;
    if (last) {
      std::fputs("\n", stderr);
      line_open_ = false;
    }
  } else {
    fmt::print(stderr, "{}\n", line);
  }
}

void Supervisor::start_server() {
  const pid_t self = ::getpid();
  server_ = std::make_unique<Process>([this, self] { return run_manager_server(config_, self); });
  server_->start();
  // Manager::open waits for a server that is starting, but not for a name that does not exist
  // yet: wait until the server has made it, so that no worker fails its first open.
  const std::uint64_t deadline = monotonic_ns() + 10'000'000'000ULL;
  for (;;) {
    try {
      Manager::open(config_.name);  // connects and leaves at once
      return;
    } catch (const Error& e) {
      if (e.code() != Errc::not_found || monotonic_ns() > deadline || !server_->is_alive()) throw;
    }
    sleep_ns(1'000'000);
  }
}

bool Supervisor::stop_server() {
  if (!server_) return true;
  try {
    Manager::open(config_.name).shutdown();
  } catch (const std::exception& e) {
    fmt::print(stderr, "shmq-stress: manager shutdown: {}\n", e.what());
  }
  const bool ended = server_->join(std::chrono::seconds(5));
  if (!ended) {
    server_->kill();
    server_->join();
  }
  server_.reset();
  return ended;
}

void Supervisor::abort_all() {
  if (server_) {
    server_->kill();
    server_->join();
    server_.reset();
  }
  for (Slot& s : slots_) {
    if (!s.alive) continue;
    s.process->kill();
    ::kill(s.process->pid(), SIGCONT);
    s.process->join();
    Incarnation& inc = current(s);
    inc.end_ns = monotonic_ns();
    inc.exit_code = s.process->exitcode().value_or(0);
    inc.end = inc.exit_code == -SIGKILL ? Incarnation::End::abort_kill
              : inc.exit_code == 0      ? Incarnation::End::exited
                                        : Incarnation::End::crashed;
    s.alive = false;
    s.stopped = false;
  }
}

RunOutcome Supervisor::run() {
  try {
    return run_body();
  } catch (...) {
    // Setup failed half-way (fork, open): leave nothing behind.
    abort_all();
    try {
      remove_transport(config_);
    } catch (const std::exception&) {
      // The original error is the one to report.
    }
    throw;
  }
}

RunOutcome Supervisor::run_body() {
  InterruptGuard interrupts;
  start_workers();
  bool ok = loaded_phase();
  // ---- shutdown: producers stop, the queue is closed, consumers drain ----
  if (ok) {
    phase_ = Phase::stopping_producers;
    // relaxed: a request; producers look at it between puts.
    control_->stop_producers.store(1, std::memory_order_relaxed);
    resume_due(0, true);
    ok = wait_until_gone(Role::producer);
  }
  if (ok) {
    phase_ = Phase::draining;
    end_of_input(config_, *control_);
    ok = wait_until_gone(Role::consumer);
  }
  progress(monotonic_ns(), true);
  if (ok && !stop_server()) {
    ok = false;
    out_.kind = RunOutcome::Kind::crashed;
    out_.reason = "the manager server did not shut down within 5 s of shutdown()";
  }
  if (!ok) abort_all();
  finish(ok);
  return std::move(out_);
}

void Supervisor::start_workers() {
  control_ = map_shared_control();
  tty_ = ::isatty(STDERR_FILENO) != 0;

  create_transport(config_);
  if (config_.kind == Kind::manager) start_server();

  start_ns_ = monotonic_ns();
  last_progress_ns_ = start_ns_;
  last_line_ns_ = start_ns_;
  slots_.resize(config_.producers + config_.consumers);
  for (unsigned i = config_.producers; i < slots_.size(); ++i)
    slots_[i].role = Role::consumer;
  for (unsigned i = 0; i < slots_.size(); ++i)
    spawn(i);
}

// ---- loaded phase: workers run; chaos strikes ----
// Returns false if the run cannot go on (a worker crashed, the watchdog fired, interrupted).
bool Supervisor::loaded_phase() {
  const std::uint64_t end_ns =
      config_.seconds > 0 ? start_ns_ + static_cast<std::uint64_t>(config_.seconds * 1e9) : 0;
  std::uint64_t next_kill = config_.chaos > 0 ? start_ns_ + rng_.exponential_ns(config_.chaos) : 0;
  std::uint64_t next_stop =
      config_.stop_chaos > 0 ? start_ns_ + rng_.exponential_ns(config_.stop_chaos) : 0;
  const std::uint64_t stall_at =
      config_.inject_stall ? start_ns_ + static_cast<std::uint64_t>(*config_.inject_stall * 1e9)
                           : 0;
  std::uint64_t loaded_end = 0;
  bool ok = true;
  while (ok) {
    const std::uint64_t now = monotonic_ns();
    if (!(ok = reap_exited(now))) break;
    resume_due(now, false);
    if (next_kill != 0 && now >= next_kill) {
      chaos_kill(now);
      if (out_.kind != RunOutcome::Kind::completed) {
        ok = false;
        break;
      }
      next_kill = now + rng_.exponential_ns(config_.chaos);
    }
    if (next_stop != 0 && now >= next_stop) {
      chaos_stop(now);
      next_stop = now + rng_.exponential_ns(config_.stop_chaos);
    }
    if (stall_at != 0 && now >= stall_at) stall_consumers();
    progress(now, false);
    if (!(ok = watch(now))) break;
    const bool out_of_time = end_ns != 0 && now >= end_ns;
    const bool out_of_tickets = config_.messages != 0 && !alive_of(Role::producer);
    if (out_of_time || out_of_tickets) {
      loaded_end = now;
      break;
    }
    sleep_ns(kTickNs);
  }
  out_.loaded_seconds = seconds_between(start_ns_, loaded_end != 0 ? loaded_end : monotonic_ns());
  return ok;
}

// --inject-stall: every live consumer is stopped for good (the watchdog must fire).
void Supervisor::stall_consumers() {
  for (Slot& s : slots_) {
    if (s.alive && s.role == Role::consumer && !s.stalled) {
      ::kill(s.process->pid(), SIGSTOP);
      s.stalled = true;
    }
  }
}

// Waits until no worker of `role` is alive; false if the run cannot go on meanwhile.
bool Supervisor::wait_until_gone(Role role) {
  bool ok = true;
  while ((ok = reap_exited(monotonic_ns())) && alive_of(role)) {
    progress(monotonic_ns(), false);
    if (!(ok = watch(monotonic_ns()))) break;
    sleep_ns(kTickNs);
  }
  return ok;
}

// The last look at the segment, then its removal (unless --keep-segment keeps a failed run's).
void Supervisor::finish(bool ok) {
  out_.waiters_left = waiters_left(config_.name);
  try {
    out_.final_report = inspect(config_.name);
  } catch (const std::exception& e) {
    out_.final_report_error = e.what();
  }
  // --keep-segment: a run that could not finish leaves its segment (every worker is dead by now)
  // for `shmq inspect` / `shmq dump` and a byte-level look.
  if (ok || !config_.keep_segment) {
    try {
      remove_transport(config_);
    } catch (const std::exception& e) {
      fmt::print(stderr, "shmq-stress: unlinking {}: {}\n", config_.name, e.what());
    }
  } else {
    out_.segment_kept = true;
  }
  out_.total_seconds = seconds_between(start_ns_, monotonic_ns());
}

}  // namespace

RunOutcome supervise(const Config& config, const std::string& log_dir) {
  Supervisor supervisor(config, log_dir);
  return supervisor.run();
}

}  // namespace shmq::stress
