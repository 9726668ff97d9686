#include "subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>

#include "../runner.hpp"

namespace shmq_bench {
namespace {

// A pipe whose ends close themselves.
struct Pipe {
  int fd[2] = {-1, -1};
  explicit Pipe(int flags = 0) {
    if (pipe2(fd, flags) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
  }
  ~Pipe() {
    close_end(0);
    close_end(1);
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  void close_end(int i) {
    if (fd[i] >= 0) ::close(fd[i]);
    fd[i] = -1;
  }
};

void sleep_ms(long ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1'000'000};
  nanosleep(&ts, nullptr);
}

}  // namespace

pid_t spawn(const std::vector<std::string>& argv, int stdout_fd, int stderr_fd, int death_signal) {
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  Pipe exec_error(O_CLOEXEC);  // the child writes errno here if exec fails
  const pid_t parent = getpid();
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, death_signal);
    if (getppid() != parent) _exit(127);
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    const int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, STDIN_FILENO);
    if (stdout_fd >= 0) dup2(stdout_fd, STDOUT_FILENO);
    if (stderr_fd >= 0) dup2(stderr_fd, STDERR_FILENO);
    execvp(args[0], args.data());
    const int e = errno;
    (void)!::write(exec_error.fd[1], &e, sizeof e);
    _exit(127);
  }
  setpgid(pid, pid);  // also here: no race with a kill of the group right after
  exec_error.close_end(1);
  int e = 0;
  ssize_t r;
  while ((r = ::read(exec_error.fd[0], &e, sizeof e)) < 0 && errno == EINTR) {
  }
  if (r == static_cast<ssize_t>(sizeof e)) {
    waitpid(pid, nullptr, 0);
    throw Unavailable(fmt::format("cannot run {}: {}", argv[0], std::strerror(e)));
  }
  return pid;
}

int stop_process_group(pid_t pid, int sig, double timeout_s) {
  if (sig != 0) kill(-pid, sig);
  const std::int64_t deadline = now_ns() + static_cast<std::int64_t>(timeout_s * 1e9);
  for (;;) {
    // WNOWAIT: the leader stays a zombie, so its pid (the group's id) cannot be reused before the
    // SIGKILL below reaches whatever it left behind in its group.
    siginfo_t info{};
    if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) break;
    if (info.si_pid == pid) break;
    if (now_ns() > deadline) break;
    sleep_ms(5);
  }
  kill(-pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

ProcessOutput run_captured(const std::vector<std::string>& argv, double timeout_s) {
  Pipe out(O_CLOEXEC);
  Pipe err(O_CLOEXEC);
  const pid_t pid = spawn(argv, out.fd[1], err.fd[1], SIGKILL);
  out.close_end(1);
  err.close_end(1);
  ProcessOutput result;
  const std::int64_t deadline = now_ns() + static_cast<std::int64_t>(timeout_s * 1e9);
  pollfd fds[2] = {{out.fd[0], POLLIN, 0}, {err.fd[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_ends = 2;
  while (open_ends > 0) {
    if (g_interrupted) {
      stop_process_group(pid, SIGKILL, 1);
      throw Interrupted{};
    }
    if (now_ns() > deadline) {
      stop_process_group(pid, SIGKILL, 1);
      throw std::runtime_error(fmt::format("{} timed out after {:.0f} s", argv[0], timeout_s));
    }
    if (poll(fds, 2, 50) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;  // poll() ignores negative descriptors
        --open_ends;
      }
    }
  }
  result.status = stop_process_group(pid, 0, timeout_s);  // signal 0: just wait for it
  return result;
}

}  // namespace shmq_bench
