// The seed's Pipe example: one process sends "a" through one end of a pipe, another receives it
// on the other end and prints it.
//
//   parent_conn, child_conn = Pipe()
//   Process(target=producer, args=(parent_conn,)).start()   # parent_conn.send('a')
//   Process(target=consumer, args=(child_conn,)).start()    # print(child_conn.recv())
#include <cstdio>
#include <functional>
#include <string>

#include "shmq/shmq.hpp"

namespace {

constexpr const char* kName = "shmq-example-pipe";

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
  shmq::Pipe::remove(kName);  // a leftover from an interrupted run
  auto [parent_conn, child_conn] = shmq::Pipe::create(kName);
  shmq::Process p1(producer, std::ref(parent_conn));
  shmq::Process p2(consumer, std::ref(child_conn));
  p1.start();
  p2.start();
  p1.join();
  p2.join();
  shmq::Pipe::remove(kName);
  return p1.exitcode() == 0 && p2.exitcode() == 0 ? 0 : 1;
}
