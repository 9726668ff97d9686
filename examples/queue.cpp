// The Queue program of docs/python.md: one process puts "a", another gets it and prints it.
//
//   q = Queue(10)
//   Process(target=producer, args=(q,)).start()   # q.put('a')
//   Process(target=consumer, args=(q,)).start()   # print(q.get())
//
// The children use the parent's handle: shmq's segments re-attach inherited handles at fork().
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

#include "shmq/shmq.hpp"

namespace {

// The segment's name: $SHMQ_EXAMPLE_NAME if set, else BASE-PID, so that two runs on one host (the
// tests and a demo, say) never remove or open each other's segments.
std::string example_name(const char* base) {
  if (const char* env = std::getenv("SHMQ_EXAMPLE_NAME"); env != nullptr && *env != '\0')
    return env;
  return std::string(base) + "-" + std::to_string(::getpid());
}

int producer(shmq::Queue<std::string>& q) {
  return q.put("a") == shmq::Status::ok ? 0 : 1;
}

int consumer(shmq::Queue<std::string>& q) {
  std::string item;
  if (q.get(item) != shmq::Status::ok) return 1;
  std::puts(item.c_str());
  return 0;
}

}  // namespace

int main() {
  const std::string name = example_name("shmq-example-queue");
  shmq::Queue<std::string>::remove(name);  // a leftover of an interrupted run
  auto q = shmq::Queue<std::string>::create(name, {.capacity = 10, .max_message = 64});
  shmq::Process p1(producer, std::ref(q));
  shmq::Process p2(consumer, std::ref(q));
  p1.start();
  p2.start();
  p1.join();
  p2.join();
  shmq::Queue<std::string>::remove(name);
  return p1.exitcode() == 0 && p2.exitcode() == 0 ? 0 : 1;
}
