// pipe: an anonymous pipe per direction (default 64 KiB buffer), inherited through fork().
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "cleanup.hpp"
#include "fd_stream.hpp"
#include "peers.hpp"

namespace shmq_bench {
namespace {

class PipeRun final : public Run {
 public:
  PipeRun(const Scenario& s, const Variant& v) : s_(s), v_(v) {
    const int directions = s.figure == Figure::roundtrip ? 2 : 1;
    for (int d = 0; d < directions; ++d) {
      if (pipe2(fds_[d], s.wait == Wait::spin ? O_NONBLOCK : 0) != 0) {
        throw std::system_error(errno, std::generic_category(), "pipe2");
      }
      cleanup_.add([this, d] {
        close(fds_[d][0]);
        close(fds_[d][1]);
      });
    }
  }
  void child(ChildContext& ctx) override {
    with_size(s_.bytes, [&]<std::size_t N>() {
      run_role<N>(
          ctx, v_.send_batch, v_.recv_batch, [&](int d) { return FdTx<N>(fds_[d][1]); },
          [&](int d) { return FdRx<N>(fds_[d][0]); });
    });
  }

 private:
  Scenario s_;
  Variant v_;
  int fds_[2][2] = {{-1, -1}, {-1, -1}};
  Cleanup cleanup_;
};

class PipePeer final : public Peer {
 public:
  std::string_view name() const override { return "pipe"; }
  std::string_view description() const override { return "anonymous pipe, one per direction"; }
  std::vector<Variant> variants(const Scenario& s) const override { return stream_variants(s); }
  std::unique_ptr<Run> prepare(const Scenario& s, const Variant& v, const std::string&) override {
    return std::make_unique<PipeRun>(s, v);
  }
};

}  // namespace

std::unique_ptr<Peer> make_pipe_peer() {
  return std::make_unique<PipePeer>();
}

}  // namespace shmq_bench
