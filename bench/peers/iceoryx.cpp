// iceoryx: iceoryx 2.x publish/subscribe (Debian's packages), through its untyped C++ API. The
// bench starts iox-roudi itself before the first iceoryx row and stops it after the last
// (roudi.hpp); if RouDi cannot start, every iceoryx row is skipped with the reason.
//
// Each forked child registers with RouDi under a name of its own (PoshRuntime::initRuntime), makes
// its publisher and subscriber, and waits until RouDi has connected them before the start barrier
// (nothing is lost to a subscription still in flight). Delivery is lossless: the subscriber's
// queue blocks the producer (QueueFullPolicy::BLOCK_PRODUCER with
// ConsumerTooSlowPolicy::WAIT_FOR_CONSUMER; iceoryx busy-waits in publish() while it is full).
// Like every peer, a message is copied in (loan + memcpy + publish) and out (take + memcpy +
// release): iceoryx's zero-copy loans save the copies only for callers that build messages in
// place. Queue depth: min(capacity, 256), iceoryx's maximum.
// Spinning, the receiver polls take(); sleeping, it waits in a WaitSet (a futex-based semaphore
// in shared memory) whenever its queue is empty. No MPMC row: a publisher's samples go to every
// subscriber (pub/sub, not a work queue).
#include <iceoryx_hoofs/log/logmanager.hpp>
#include <iceoryx_posh/popo/untyped_publisher.hpp>
#include <iceoryx_posh/popo/untyped_subscriber.hpp>
#include <iceoryx_posh/popo/wait_set.hpp>
#include <iceoryx_posh/runtime/posh_runtime.hpp>

#include <unistd.h>

#include <cstring>
#include <optional>
#include <stdexcept>

#include "../workloads.hpp"
#include "peers.hpp"
#include "roudi.hpp"

namespace shmq_bench {
namespace {

using Publisher = iox::popo::UntypedPublisher;
using Subscriber = iox::popo::UntypedSubscriber;
using WaitSet = iox::popo::WaitSet<>;

template <std::size_t N>
class IoxTx {
 public:
  explicit IoxTx(Publisher* p) : pub_(p) {}
  void send(const Msg<N>& m) {
    for (;;) {
      auto loan = pub_->loan(N, alignof(Msg<N>));
      if (!loan.has_error()) {
        std::memcpy(loan.value(), m.bytes, N);
        pub_->publish(loan.value());  // busy-waits while the subscriber's queue is full
        return;
      }
      cpu_relax();  // out of chunks for a moment: the subscriber still holds them
    }
  }

 private:
  Publisher* pub_;
};

template <std::size_t N>
class IoxRx {
 public:
  IoxRx(Subscriber* s, WaitSet* ws) : sub_(s), waitset_(ws) {}
  std::size_t recv(Msg<N>* out, std::size_t) {
    for (;;) {
      auto taken = sub_->take();
      if (!taken.has_error()) {
        const void* payload = taken.value();
        const auto size = iox::mepoo::ChunkHeader::fromUserPayload(payload)->userPayloadSize();
        if (size == N) std::memcpy(out->bytes, payload, N);
        sub_->release(payload);
        if (size != N) throw std::runtime_error(fmt::format("iceoryx: a {}-byte sample", size));
        return 1;
      }
      if (waitset_ == nullptr) {
        cpu_relax();
      } else {
        (void)waitset_->wait();  // HAS_DATA is a state: it cannot be missed
      }
    }
  }

 private:
  Subscriber* sub_;
  WaitSet* waitset_;  // null: spin
};

// The runner ends a child with _exit(), which skips the static destructor of the process's
// runtime — the one that deregisters it from RouDi. A process RouDi still lists when it stops gets
// a SIGTERM from RouDi (and RouDi aborts, leaving its shared memory, if the process is gone): so
// the runtime is destroyed here, on every path out of the child; nothing uses it afterwards.
struct Deregister {
  Deregister() = default;
  Deregister(const Deregister&) = delete;
  Deregister& operator=(const Deregister&) = delete;
  ~Deregister() { iox::runtime::PoshRuntime::getInstance().~PoshRuntime(); }
};

template <class Ready>
void wait_for(Ready&& ready, const char* what) {
  const std::int64_t deadline = now_ns() + 10'000'000'000;
  while (!ready()) {
    if (now_ns() > deadline) throw std::runtime_error(fmt::format("iceoryx: {} after 10 s", what));
    timespec ts{0, 1'000'000};
    nanosleep(&ts, nullptr);
  }
}

class IceoryxRun final : public Run {
 public:
  IceoryxRun(const Scenario& s, std::string unique) : s_(s), unique_(std::move(unique)) {}

  ~IceoryxRun() override {
    // The children end with _exit(), before their runtime's destructor would remove its socket
    // and lock under /tmp.
    for (const Role r : {Role::ping, Role::pong, Role::producer, Role::consumer}) {
      const std::string path = "/tmp/" + runtime_name(r, 0);
      ::unlink(path.c_str());
      ::unlink((path + ".lock").c_str());
    }
  }

