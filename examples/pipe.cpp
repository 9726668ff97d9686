// The Pipe program of docs/python.md: one process sends "a" through one end of a pipe, another
// receives it on the other end and prints it.
//
//   parent_conn, child_conn = Pipe()
//   Process(target=producer, args=(parent_conn,)).start()   # parent_conn.send('a')
//   Process(target=consumer, args=(child_conn,)).start()    # print(child_conn.recv())
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

int producer(shmq::Connection& conn) {
  return conn.send(std::string_view("a")) == shmq::Status::ok ? 0 : 1;
}

int consumer(shmq::Connection& conn) {
  std::string item;
  if (conn.recv(item) != shmq::Status::ok) return 1;
  std::puts(item.c_str());
  return 0;
}

}  // namespace

int main() {
  const std::string name = example_name("shmq-example-pipe");
  shmq::Pipe::remove(name);  // a leftover of an interrupted run
  auto [parent_conn, child_conn] = shmq::Pipe::create(name);
  shmq::Process p1(producer, std::ref(parent_conn));
  shmq::Process p2(consumer, std::ref(child_conn));
  p1.start();
  p2.start();
  p1.join();
  p2.join();
  shmq::Pipe::remove(name);
  return p1.exitcode() == 0 && p2.exitcode() == 0 ? 0 : 1;
}
