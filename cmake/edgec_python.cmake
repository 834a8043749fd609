# edgec_find_python(<out-var>): the Python interpreter that can run edgec, found at configure
# time. Candidates, in this order (the first that imports edgec's dependencies wins):
#   1. EDGEC_PYTHON (a CMake variable, -DEDGEC_PYTHON=..., or the environment variable);
#   2. the Python that runs this configure: Python3_EXECUTABLE if set, else the interpreter
#      find_package(Python3) picks (an active virtualenv first);
#   3. the Python behind the `edgec` command on PATH (its #! line).
# edgec itself runs from this source tree (PYTHONPATH), so the interpreter needs only edgec's
# dependencies (pip install path/to/edgec, or pip install -r of its pyproject, in that venv).
# When none qualifies, configuration stops with one message naming what was tried.

set(EDGEC_ROOT "${CMAKE_CURRENT_LIST_DIR}/.." CACHE INTERNAL "edgec source tree")

function(_edgec_python_works python out)
  execute_process(
    COMMAND ${CMAKE_COMMAND} -E env "PYTHONPATH=${EDGEC_ROOT}" "${python}" -c
            "import numpy, flatbuffers, tflite, onnx, jinja2, yaml, tvm, edgec.targets"
    RESULT_VARIABLE status OUTPUT_QUIET ERROR_VARIABLE error)
  if(status EQUAL 0)
    set(${out} "" PARENT_SCOPE)
  else()
    string(REGEX MATCH "[A-Za-z]*Error: [^\n]*" error "${error}")
    if(NOT error)
      set(error "cannot run")
    endif()
    set(${out} "${error}" PARENT_SCOPE)
  endif()
endfunction()

function(edgec_find_python out)
  get_property(found GLOBAL PROPERTY EDGEC_PYTHON_FOUND)
  if(found)
    set(${out} "${found}" PARENT_SCOPE)
    return()
  endif()
  set(candidates)
  set(labels)
  if(EDGEC_PYTHON)
    list(APPEND candidates "${EDGEC_PYTHON}")
    list(APPEND labels "EDGEC_PYTHON")
  elseif(DEFINED ENV{EDGEC_PYTHON})
    list(APPEND candidates "$ENV{EDGEC_PYTHON}")
    list(APPEND labels "EDGEC_PYTHON (environment)")
  endif()
  if(NOT Python3_EXECUTABLE)
    find_package(Python3 QUIET COMPONENTS Interpreter)
  endif()
  if(Python3_EXECUTABLE)
    list(APPEND candidates "${Python3_EXECUTABLE}")
    list(APPEND labels "Python3_EXECUTABLE")
  endif()
  find_program(EDGEC_COMMAND edgec)
  if(EDGEC_COMMAND)
    file(STRINGS "${EDGEC_COMMAND}" shebang LIMIT_COUNT 1)
    set(interpreter "")
    if(shebang MATCHES "^#! *[^ ]*/env +([^ ]*python[^ ]*)")  # #!/usr/bin/env python3
      find_program(interpreter NAMES "${CMAKE_MATCH_1}" NO_CACHE)
    elseif(shebang MATCHES "^#! *([^ ]*python[^ ]*)")  # #!/path/to/venv/bin/python
      set(interpreter "${CMAKE_MATCH_1}")
    endif()
    if(interpreter)
      list(APPEND candidates "${interpreter}")
      list(APPEND labels "edgec on PATH")
    endif()
  endif()
  set(tried "")
  foreach(python label IN ZIP_LISTS candidates labels)
    _edgec_python_works("${python}" error)
    if(NOT error)
      set_property(GLOBAL PROPERTY EDGEC_PYTHON_FOUND "${python}")
      message(STATUS "edgec: running edgec with ${python} (${label})")
      set(${out} "${python}" PARENT_SCOPE)
      return()
    endif()
    string(APPEND tried " ${label}=${python}: ${error};")
  endforeach()
  if(NOT tried)
    set(tried " no Python found;")
  endif()
  message(FATAL_ERROR
    "edgec: no Python that can run edgec (tried:${tried} hint: pip install path/to/edgec "
    "into a virtualenv and configure with -DEDGEC_PYTHON=<venv>/bin/python)")
endfunction()
