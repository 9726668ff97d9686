# Runs EXE with ARGS (a ;-list) and checks its exact exit code, and optionally its output:
#   EXIT          the exit code it must end with
#   STDERR_REGEX  a regular expression stderr must match
#   STDOUT_LINE   a regular expression every line of stdout must match (and stdout is not empty)
# Usage: cmake -DEXE=path "-DARGS=a;b" -DEXIT=2 [-DSTDERR_REGEX=...] [-DSTDOUT_LINE=...]
#        -P check_run.cmake
execute_process(COMMAND "${EXE}" ${ARGS} OUTPUT_VARIABLE out ERROR_VARIABLE err
  RESULT_VARIABLE rc TIMEOUT 120)
if(NOT rc STREQUAL "${EXIT}")
  message(FATAL_ERROR "${EXE} ${ARGS} exited with ${rc}, expected ${EXIT}\nstdout: [${out}]\n"
                      "stderr: [${err}]")
endif()
if(DEFINED STDERR_REGEX AND NOT err MATCHES "${STDERR_REGEX}")
  message(FATAL_ERROR "${EXE} ${ARGS}: stderr [${err}] does not match [${STDERR_REGEX}]")
endif()
if(DEFINED STDOUT_LINE)
  if(out STREQUAL "")
    message(FATAL_ERROR "${EXE} ${ARGS}: printed nothing")
  endif()
  string(REGEX REPLACE "\n$" "" body "${out}")
  string(REPLACE ";" "\\;" body "${body}")
  string(REPLACE "\n" ";" lines "${body}")
  foreach(line IN LISTS lines)
    if(NOT line MATCHES "${STDOUT_LINE}")
      message(FATAL_ERROR "${EXE} ${ARGS}: stdout line [${line}] does not match [${STDOUT_LINE}]")
    endif()
  endforeach()
endif()
