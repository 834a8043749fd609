# edgec_add_model(NAME <prefix> MODEL <file> [TARGET <target>] [OPTIONS <edgec build args>...])
#
# Compiles MODEL with `edgec build` at build time (again whenever MODEL changes) into
# ${CMAKE_CURRENT_BINARY_DIR}/edgec_<prefix>/ and adds a static library target <prefix> whose
# public include directory holds <prefix>.h. TARGET defaults to host; a board target (e.g.
# mps2_an386) selects that core's kernels (edgec then also writes a whole application around
# the model, which is not used here; the model's C is in its model/ folder). Inside a Zephyr
# build the library is compiled with Zephyr's flags (zephyr_interface).
#
# The Python that runs edgec is found at configure time by edgec_find_python (see
# edgec_python.cmake: EDGEC_PYTHON, then the Python running this configure, then the `edgec`
# on PATH); configuration stops with one clear message when none has edgec's dependencies.
# edgec runs from this source tree (PYTHONPATH), so it need not be installed.

include(${CMAKE_CURRENT_LIST_DIR}/edgec_python.cmake)

function(edgec_add_model)
  cmake_parse_arguments(ARG "" "NAME;MODEL;TARGET" "OPTIONS" ${ARGN})
  if(NOT ARG_NAME OR NOT ARG_MODEL)
    message(FATAL_ERROR "edgec_add_model: NAME and MODEL are required")
  endif()
  if(NOT ARG_TARGET)
    set(ARG_TARGET host)
  endif()
  edgec_find_python(EDGEC_PYTHON)
  get_filename_component(model "${ARG_MODEL}" ABSOLUTE)
  set(out "${CMAKE_CURRENT_BINARY_DIR}/edgec_${ARG_NAME}")
  # Asked now, not at build time: the outputs' folder must be known to declare them.
  execute_process(
    COMMAND ${CMAKE_COMMAND} -E env "PYTHONPATH=${EDGEC_ROOT}" "${EDGEC_PYTHON}" -c
            "import sys; from edgec.targets import is_board, load_target as t; \
print(int(is_board(t(sys.argv[1]))))"
            "${ARG_TARGET}"
    OUTPUT_VARIABLE board OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "edgec_add_model: '${ARG_TARGET}' is not an edgec target (edgec targets)")
  endif()
  set(model_out "${out}")
  if(board)
    set(model_out "${out}/model")
  endif()
  # The model's C is one translation unit, <name>.c, beside <name>.h.
  add_custom_command(
    OUTPUT "${model_out}/${ARG_NAME}.c" "${model_out}/${ARG_NAME}.h"
    COMMAND ${CMAKE_COMMAND} -E env "PYTHONPATH=${EDGEC_ROOT}"
            "${EDGEC_PYTHON}" -m edgec build "${model}" --target "${ARG_TARGET}"
            --name "${ARG_NAME}" -o "${out}" ${ARG_OPTIONS}
    DEPENDS "${model}"
    COMMENT "edgec: compiling ${ARG_MODEL} for ${ARG_TARGET}"
    VERBATIM)
  add_library(${ARG_NAME} STATIC "${model_out}/${ARG_NAME}.c")
  target_include_directories(${ARG_NAME} PUBLIC "${model_out}")
  set_target_properties(${ARG_NAME} PROPERTIES C_STANDARD 99 C_STANDARD_REQUIRED ON)
  if(TARGET zephyr_interface)
    target_link_libraries(${ARG_NAME} PRIVATE zephyr_interface)
  elseif(UNIX)
    target_link_libraries(${ARG_NAME} PUBLIC m)
  endif()
endfunction()
