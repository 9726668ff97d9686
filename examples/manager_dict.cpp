// The Manager program of docs/python.md: two processes write one dict that a Manager's server
// owns.
//
//   def f(d, key, value): d[key] = value
//   manager = Manager(); d = manager.dict()
//   p1 = Process(target=f, args=(d, 'Darr_en1', 22))
//   p2 = Process(target=f, args=(d, 'Darr_en2', 44))
//   p1.start(); p2.start(); p1.join(); p2.join()
//   print(d)   # {'Darr_en1': 22, 'Darr_en2': 44}
//
// The dict keeps insertion order, as Python's does, so the printed order is the order of the
// writes. Python's version relies on p1 usually winning its race with p2; here p1 finishes before
// p2 starts, so the line is always the same.
#include <unistd.h>

#include <cstdlib>
#include <iostream>
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

using Dict = shmq::Dict<std::string, int>;

void f(const Dict& d, const std::string& key, int value) {
  d.set(key, value);  // the child's first call connects it to the server on its own
}

}  // namespace

int main() {
  const std::string name = example_name("shmq-example-manager");
  shmq::Manager::remove(name);  // a leftover of an interrupted run
  auto manager = shmq::Manager::create(name);
  const auto d = manager.dict<std::string, int>("d");

  shmq::Process p1(f, d, std::string("Darr_en1"), 22);
  p1.start();
  p1.join();
  shmq::Process p2(f, d, std::string("Darr_en2"), 44);
  p2.start();
  p2.join();

  std::cout << d << '\n';
  const bool ok = p1.exitcode() == 0 && p2.exitcode() == 0;
  manager.shutdown();  // stops the server and removes its segments
  return ok ? 0 : 1;
}
