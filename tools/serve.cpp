// shmq serve: a Manager's server as a foreground process (docs/design.md §2, Manager).
#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

#include "cli.hpp"
#include "shmq/manager.hpp"

namespace shmq::cli {

int run_serve(const std::string& name) {
  // Said (and flushed) as the server starts; Manager::serve has no "ready" hook, so a script that
  // needs the server up waits for this pid in `shmq inspect NAME` (or retries Manager::open).
  fmt::print("starting the server of manager {} in pid {} (SIGINT or SIGTERM stops it)\n", name,
             ::getpid());
  std::fflush(stdout);
  Manager::serve(name);  // handles SIGINT/SIGTERM itself: returns after a clean shutdown
  fmt::print("manager {} stopped\n", name);
  return kExitOk;
}

}  // namespace shmq::cli
