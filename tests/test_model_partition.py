"""``--model-partition`` and ``edgec package``: weights out of the code, in a model image the
firmware checks before it runs it (docs/OTA.md). The firmware side on native_sim is in
tests/project/test_ota_native_sim.py."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

from edgec.build import build
from edgec.cli import main
from edgec.emit.image import HEADER_BYTES, read_image
from edgec.errors import EdgecError
from edgec.export import save_tflite
from edgec.frontends import load_model
from edgec.ir import interpret
from edgec.options import BuildOptions
from edgec.verify import compile_host, run_harness
from edgec.verify.harness import random_inputs
from tests.shared_models import MODELS_DIR

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
DIGITS = EXAMPLES / "digits_int8.tflite"
PARTITION = BuildOptions(constants="partition")

needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")


def other_weights(path: Path) -> Path:
    """The digits model with its first conv's weights negated: same kernels, other numbers."""
    graph = load_model(DIGITS)
    name = next(n for n, t in graph.tensors.items() if t.is_const and t.data.dtype == np.int8)
    t = graph.tensors[name]
    t.data = (-t.data.astype(np.int16)).clip(-127, 127).astype(np.int8)
    save_tflite(graph, path)
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build(DIGITS, tmp_path_factory.mktemp("a"), PARTITION)


def test_the_code_holds_no_weights(built):
    c = (built.out_dir / "digits_int8.c").read_text()
    assert "static const int8_t" not in c and "static const int32_t" not in c
    assert "#define DIGITS_INT8_W0 ((const int8_t *)(digits_int8_constants + 0u))" in c
    header = read_image((built.out_dir / "digits_int8.bin").read_bytes())
    assert header.constants_bytes > 2000  # the int8 weights alone are 2,352 B... minus bias
    assert built.report["constants"] == "partition"
    inline = build(DIGITS, built.out_dir.parent / "inline")
    assert "static const int8_t digits_int8_w0[" in (inline.out_dir / "digits_int8.c").read_text()


def test_the_layout_hash_ignores_weights_and_sees_code(built, tmp_path):
    b = build(other_weights(tmp_path / "b.tflite"), tmp_path / "b",
              BuildOptions(constants="partition", name="digits_int8"))
    a_image = read_image((built.out_dir / "digits_int8.bin").read_bytes())
    b_image = read_image((b.out_dir / "digits_int8.bin").read_bytes())
    assert a_image.layout_hash == b_image.layout_hash
    assert a_image.model_sha256 != b_image.model_sha256
    ad = build(MODELS_DIR / "ad_fc_autoencoder_int8.tflite", tmp_path / "ad",
               BuildOptions(constants="partition", name="digits_int8"))
    assert read_image((ad.out_dir / "digits_int8.bin").read_bytes()).layout_hash \
        != a_image.layout_hash


@needs_gcc
def test_one_firmware_runs_another_models_image_bit_exact(built, tmp_path):
    """The OTA property on the host: code built for model A runs model B's image and gives
    B's reference outputs."""
    b_model = other_weights(tmp_path / "b.tflite")
    b = build(b_model, tmp_path / "b", BuildOptions(constants="partition", name="digits_int8"))
    exe = compile_host(built)
    samples = random_inputs(built.graph, 4, seed=3)
    graph_b = load_model(b_model)
    for image, graph in ((built.out_dir / "digits_int8.bin", built.graph),
                         (b.out_dir / "digits_int8.bin", graph_b)):
        actual = run_harness(exe, built.graph, samples, image=image)
        for sample, (y,) in zip(samples, actual):
            expected = interpret(graph, sample)[graph.outputs[0]]
            np.testing.assert_array_equal(y, expected)
    a_out = run_harness(exe, built.graph, samples, image=built.out_dir / "digits_int8.bin")
    b_out = run_harness(exe, built.graph, samples, image=b.out_dir / "digits_int8.bin")
    assert any(not np.array_equal(x[0], y[0]) for x, y in zip(a_out, b_out))


def _damaged(image: bytes, kind: str) -> bytes:
    data = bytearray(image)
    if kind == "crc":
        data[HEADER_BYTES + 5] ^= 0x40
    elif kind == "truncated":
        del data[-7:]
    elif kind == "layout":
        data[48] ^= 1
        data[92:96] = struct.pack("<I", zlib.crc32(bytes(data[:92])))
    elif kind == "header":
        data[0:4] = b"EDGX"
    return bytes(data)


@needs_gcc
@pytest.mark.parametrize("kind, status, message", [
    ("crc", -4, "do not match their CRC"), ("truncated", -2, "truncated"),
    ("layout", -3, None), ("header", -1, "does not start with EDGM")])
def test_damaged_images_are_refused_by_the_firmware_and_by_python(built, tmp_path, kind, status,
                                                                   message):
    image = _damaged((built.out_dir / "digits_int8.bin").read_bytes(), kind)
    path = tmp_path / "bad.bin"
    path.write_bytes(image)
    exe = compile_host(built)
    (tmp_path / "in.bin").write_bytes(bytes(64))
    run = subprocess.run([str(exe), str(tmp_path / "in.bin"), str(tmp_path / "out.bin"),
                          str(path)], capture_output=True, text=True)
    assert run.returncode == 3 and f"refused ({status})" in run.stderr
    if message:
        with pytest.raises(EdgecError, match=message):
            read_image(image)
    else:
        read_image(image)  # a well-formed image for other kernels: only the firmware knows


def test_package_command(built, tmp_path, capsys):
    out = tmp_path / "b.bin"
    assert main(["package", str(other_weights(tmp_path / "b.tflite")), "-o", str(out),
                 "--like", str(built.out_dir)]) == 0
    assert read_image(out.read_bytes()).layout_hash == \
        read_image((built.out_dir / "digits_int8.bin").read_bytes()).layout_hash
    assert "layout" in capsys.readouterr().out


def test_package_refuses_a_model_the_firmware_cannot_run(built, tmp_path, capsys):
    out = tmp_path / "ad.bin"
    code = main(["package", str(MODELS_DIR / "ad_fc_autoencoder_int8.tflite"), "-o", str(out),
                 "--like", str(built.out_dir)])
    err = capsys.readouterr().err
    assert code == 2 and "cannot run this model" in err and "hint:" in err
    assert not out.exists()


def test_package_like_a_folder_without_partition(tmp_path, capsys):
    inline = build(DIGITS, tmp_path / "inline")
    code = main(["package", str(DIGITS), "-o", str(tmp_path / "x.bin"), "--like",
                 str(inline.out_dir)])
    assert code == 2 and "--model-partition" in capsys.readouterr().err


@needs_gcc
def test_verify_with_model_partition_is_bit_exact(capsys):
    assert main(["verify", str(DIGITS), "--model-partition", "--count", "3"]) == 0
    assert "bit-exact" in capsys.readouterr().out


def test_push_without_a_device_is_one_error_line(built, tmp_path, capsys):
    pytest.importorskip("smpclient", reason="needs the ota extra: pip install 'edgec[ota]'")
    code = main(["push", str(built.out_dir / "digits_int8.bin"), "--port",
                 str(tmp_path / "no-such-tty"), "--timeout", "1"])
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert code == 2 and len(errors) == 1
    assert errors[0].startswith("edgec: error: cannot open SMP port")


def test_push_refuses_a_damaged_image_before_sending(tmp_path, capsys):
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"EDGM" + bytes(200))
    code = main(["push", str(bad), "--port", str(tmp_path / "tty")])
    assert code == 2 and "damaged header" in capsys.readouterr().err
