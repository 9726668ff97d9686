# Sets SHMQ_BENCH_GIT_COMMIT to the source tree's HEAD ("unknown" outside git). A configure-time
# value: CMake configures again when HEAD, or the branch it names, moves, so the figure follows
# commits. Uncommitted edits are not in it.
set(SHMQ_BENCH_GIT_COMMIT unknown)
find_package(Git QUIET)
if(GIT_FOUND)
  execute_process(COMMAND ${GIT_EXECUTABLE} rev-parse HEAD --git-path HEAD
                          --symbolic-full-name HEAD
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR} RESULT_VARIABLE _rc ERROR_QUIET
    OUTPUT_VARIABLE _git OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(_rc EQUAL 0)
    string(REPLACE "\n" ";" _git "${_git}")
    list(GET _git 0 SHMQ_BENCH_GIT_COMMIT)
    list(GET _git 1 _head_file)
    set(_watch ${_head_file})
    list(LENGTH _git _n)
    if(_n GREATER 2)
      list(GET _git 2 _ref)
      execute_process(COMMAND ${GIT_EXECUTABLE} rev-parse --git-path ${_ref} --git-path packed-refs
        WORKING_DIRECTORY ${PROJECT_SOURCE_DIR} ERROR_QUIET
        OUTPUT_VARIABLE _ref_files OUTPUT_STRIP_TRAILING_WHITESPACE)
      string(REPLACE "\n" ";" _ref_files "${_ref_files}")
      list(APPEND _watch ${_ref_files})
    endif()
    foreach(_f IN LISTS _watch)
      cmake_path(ABSOLUTE_PATH _f BASE_DIRECTORY ${PROJECT_SOURCE_DIR})
      if(EXISTS ${_f})
        set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_f})
      endif()
    endforeach()
  endif()
endif()
