// Puts and gets one message through an installed shmq; exit code 0 on success.
#include <unistd.h>

#include <string>

#include <shmq/shmq.hpp>

int main() {
  const std::string name = "shmq-install-consumer-" + std::to_string(getpid());
  auto q = shmq::Queue<int>::create(name, {.capacity = 4});
  int out = 0;
  const bool ok =
      q.try_put(42) == shmq::Status::ok && q.try_get(out) == shmq::Status::ok && out == 42;
  shmq::Queue<int>::remove(name);
  return ok ? 0 : 1;
}
