// Fuzz target: hostile shared state between operations (DESIGN §7).
//
// One process-local Queue handle runs operations while a "peer" (a second mapping of the same
// file) writes fuzzer-chosen values at fuzzer-chosen places of the control block and the slots
// between any two operations. Every operation must return a Status — never read or write out of
// bounds, never loop forever (libFuzzer's -timeout catches hangs), never trip UBSan.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>

#include "fuzz_support.hpp"
#include "queue_ops.hpp"
#include "shmq/detail/layout.hpp"
#include "shmq/detail/segment.hpp"
#include "shmq/shmq.hpp"

namespace {

using shmq::fuzz::Input;

template <class T>
void run(Input& in, const std::string& name, const shmq::QueueOptions& opt) {
  auto q = shmq::Queue<T>::create(name, opt);
  const std::string path = shmq::detail::segment_path(name);
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return;
  const off_t size = ::lseek(fd, 0, SEEK_END);
  void* map =
      ::mmap(nullptr, static_cast<std::size_t>(size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return;
  auto* peer = static_cast<unsigned char*>(map);
  // The hostile peer aims at the queue's control block and slots (the header and registry are
  // covered by segment_open_fuzz).
  const std::size_t first = shmq::detail::kBodyOffset;
  const std::size_t span = static_cast<std::size_t>(size) - first;

  for (int step = 0; step < 256 && !in.empty(); ++step) {
    const auto op = in.take<std::uint8_t>();
    switch (op % 12) {
      case 0:
      case 1: {
        const auto where = in.take<std::uint16_t>();
        const auto value = in.take<std::uint64_t>();
        const std::size_t len = 1 + (op >> 4) % 8;
        const std::size_t at = first + where % span;
        std::memcpy(peer + at, &value, std::min(len, static_cast<std::size_t>(size) - at));
        break;
      }
      default:
        shmq::fuzz::queue_op(q, op % 12 - 2U, op, std::chrono::milliseconds(0));
        break;
    }
  }
  ::munmap(map, static_cast<std::size_t>(size));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in(data, size);
  const auto shape = in.take<std::uint8_t>();
  const shmq::QueueOptions opt = shmq::fuzz::queue_options(shape, 40, 3);
  const std::string name = shmq::fuzz::fuzz_name("hostile");
  shmq::detail::Segment::remove(name);
  if (shape & 1) {
    run<std::string>(in, name, opt);
  } else {
    run<std::uint32_t>(in, name, opt);
  }
  shmq::detail::Segment::remove(name);
  return 0;
}
