// Helpers for the fuzz targets: a byte reader over the fuzzer's input and unique segment names.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace shmq::fuzz {

// Reads fixed-size values from the input; past the end it yields zeros.
class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  template <class T>
  T take() {
    T v{};
    const std::size_t n = pos_ < size_ ? std::min(sizeof(T), size_ - pos_) : 0;
    if (n) std::memcpy(&v, data_ + pos_, n);
    pos_ += sizeof(T);
    return v;
  }
  std::size_t remaining() const { return pos_ < size_ ? size_ - pos_ : 0; }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

inline std::string fuzz_name(const char* what) {
  return std::string("shmq-fuzz-") + what + "-" + std::to_string(getpid());
}

}  // namespace shmq::fuzz
