// shmq: messaging between processes on one Linux machine through shared memory.
// The umbrella header: include this one.
#pragma once

#include "shmq/codec.hpp"      // IWYU pragma: export
#include "shmq/error.hpp"      // IWYU pragma: export
#include "shmq/interrupt.hpp"  // IWYU pragma: export
#include "shmq/manager.hpp"    // IWYU pragma: export
#include "shmq/options.hpp"    // IWYU pragma: export
#include "shmq/pipe.hpp"       // IWYU pragma: export
#include "shmq/process.hpp"    // IWYU pragma: export
#include "shmq/queue.hpp"      // IWYU pragma: export
#include "shmq/status.hpp"     // IWYU pragma: export
