"""``edgec verify --target native_sim`` (and ``--zephyr`` on the QEMU boards): the inputs
replayed through the generated Zephyr application and compared with the reference; the
clear errors when that cannot run."""

import numpy as np
import pytest

from edgec.cli import main
from edgec.errors import EdgecError
from edgec.frontends import load_model
from edgec.verify.zephyr import app_input, expected_line, parse_output, samples_of
from tests.project.models import DIGITS
from tests.project.zephyr_tools import ZEPHYR_BASE, zephyr


def _one_error(capsys, argv) -> str:
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and len(err.splitlines()) == 1, (code, out, err)
    return err.strip()


def test_no_zephyr_tree_is_one_error_line(capsys, monkeypatch):
    monkeypatch.delenv("ZEPHYR_BASE", raising=False)
    line = _one_error(capsys, ["verify", str(DIGITS), "--target", "native_sim"])
    assert "no Zephyr tree" in line and "--zephyr-base" in line


def test_bad_zephyr_base_and_targets(capsys, tmp_path):
    line = _one_error(capsys, ["verify", str(DIGITS), "--target", "native_sim",
                               "--zephyr-base", str(tmp_path)])
    assert "is not a Zephyr tree" in line
    line = _one_error(capsys, ["verify", str(DIGITS), "--target", "nrf52840dk", "--zephyr"])
    assert "needs an emulated Zephyr board" in line
    line = _one_error(capsys, ["verify", str(DIGITS), "--build-dir", str(tmp_path)])
    assert "add --zephyr" in line


def test_replayed_samples_quantize_back_to_the_inputs():
    """The float samples verify replays are quantized by the app into exactly the inputs."""
    graph = load_model(str(DIGITS))
    tensor = graph.tensors[graph.inputs[0]]
    rng = np.random.default_rng(0)
    inputs = [[rng.integers(-128, 128, tensor.shape).astype(np.int8)] for _ in range(3)]
    flat = samples_of(graph, inputs)
    for k, x in enumerate(inputs):
        window = flat[k * tensor.size:(k + 1) * tensor.size]
        assert np.array_equal(app_input(graph, window), x[0])


def test_printed_outputs_are_parsed_exactly():
    values = np.array([1.5, -0.0, np.float32(1e-30), 3.25], dtype=np.float32)
    line = "EDGEC OUT," + ",".join(f"{v:08x}" for v in values.view(np.uint32))
    assert parse_output(line, "float32", 4).view(np.uint32).tolist() == \
        values.view(np.uint32).tolist()
    assert parse_output("EDGEC OUT,-128,5,127", "int8", 3).tolist() == [-128, 5, 127]
    with pytest.raises(EdgecError, match="printed 2 output values"):
        parse_output("EDGEC OUT,1,2", "int8", 3)
    graph = load_model(str(DIGITS))  # output scale 1/256, zero point -128
    out = np.full(10, -128, dtype=np.int8)
    out[[3, 7]] = 100  # the first maximum wins, as the app's strict > scan
    assert expected_line(graph, out, [f"d{i}" for i in range(10)]) == "EDGEC,3,d3,891"


@pytest.mark.parametrize("target", ["native_sim"])
@pytest.mark.zephyr
@pytest.mark.skipif(not ZEPHYR_BASE, reason=zephyr[1].kwargs["reason"])
def test_verify_in_zephyr(capsys, tmp_path_factory, target):
    """Five inputs through the native_sim app: every raw output bit-exact and every result
    line equal to the reference's."""
    work = tmp_path_factory.mktemp("verify") / target
    code = main(["verify", str(DIGITS), "--target", target, "-n", "5",
                 "--zephyr-base", ZEPHYR_BASE, "--build-dir", str(work)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "5 result lines as the reference; bit-exact on 5 inputs" in out
    printed = (work / "app" / "prj.conf").read_text()
    assert "CONFIG_EDGEC_APP_SAMPLE_PERIOD_US=1000" in printed


@pytest.mark.parametrize("wrong", ["output", "line"])
def test_a_firmware_that_differs_fails_verify(tmp_path, monkeypatch, wrong):
    """The comparison itself (the firmware run replaced): a flipped output value or a wrong
    result line is a failure that names the input."""
    import edgec.verify.zephyr as zv
    from edgec.options import BuildOptions
    from edgec.verify import verify

    tree = tmp_path / "zephyr"
    (tree / "cmake").mkdir(parents=True)
    (tree / "VERSION").write_text("VERSION_MAJOR = 4\n")

    def fake_run(result, inputs, work, base, cache_dir=None):
        graph = result.graph
        outs, lines = [], []
        for k, x in enumerate(inputs):
            window = samples_of(graph, [x])
            out = next(iter(_interpret(graph, app_input(graph, window)).values()))
            line = expected_line(graph, out, [f"class{i}" for i in range(10)]) + ",0"
            if k == 1 and wrong == "output":
                out = out.copy()
                out.reshape(-1)[0] ^= 1
            if k == 2 and wrong == "line":
                line = line.replace("EDGEC,", "EDGEC,1")  # label index 2 -> 12
            outs.append(out)
            lines.append(line)
        return outs, lines, {"labels": [f"class{i}" for i in range(10)]}

    monkeypatch.setattr(zv, "run_in_zephyr", fake_run)
    result = verify(DIGITS, BuildOptions(target="native_sim"), count=3, zephyr_base=str(tree))
    assert not result.ok
    assert ("on input 1" in result.message) if wrong == "output" else \
        ("first: input 2" in result.message)


def _interpret(graph, x):
    from edgec.ir import interpret
    return interpret(graph, {graph.inputs[0]: x})
