// Must not compile: a Connection (move-only) passed to a Process by lvalue. The test
// (tests/CMakeLists.txt, compile_fail_process_lvalue_end) expects Process's one readable
// static_assert, not pages of template errors.
#include "shmq/pipe.hpp"
#include "shmq/process.hpp"

int child(shmq::Connection conn) {
  return conn.closed() ? 1 : 0;
}

int main() {
  auto [parent_end, child_end] = shmq::Pipe::create("never-created");
  shmq::Process p(child, child_end);  // needs std::move(child_end)
  p.start();
  return p.join() ? 0 : 1;
}
