// The seed's Queue example: one process puts "a", another gets it and prints it.
//
//   q = Queue(10)
//   Process(target=producer, args=(q,)).start()   # q.put('a')
//   Process(target=consumer, args=(q,)).start()   # print(q.get())
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "shmq/shmq.hpp"

namespace {

constexpr const char* kName = "shmq-example-queue";

int producer() {
  auto q = shmq::Queue<std::string>::open(kName);
  return q.put("a") == shmq::Status::ok ? 0 : 1;
}

int consumer() {
  auto q = shmq::Queue<std::string>::open(kName);
  std::string item;
  if (q.get(item) != shmq::Status::ok) return 1;
  std::puts(item.c_str());
  return 0;
}

pid_t spawn(int (*body)()) {
  const pid_t pid = fork();
  if (pid == 0) {
    const int rc = body();
    std::fflush(nullptr);  // _exit() does not flush stdio
    _exit(rc);
  }
  return pid;
}

}  // namespace

int main() {
  shmq::Queue<std::string>::remove(kName);  // a leftover from an interrupted run
  auto q = shmq::Queue<std::string>::create(kName, {.capacity = 10, .max_message = 64});
  const pid_t p1 = spawn(producer);
  const pid_t p2 = spawn(consumer);
  int ok = 0;
  for (const pid_t pid : {p1, p2}) {
    int status = 0;
    waitpid(pid, &status, 0);
    ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  shmq::Queue<std::string>::remove(kName);
  return ok == 2 ? 0 : 1;
}
