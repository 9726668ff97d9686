// Cleanup: what a Run must undo (unlink a name, close a descriptor), registered before the thing is
// created and undone in reverse order when the Run is destroyed — also when its constructor throws
// halfway, since a fully constructed member is destroyed then.
#pragma once

#include <functional>
#include <utility>
#include <vector>

namespace shmq_bench {

class Cleanup {
 public:
  Cleanup() = default;
  Cleanup(const Cleanup&) = delete;
  Cleanup& operator=(const Cleanup&) = delete;
  ~Cleanup() {
    for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) {
      try {
        (*it)();
      } catch (...) {  // cleanup is best effort: one failure must not skip the others
      }
    }
  }
  void add(std::function<void()> undo) { undo_.push_back(std::move(undo)); }

 private:
  std::vector<std::function<void()>> undo_;
};

}  // namespace shmq_bench