  void child(ChildContext& ctx) override {
    // Warnings and errors only (the Debian build logs every registration by default).
    iox::log::LogManager::GetLogManager().SetDefaultLogLevel(
        iox::log::LogLevel::kWarn, iox::log::LogLevelOutput::kHideLogLevel);
    iox::runtime::PoshRuntime::initRuntime(
        iox::RuntimeName_t(iox::cxx::TruncateToCapacity, runtime_name(ctx.role(), ctx.index())));
    const Deregister deregister;  // declared before the ports: runs after they are gone
    const bool pinger = ctx.role() == Role::ping || ctx.role() == Role::producer;
    const bool roundtrip = s_.figure == Figure::roundtrip;
    // Direction 0 goes from the pinger (producer) to the ponger (consumer); 1 comes back.
    std::optional<Publisher> pub;
    std::optional<Subscriber> sub;
    if (pinger || roundtrip) pub.emplace(service(pinger ? 0 : 1), publisher_options());
    if (!pinger || roundtrip) sub.emplace(service(pinger ? 1 : 0), subscriber_options());
    std::optional<WaitSet> waitset;
    if (sub && s_.wait != Wait::spin) {
      waitset.emplace();
      if (waitset->attachState(*sub, iox::popo::SubscriberState::HAS_DATA).has_error()) {
        throw std::runtime_error("iceoryx: cannot attach the subscriber to a WaitSet");
      }
    }
    if (pub) wait_for([&] { return pub->hasSubscribers(); }, "no subscriber");
    if (sub) {
      wait_for([&] { return sub->getSubscriptionState() == iox::SubscribeState::SUBSCRIBED; },
               "not subscribed");
    }
    with_size(s_.bytes, [&]<std::size_t N>() {
      run_role<N>(
          ctx, 1, 1, [&](int) { return IoxTx<N>(&*pub); },
          [&](int) { return IoxRx<N>(&*sub, waitset ? &*waitset : nullptr); });
    });
  }

 private:
  std::string runtime_name(Role r, int index) const {
    return fmt::format("{}-{}{}", unique_, static_cast<int>(r), index);
  }
  iox::capro::ServiceDescription service(int direction) const {
    // From std::string: the const char* constructors trip gcc's -Warray-bounds inside iceoryx.
    const auto id = [](const std::string& s) {
      return iox::capro::IdString_t(iox::cxx::TruncateToCapacity, s);
    };
    return {id("shmq-bench"), id(unique_), id(direction == 0 ? "d0" : "d1")};
  }
  static iox::popo::PublisherOptions publisher_options() {
    iox::popo::PublisherOptions o;
    o.historyCapacity = 0;
    o.subscriberTooSlowPolicy = iox::popo::ConsumerTooSlowPolicy::WAIT_FOR_CONSUMER;
    return o;
  }
  iox::popo::SubscriberOptions subscriber_options() const {
    iox::popo::SubscriberOptions o;
    o.queueCapacity =
        std::min<std::uint64_t>(capacity_for(s_.bytes), iox::MAX_SUBSCRIBER_QUEUE_CAPACITY);
    o.historyRequest = 0;
    o.queueFullPolicy = iox::popo::QueueFullPolicy::BLOCK_PRODUCER;
    return o;
  }

  Scenario s_;
  std::string unique_;
};

class IceoryxPeer final : public Peer {
 public:
  std::string_view name() const override { return "iceoryx"; }
  std::string_view description() const override {
    return "iceoryx 2.x publish/subscribe (untyped API), iox-roudi started by the bench";
  }
  std::vector<Variant> variants(const Scenario& s) const override {
    const auto depth =
        std::min<std::size_t>(capacity_for(s.bytes), iox::MAX_SUBSCRIBER_QUEUE_CAPACITY);
    switch (s.figure) {
      case Figure::roundtrip:
        if (s.wait == Wait::spin) return {{"pub/sub", "2 services, loan/publish, take() polled"}};
        return {{"pub/sub", "2 services, loan/publish, WaitSet wait when empty"}};
      case Figure::throughput:
        return {{"pub/sub",
                 fmt::format("loan/publish, take() polled, 1 msg/call, {} deep, blocking producer",
                             depth)}};
      case Figure::mpmc:  // publish/subscribe: every subscriber gets every sample
      case Figure::manager:
        return {};
    }
    return {};
  }
  std::unique_ptr<Run> prepare(const Scenario& s, const Variant&,
                               const std::string& unique) override {
    if (!unavailable_.empty()) throw Unavailable(unavailable_);
    if (!roudi_) {
      try {
        roudi_ = std::make_unique<Roudi>(unique);
      } catch (const Unavailable& e) {
        unavailable_ = e.what();  // every later iceoryx row is skipped for the same reason
        throw;
      }
    }
    return std::make_unique<IceoryxRun>(s, unique);
  }
  double run_overhead_s() const override { return 0.3; }  // registration, RouDi's discovery
  void release() override { roudi_.reset(); }

 private:
  std::unique_ptr<Roudi> roudi_;
  std::string unavailable_;
};

}  // namespace

std::unique_ptr<Peer> make_iceoryx_peer() {
  return std::make_unique<IceoryxPeer>();
}

}  // namespace shmq_bench
