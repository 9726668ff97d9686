// Fuzz target: hostile segment bytes on open (DESIGN §7).
//
// A valid queue segment is made and left (its creator detached), then patched with fuzzer-chosen
// bytes anywhere in the file — header, registry, control block, slot headers, payloads — and maybe
// truncated or extended. It is then opened as a user would (Queue<std::string>,
// Queue<std::uint64_t>, inspect, peek_messages) and driven a little. Every outcome must be a
// shmq::Error or a Status; a crash, an out-of-bounds access (ASan) or UB (UBSan) is a finding.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "shmq/detail/segment.hpp"
#include "shmq/inspect.hpp"
#include "shmq/shmq.hpp"

namespace {

using shmq::fuzz::Input;

template <class T>
void drive(const std::string& name, const T& sample) {
  try {
    auto q = shmq::Queue<T>::open(name, shmq::WaitPolicy{0, std::chrono::milliseconds(1)});
    T out{};
    for (int i = 0; i < 4; ++i) {
      (void)q.try_get(out);
      (void)q.try_put(sample);
      (void)q.get_for(out, std::chrono::milliseconds(0));
    }
    (void)q.size();
    (void)q.full();
  } catch (const shmq::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in(data, size);
  const auto shape = in.take<std::uint8_t>();
  const bool bytes = (shape & 1) != 0;
  shmq::QueueOptions opt;
  opt.producers = (shape & 2) ? shmq::Producers::many : shmq::Producers::one;
  opt.consumers = (shape & 4) ? shmq::Consumers::many : shmq::Consumers::one;
  opt.capacity = 1ULL << ((shape >> 3) & 3);
  opt.max_message = 32;
  opt.wait = shmq::WaitPolicy{0, std::chrono::milliseconds(1)};
  const std::string name = shmq::fuzz::fuzz_name("open");
  shmq::detail::Segment::remove(name);

  const unsigned preload = in.take<std::uint8_t>() % (opt.capacity + 1);
  if (bytes) {
    auto q = shmq::Queue<std::string>::create(name, opt);
    for (unsigned i = 0; i < preload; ++i)
      (void)q.try_put(std::string(i * 3 % 33, 'x'));
  } else {
    auto q = shmq::Queue<std::uint64_t>::create(name, opt);
    for (unsigned i = 0; i < preload; ++i)
      (void)q.try_put(i);
  }

  // Patch the file as a hostile peer would, after its creator detached.
  const std::string path = shmq::detail::segment_path(name);
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd >= 0) {
    const off_t file_size = ::lseek(fd, 0, SEEK_END);
    while (!in.empty() && file_size > 0) {
      const auto op = in.take<std::uint8_t>();
      const auto where = in.take<std::uint16_t>();
      if (op % 8 == 7) {
        // Truncate (or extend) the file.
        (void)::ftruncate(fd, static_cast<off_t>(where % (file_size + 64)));
        continue;
      }
      const auto value = in.take<std::uint64_t>();
      const std::size_t len = 1 + op % 8;
      (void)::pwrite(fd, &value, len, static_cast<off_t>(where % file_size));
    }
    ::close(fd);
  }

  if (bytes) {
    drive<std::string>(name, std::string("hostile"));
  } else {
    drive<std::uint64_t>(name, 7);
  }
  drive<std::uint64_t>(name, 9);  // and as the wrong type
  try {
    (void)shmq::inspect(name);
    (void)shmq::peek_messages(name, 16);
  } catch (const shmq::Error&) {
  }
  shmq::detail::Segment::remove(name);
  return 0;
}
