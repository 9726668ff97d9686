// ForkList: the process-wide list of handles that a forked child must fix up (runtime-private).
//
// Node has `Node* prev` and `Node* next` members. Around every fork() (pthread_atfork), with the
// list's mutex held throughout so that all three see one consistent list: OnPrepare(node) runs in
// the parent before the fork, OnParent(node) in the parent after it (also when it failed),
// OnChild(node) in the child; each for every node, most recently inserted first. Handlers of
// different lists run in pthread_atfork's order: parent and child handlers in the order the lists
// were first used (segments before the pipe ends that live in them), prepare handlers reversed.
#pragma once

#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <mutex>

namespace shmq::detail {

template <class Node>
inline void fork_nothing(Node&) noexcept {}

template <class Node, void (*OnChild)(Node&) noexcept,
          void (*OnPrepare)(Node&) noexcept = fork_nothing<Node>,
          void (*OnParent)(Node&) noexcept = fork_nothing<Node>>
class ForkList {
 public:
  static void insert(Node* node) {
    static std::once_flag registered;
    std::call_once(registered, [] {
      pthread_atfork(
          [] {
            mutex_.lock();
            for (Node* n = head_; n != nullptr; n = n->next)
              OnPrepare(*n);
          },
          [] {
            for (Node* n = head_; n != nullptr; n = n->next)
              OnParent(*n);
            mutex_.unlock();
          },
          [] {
            for (Node* n = head_; n != nullptr; n = n->next)
              OnChild(*n);
            mutex_.unlock();
          });
    });
    std::lock_guard lock(mutex_);
    node->next = head_;
    if (head_) head_->prev = node;
    head_ = node;
  }

  // Runs `fn` with the list's mutex held: no fork() (so no handler) runs meanwhile. For state the
  // handlers read through a node that is being moved (Segment's identity).
  template <class Fn>
  static void locked(Fn&& fn) {
    std::lock_guard lock(mutex_);
    fn();
  }

  static void erase(Node* node) {
    std::lock_guard lock(mutex_);
    if (node->prev) node->prev->next = node->next;
    if (node->next) node->next->prev = node->prev;
    if (head_ == node) head_ = node->next;
    node->prev = node->next = nullptr;
  }

 private:
  static inline std::mutex mutex_;
  static inline Node* head_ = nullptr;
};

// How many fork()s separate this process from the one that first asked (a pthread_atfork child
// handler counts them): a handle that keeps the value it saw knows whether it now runs in a forked
// child without a getpid() per call. (A child made by a raw clone() or vfork() is not counted.)
inline std::uint64_t fork_generation() noexcept {
  static std::atomic<std::uint64_t> generation{0};
  static const bool registered = [] {
    // relaxed: the child is single-threaded when the handler runs.
    pthread_atfork(nullptr, nullptr, [] { generation.fetch_add(1, std::memory_order_relaxed); });
    return true;
  }();
  (void)registered;
  // relaxed: only this thread's own fork history matters.
  return generation.load(std::memory_order_relaxed);
}

}  // namespace shmq::detail
