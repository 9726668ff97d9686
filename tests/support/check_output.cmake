# Runs EXE and checks that its stdout is exactly EXPECTED followed by a newline, and that it
# exits with 0. Usage: cmake -DEXE=path -DEXPECTED=text -P check_output.cmake
execute_process(COMMAND "${EXE}" OUTPUT_VARIABLE out RESULT_VARIABLE rc TIMEOUT 60)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${EXE} exited with ${rc}; stdout: [${out}]")
endif()
if(NOT out STREQUAL "${EXPECTED}\n")
  message(FATAL_ERROR "${EXE} printed [${out}], expected [${EXPECTED}\\n]")
endif()
