// A parent and its child talk through a Pipe: the parent sends numbers, the child answers with
// their squares and exits; the parent reads until end-of-file. Python's
//
//   parent_end, child_end = Pipe()
//   p = Process(target=child, args=(child_end,)); p.start(); child_end.close()
//
// in C++: moving the end into the Process hands it to the child, so the parent holds only its own.
#include <unistd.h>

#include <cstdint>
#include <iostream>
#include <string>

#include "shmq/shmq.hpp"

namespace {

int child(shmq::Connection conn) {
  std::int64_t n = 0;
  while (conn.recv(n) == shmq::Status::ok && n != 0) {
    if (conn.send(n * n) != shmq::Status::ok) return 1;
  }
  return 0;  // the end closes with the child: the parent's recv sees end-of-file
}

}  // namespace

int main() {
  const std::string name = "pipe-child-" + std::to_string(::getpid());
  auto [parent_end, child_end] = shmq::Pipe::create(name);
  shmq::Pipe::remove(name);  // both ends are held: the name is no longer needed
  shmq::Process p(child, std::move(child_end));
  p.start();
  for (std::int64_t n = 0; n <= 3; ++n) {
    // 1, 2, 3, then 0: "done"
    if (parent_end.send(n == 3 ? std::int64_t{0} : n + 1) != shmq::Status::ok) return 1;
  }
  std::int64_t square = 0;
  shmq::Status s;
  while ((s = parent_end.recv(square)) == shmq::Status::ok)
    std::cout << square << '\n';
  std::cout << "child ended: " << s << '\n';  // closed: Python's EOFError
  p.join();
  return p.exitcode() == 0 && s == shmq::Status::closed ? 0 : 1;
}
