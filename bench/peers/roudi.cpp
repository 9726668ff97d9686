#include "roudi.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

#include <fmt/format.h>

#include "../runner.hpp"
#include "subprocess.hpp"

#ifndef SHMQ_BENCH_IOX_ROUDI
#define SHMQ_BENCH_IOX_ROUDI "iox-roudi"
#endif

namespace shmq_bench {
namespace {

// Chunks for every message size of the bench: a payload plus iceoryx's 40-byte chunk header, for
// a 256-deep subscriber queue, the publisher's loans and the spare left by a row that failed.
constexpr const char* kConfig = R"(# written by shmq-bench (bench/peers/roudi.cpp)
[general]
version = 1

[[segment]]

[[segment.mempool]]
size = 128
count = 4096

[[segment.mempool]]
size = 2048
count = 2048

[[segment.mempool]]
size = 131072
count = 256
)";

constexpr const char* kReady = "RouDi is ready for clients";
constexpr const char* kLockHeld = "Could not acquire lock";

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The last line of RouDi's log that says something, without its colour codes.
std::string last_line(const std::string& log) {
  std::string clean;
  for (std::size_t i = 0; i < log.size(); ++i) {
    if (log[i] == '\033') {
      while (i < log.size() && log[i] != 'm')
        ++i;
      continue;
    }
    clean += log[i];
  }
  std::istringstream lines(clean);
  std::string line;
  std::string last;
  while (std::getline(lines, line)) {
    if (line.find_first_not_of(' ') != std::string::npos) last = line;
  }
  return last.empty() ? "no output" : last;
}

void sleep_ms(long ms) {
  timespec ts{0, ms * 1'000'000};
  nanosleep(&ts, nullptr);
}

// What a RouDi that could not clean up leaves behind (its names are fixed, one RouDi per machine).
void remove_leftovers() {
  ::unlink("/dev/shm/iceoryx_mgmt");
  if (const passwd* pw = getpwuid(geteuid()))
    ::unlink(fmt::format("/dev/shm/{}", pw->pw_name).c_str());
  if (const group* gr = getgrgid(getegid()))
    ::unlink(fmt::format("/dev/shm/{}", gr->gr_name).c_str());
  ::unlink("/tmp/roudi");
  ::unlink("/tmp/roudi.lock");
  ::unlink("/tmp/iox-unique-roudi.lock");
}

constexpr const char* kRunLock = "/tmp/shmq-bench-iox-roudi.lock";
constexpr std::int64_t kRunLockWaitNs = 300'000'000'000;

// The machine-wide lock of benches that use RouDi (roudi.hpp); -1 on a failure to open it (the
// bench then goes on without it, as before). Throws Unavailable if another bench holds it longer
// than kRunLockWaitNs, Interrupted on Ctrl-C.
int take_run_lock() {
  const int fd = ::open(kRunLock, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) return -1;
  const std::int64_t deadline = now_ns() + kRunLockWaitNs;
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) break;  // no locking here: go on without it
    if (g_interrupted || now_ns() > deadline) {
      ::close(fd);
      if (g_interrupted) throw Interrupted{};
      throw Unavailable(fmt::format("another shmq-bench has used iox-roudi for over {} s ({})",
                                    kRunLockWaitNs / 1'000'000'000, kRunLock));
    }
    sleep_ms(20);
  }
  return fd;
}

}  // namespace

Roudi::Roudi(const std::string& unique)
    : run_lock_{take_run_lock()},
      config_path_(fmt::format("/tmp/{}-roudi.toml", unique)),
      log_path_(fmt::format("/tmp/{}-roudi.log", unique)) {
  {
    std::ofstream config(config_path_);
    config << kConfig;
    if (!config) throw Unavailable("cannot write " + config_path_);
  }
  const int log = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (log < 0) {
    stop();
    throw Unavailable(fmt::format("cannot write {}: {}", log_path_, std::strerror(errno)));
  }
  try {
    const char* env = std::getenv("SHMQ_BENCH_IOX_ROUDI");  // another iox-roudi, for tests
    const std::string bin = env != nullptr && env[0] != '\0' ? env : SHMQ_BENCH_IOX_ROUDI;
    pid_ = spawn({bin, "-c", config_path_}, log, log, SIGINT);
  } catch (...) {
    ::close(log);
    stop();
    throw;
  }
  ::close(log);

  const std::int64_t deadline = now_ns() + 10'000'000'000;
  for (;;) {
    const std::string text = read_text(log_path_);
    if (text.find(kReady) != std::string::npos) return;
    siginfo_t info{};
    const bool exited =
        waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid == pid_;
    if (exited) {
      waitpid(pid_, nullptr, 0);
      pid_ = -1;  // nothing of ours to stop: it never got its lock, or it cleaned up
      stop();
      if (text.find(kLockHeld) != std::string::npos) return;  // use the RouDi that runs
      throw Unavailable("iox-roudi exited: " + last_line(text));
    }
    if (g_interrupted) {
      stop();
      throw Interrupted{};
    }
    if (now_ns() > deadline) {
      stop();
      throw Unavailable("iox-roudi not ready after 10 s: " + last_line(text));
    }
    sleep_ms(10);
  }
}

Roudi::~Roudi() {
  stop();
}

void Roudi::stop() noexcept {
  if (pid_ > 0) {
    const int status = stop_process_group(pid_, SIGINT, 5.0);
    // Killed, or crashed: it left its shared memory, socket and locks behind.
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) remove_leftovers();
    pid_ = -1;
  }
  ::unlink(config_path_.c_str());
  ::unlink(log_path_.c_str());
}

Roudi::RunLock::~RunLock() {
  if (fd >= 0) ::close(fd);  // releases the flock
}

}  // namespace shmq_bench
