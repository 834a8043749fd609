# edgec_add_model(NAME <prefix> MODEL <file> [TARGET <target>] [OPTIONS <edgec build args>...])
#
# Compiles MODEL with `edgec build` at build time (again whenever MODEL changes) into
# ${CMAKE_CURRENT_BINARY_DIR}/edgec_<prefix>/ and adds a static library target <prefix> whose
# public include directory holds <prefix>.h. TARGET defaults to host. Inside a Zephyr build
# the library is compiled with Zephyr's flags (zephyr_interface).
#
# EDGEC_PYTHON: the Python that runs edgec (default: the Python3 interpreter CMake finds).
# edgec runs from this source tree (PYTHONPATH), so it need not be installed.

set(EDGEC_ROOT "${CMAKE_CURRENT_LIST_DIR}/.." CACHE INTERNAL "edgec source tree")

function(edgec_add_model)
  cmake_parse_arguments(ARG "" "NAME;MODEL;TARGET" "OPTIONS" ${ARGN})
  if(NOT ARG_NAME OR NOT ARG_MODEL)
    message(FATAL_ERROR "edgec_add_model: NAME and MODEL are required")
  endif()
  if(NOT ARG_TARGET)
    set(ARG_TARGET host)
  endif()
  if(NOT EDGEC_PYTHON)
    find_package(Python3 REQUIRED COMPONENTS Interpreter)
    set(EDGEC_PYTHON "${Python3_EXECUTABLE}")
  endif()
  get_filename_component(model "${ARG_MODEL}" ABSOLUTE)
  set(out "${CMAKE_CURRENT_BINARY_DIR}/edgec_${ARG_NAME}")
  # The model's C is one translation unit, <name>.c, beside <name>.h.
  add_custom_command(
    OUTPUT "${out}/${ARG_NAME}.c" "${out}/${ARG_NAME}.h"
    COMMAND ${CMAKE_COMMAND} -E env "PYTHONPATH=${EDGEC_ROOT}"
            "${EDGEC_PYTHON}" -m edgec build "${model}" --target "${ARG_TARGET}"
            --name "${ARG_NAME}" -o "${out}" ${ARG_OPTIONS}
    DEPENDS "${model}"
    COMMENT "edgec: compiling ${ARG_MODEL} for ${ARG_TARGET}"
    VERBATIM)
  add_library(${ARG_NAME} STATIC "${out}/${ARG_NAME}.c")
  target_include_directories(${ARG_NAME} PUBLIC "${out}")
  set_target_properties(${ARG_NAME} PROPERTIES C_STANDARD 99 C_STANDARD_REQUIRED ON)
  if(TARGET zephyr_interface)
    target_link_libraries(${ARG_NAME} PRIVATE zephyr_interface)
  elseif(UNIX)
    target_link_libraries(${ARG_NAME} PUBLIC m)
  endif()
endfunction()
