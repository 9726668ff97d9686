// The C++ side of python/tests/test_interop.py: opens two queues a Python process made by name,
// reads messages from the first as std::vector<std::byte> and answers each on the second as the
// std::string "echo:" + message, until the message "quit". Exit code 0, or 1 with the reason.
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

#include "shmq/shmq.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s IN_QUEUE OUT_QUEUE\n", argv[0]);
    return 2;
  }
  try {
    auto in = shmq::Queue<std::vector<std::byte>>::open(argv[1], std::chrono::seconds(10));
    auto out = shmq::Queue<std::string>::open(argv[2], std::chrono::seconds(10));
    std::vector<std::byte> msg;
    for (;;) {
      if (const shmq::Status s = in.get(msg); s != shmq::Status::ok) {
        std::fprintf(stderr, "get: %s\n", std::string(shmq::to_string(s)).c_str());
        return 1;
      }
      const std::string text(reinterpret_cast<const char*>(msg.data()), msg.size());
      if (text == "quit") return 0;
      if (const shmq::Status s = out.put("echo:" + text); s != shmq::Status::ok) {
        std::fprintf(stderr, "put: %s\n", std::string(shmq::to_string(s)).c_str());
        return 1;
      }
    }
  } catch (const shmq::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
