"""Emission on a graph with hand-written kernels: compiles warning-free, runs right."""

import shutil
import subprocess

import numpy as np
import pytest

from edgec.build import BuildResult, load_target
from edgec.emit import EmitOptions, emit_model
from edgec.options import BuildOptions
from edgec.plan import plan_memory
from edgec.verify import compile_host, run_harness
from tests.emit.handmade import expected_output, handmade_graph, handmade_kernels

needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")


def emit(tmp_path, arena="static", name="hm", outputs=("y",)):
    graph, kernels = handmade_graph(), handmade_kernels()
    graph.outputs = list(outputs)
    plan = plan_memory(graph, kernels)
    files = emit_model(graph, kernels, plan, EmitOptions(name, arena, "hm.tflite", "00ff"))
    paths = []
    for file_name, text in files.items():
        (tmp_path / file_name).write_text(text)
        paths.append(tmp_path / file_name)
    return BuildResult(tmp_path, name, paths, graph, kernels, plan, {}, load_target("host"),
                       BuildOptions(name=name, arena=arena))


def samples(count=6):
    rng = np.random.default_rng(0)
    return [[rng.integers(-128, 128, (2, 4)).astype(np.int8)] for _ in range(count)]


def test_generated_source_shape(tmp_path):
    result = emit(tmp_path)
    c = (tmp_path / "hm.c").read_text()
    h = (tmp_path / "hm.h").read_text()
    assert "sha256 00ff" in c and "edgec" in c.splitlines()[1]
    # Functions are named after the op and output shape; call sites are typed, no void *.
    assert ("/* node 0 'relu': RELU int8[2,4] -> int8[2,4] */\nHM_KERNEL static void "
            "hm_relu_2x4(const int8_t *restrict x, int8_t *restrict a)") in c
    assert "static void hm_add_8(" in c
    assert "hm_add_8((int8_t *)&hm_arena[" in c and "void *" not in c.split("hm_run")[-1]
    assert "hm_reshape" not in c  # the RESHAPE shares its input's bytes
    assert max(len(line) for line in c.splitlines()) <= 120
    assert "static uint8_t hm_arena[HM_ARENA_BYTES] HM_ALIGNED;" in c
    assert "static const int8_t hm_w0[8] HM_ALIGNED" in c
    assert "static const int32_t hm_offset[1] HM_ALIGNED" in c
    assert f"#define HM_ARENA_BYTES {result.plan.arena_bytes}u" in h
    assert "int hm_invoke(const int8_t *input, int8_t *output);" in h
    assert "int hm_run(const void *const *inputs, void *const *outputs);" in h
    for banned in ("malloc", "stdio", "printf", "TVM"):
        assert banned not in c


def test_two_emissions_are_byte_identical(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    emit(a), emit(b)
    for name in ("hm.c", "hm.h", "CMakeLists.txt"):
        assert (a / name).read_bytes() == (b / name).read_bytes()


@needs_gcc
@pytest.mark.parametrize("flags", [(), ("-fsanitize=address,undefined",
                                        "-fno-sanitize-recover=all", "-g")])
def test_compiles_pedantic_and_computes_right(tmp_path, flags):
    result = emit(tmp_path)
    exe = compile_host(result, extra_flags=flags)
    inputs = samples()
    for (x,), (y,) in zip(inputs, run_harness(exe, result.graph, inputs)):
        np.testing.assert_array_equal(y, expected_output(x))


@needs_gcc
def test_extern_arena_compiles_when_the_caller_defines_it(tmp_path):
    result = emit(tmp_path, arena="extern")
    h = (tmp_path / "hm.h").read_text()
    assert "extern uint8_t hm_arena[];" in h
    assert "static uint8_t hm_arena" not in (tmp_path / "hm.c").read_text()
    exe = compile_host(result)  # result.options.arena is extern: the harness defines it
    (x,) = samples(1)[0]
    np.testing.assert_array_equal(run_harness(exe, result.graph, [[x]])[0][0],
                                  expected_output(x))


@needs_gcc
def test_extern_arena_fails_to_link_without_a_definition(tmp_path):
    emit(tmp_path, arena="extern")
    main = tmp_path / "main.c"
    main.write_text('#include "hm.h"\nint main(void) { int8_t x[8] = {0}, y[8];\n'
                    '    return hm_invoke(x, y); }\n')
    done = subprocess.run(["gcc", "-std=c99", "-I", str(tmp_path), str(tmp_path / "hm.c"),
                           str(main), "-o", str(tmp_path / "a.out")], capture_output=True)
    assert done.returncode != 0
    assert b"hm_arena" in done.stderr


@pytest.mark.skipif(shutil.which("cmake") is None or shutil.which("gcc") is None,
                    reason="cmake or gcc not installed")
def test_cmake_builds_the_static_library(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    emit(src)
    build = tmp_path / "build"
    subprocess.run(["cmake", "-S", str(src), "-B", str(build), "-G", "Ninja"], check=True,
                   capture_output=True)
    subprocess.run(["cmake", "--build", str(build)], check=True, capture_output=True)
    assert (build / "libhm.a").is_file()


@needs_gcc
def test_two_outputs_go_through_run(tmp_path):
    result = emit(tmp_path, outputs=("y", "a"))
    assert "_invoke" not in (tmp_path / "hm.h").read_text()
    exe = compile_host(result)
    inputs = samples(3)
    for (x,), (y, a) in zip(inputs, run_harness(exe, result.graph, inputs)):
        np.testing.assert_array_equal(y, expected_output(x))
        np.testing.assert_array_equal(a, np.maximum(x, 0))
