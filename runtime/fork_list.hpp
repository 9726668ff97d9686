// ForkList: the process-wide list of handles that a forked child must fix up (runtime-private).
//
// Node has `Node* prev` and `Node* next` members; OnChild(node) runs in the child for each node,
// in insertion order reversed, from a pthread_atfork child handler. The list's mutex is held
// across fork() (prepare/parent/child handlers), so the child sees a consistent list. Handlers
// of different lists run in the order the lists were first used (pthread_atfork's FIFO order):
// segments before the pipe ends that live in them.
#pragma once

#include <pthread.h>

#include <mutex>

namespace shmq::detail {

template <class Node, void (*OnChild)(Node&) noexcept>
class ForkList {
 public:
  static void insert(Node* node) {
    static std::once_flag registered;
    std::call_once(registered, [] {
      pthread_atfork([] { mutex_.lock(); }, [] { mutex_.unlock(); },
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

}  // namespace shmq::detail
