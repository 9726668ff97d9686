// Running an outside program (python3, iox-roudi) from the bench: in a process group of its own,
// so that a timeout or ^C ends it and everything it started, and never outliving the bench.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace shmq_bench {

struct ProcessOutput {
  int status = 0;  // as from waitpid()
  std::string out;
  std::string err;
};

// Starts argv (argv[0] is looked up in PATH) with stdin from /dev/null, stdout and stderr to the
// given descriptors, in a new process group, with `death_signal` sent to it if the bench dies.
// Returns its pid; throws Unavailable when the program cannot be found or run.
pid_t spawn(const std::vector<std::string>& argv, int stdout_fd, int stderr_fd, int death_signal);

// Runs argv to its end and returns what it printed. After `timeout_s` its process group is killed
// and std::runtime_error thrown; on ^C (g_interrupted) it is killed and Interrupted thrown.
ProcessOutput run_captured(const std::vector<std::string>& argv, double timeout_s);

// Sends `sig` (0: none) to the process group of `pid`, waits up to `timeout_s` for `pid` to end,
// then SIGKILLs what is left of the group and reaps `pid`. Returns the status from waitpid().
int stop_process_group(pid_t pid, int sig, double timeout_s);

}  // namespace shmq_bench
