"""Stack use known at build time: GCC's call graph (-fstack-usage -fcallgraph-info=su) gives
each function's frame; the worst chain from the entry point is in the report, sizes the
Zephyr app's threads, and a smaller `stack_bytes` is refused."""

import json
import shutil
from pathlib import Path

import pytest

from edgec.cli import main
from edgec.emit.stackuse import EXTERNAL_CALL_BYTES, parse_callgraph, worst_chain
from edgec.project.appconfig import AppConfig
from edgec.project.appschema import DEFAULT_STACK_BYTES, MIN_STACK_BYTES
from edgec.project.modelio import ModelIO
from edgec.project.render import thread_stack_bytes
from edgec.errors import EdgecError
from tests.cortexm.toolchain import needs_arm_gcc, needs_qemu

ROOT = Path(__file__).resolve().parents[1]
CI = """graph: { title: "m.c"
node: { title: "m.c:k_small" label: "k_small\\nm.c:1:1\\n40 bytes (static)" }
node: { title: "m.c:k_big" label: "k_big\\nm.c:2:1\\n96 bytes (static)" }
node: { title: "m.c:helper" label: "helper\\nm.c:3:1\\n16 bytes (dynamic,bounded)" }
node: { title: "m_run" label: "m_run\\nm.c:4:1\\n64 bytes (static)" }
node: { title: "expf" label: "expf\\nmath.h:1:1" shape : ellipse }
edge: { sourcename: "m_run" targetname: "m.c:k_small" label: "m.c:5:1" }
edge: { sourcename: "m_run" targetname: "m.c:k_big" label: "m.c:6:1" }
edge: { sourcename: "m.c:k_small" targetname: "expf" }
edge: { sourcename: "m.c:k_big" targetname: "m.c:helper" }
}
"""


def test_worst_chain_follows_the_heaviest_path():
    frames, calls = parse_callgraph(CI)
    use = worst_chain(frames, calls, "m_run")
    # m_run -> k_big -> helper = 176; m_run -> k_small -> expf = 104 + the allowance
    assert use.bytes == max(64 + 96 + 16, 64 + 40 + EXTERNAL_CALL_BYTES)
    assert use.chain[0] == "m_run" and use.bounded


def test_a_dynamic_frame_or_recursion_is_no_bound():
    frames, calls = parse_callgraph(CI.replace("16 bytes (dynamic,bounded)", "16 bytes (dynamic)"))
    assert not worst_chain(frames, calls, "m_run").bounded
    frames, calls = parse_callgraph(CI)
    calls["m.c:helper"] = ["m.c:k_big"]
    assert not worst_chain(frames, calls, "m_run").bounded


def _model(stack):
    return ModelIO("m", [], [], {"stack_bytes": stack})


def test_app_stack_is_sized_from_the_model_and_a_smaller_one_refused():
    assert thread_stack_bytes(AppConfig(), _model(300)) == DEFAULT_STACK_BYTES
    assert thread_stack_bytes(AppConfig(), _model(5000)) == 6144  # 5000 + 1024, rounded up
    assert thread_stack_bytes(AppConfig(stack_bytes=1400), _model(300)) == 1400
    with pytest.raises(EdgecError, match="below what the model needs: 1324 B") as err:
        thread_stack_bytes(AppConfig(stack_bytes=1300), _model(300))
    assert "\n" not in err.value.full_message
    assert thread_stack_bytes(AppConfig(), _model(None)) == DEFAULT_STACK_BYTES
    assert MIN_STACK_BYTES == 1024


@needs_arm_gcc
def test_board_build_reports_the_stack_and_refuses_a_small_stack_bytes(tmp_path, capsys):
    model = ROOT / "examples" / "digits_int8.tflite"
    assert main(["-q", "build", str(model), "--target", "mps2_an386", "-o",
                 str(tmp_path / "ok")]) == 0
    report = json.loads((tmp_path / "ok" / "model" / "report.json").read_text())
    stack = report["stack"]
    assert stack["chain"][:2] == ["digits_int8_invoke", "digits_int8_run"]
    assert stack["bytes"] == report["totals"]["stack_bytes"] > 0 and stack["bounded"]
    assert "arm-none-eabi-gcc -Os" in stack["method"]
    assert report["application"]["ram"]["thread_stack_bytes"] == DEFAULT_STACK_BYTES
    capsys.readouterr()
    app = tmp_path / "app.yaml"
    app.write_text(f"stack_bytes: {MIN_STACK_BYTES}\n")
    assert main(["-q", "build", str(model), "--target", "mps2_an386", "--app", str(app), "-o",
                 str(tmp_path / "small")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("edgec: error: app config: 'stack_bytes' 1024 is below what the "
                          "model needs") and len(err.splitlines()) == 1
    assert not (tmp_path / "small" / "model").exists()  # no model left without its app


@needs_qemu
@pytest.mark.parametrize("model", ["digits_int8.tflite", "digits.onnx"])
def test_static_chain_covers_the_stack_measured_on_qemu(tmp_path, model):
    """At the harness's own flags (-O2), the compiler's worst chain is at least what the
    painted stack shows the inference used."""
    from edgec.build import build
    from edgec.emit.codesize import compile_facts
    from edgec.options import BuildOptions
    from edgec.verify import random_inputs
    from edgec.verify.cortexm import run_emulated

    result = build(ROOT / "examples" / model, tmp_path, BuildOptions(target="mps2_an386"))
    _, device = run_emulated(result, random_inputs(result.graph, 2))
    flags = [f for f in result.target["cflags"] if f not in ("-Werror", "-O2")]
    _, static = compile_facts(tmp_path / f"{result.name}.c", result.target["compiler"], flags,
                              f"{result.name}_invoke", "-O2")
    assert static.bounded and static.bytes >= device.stack_bytes > 0, (static, device)


def test_clang_gives_no_stack_figure(tmp_path):
    if shutil.which("clang") is None:
        pytest.skip("clang not installed")
    from edgec.emit.codesize import compile_facts

    c = tmp_path / "m.c"
    c.write_text("int m_run(int x) { return x + 1; }\n")
    code, stack = compile_facts(c, "clang", ["-std=c99"], "m_run")
    assert code is not None and stack is None
