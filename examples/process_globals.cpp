// The Process program of docs/python.md: globals are not shared between processes.
//
//   a = 1
//   def f(): global a; a += 1
//   def g(): print(a)
//   Process(target=f).start(); Process(target=g).start()   # prints 1
//
// Each child gets its own copy of the parent's memory at fork(): the first child's `a += 1`
// changes only its copy, so the second child prints the parent's value.
#include <cstdio>

#include "shmq/shmq.hpp"

namespace {

int a = 1;  // NOLINT: the example is about a global

void increment() {
  a += 1;
}

void print_a() {
  std::printf("%d\n", a);
}

}  // namespace

int main() {
  shmq::Process p1(increment);
  p1.start();
  p1.join();
  shmq::Process p2(print_a);
  p2.start();
  p2.join();
  return p1.exitcode() == 0 && p2.exitcode() == 0 ? 0 : 1;
}
