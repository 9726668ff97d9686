# The quick start, run twice: producer and consumer start together (either may be first), the
# consumer ends by itself once the producer has gone, and removes the queue for the next run.
# Usage: cmake -DPRODUCER=path -DCONSUMER=path -DNAME=name -P check_quickstart.cmake
string(RANDOM LENGTH 10 suffix)  # concurrent test runs on one host use their own queue
set(NAME "${NAME}-${suffix}")
foreach(round 1 2)
  execute_process(COMMAND "${PRODUCER}" "${NAME}" 100
    COMMAND "${CONSUMER}" "${NAME}"
    OUTPUT_VARIABLE out RESULTS_VARIABLE rcs TIMEOUT 120)
  if(NOT rcs STREQUAL "0;0")
    message(FATAL_ERROR "round ${round}: exit codes [${rcs}] (producer;consumer), stdout [${out}]")
  endif()
  if(NOT out STREQUAL "100 jobs, sum 5050 (closed)\n")
    message(FATAL_ERROR "round ${round}: consumer printed [${out}]")
  endif()
endforeach()
