"""PyTorch models through ``torch.onnx.export`` with both exporters (TorchScript,
``dynamo=False``, and dynamo, ``dynamo=True``, which needs onnxscript): Conv1d, grouped and
transposed convolutions, LeakyReLU, PReLU, upsampling, a product of two activations, LSTM and
GRU (with PyTorch's ``out[:, -1]``, a Gather), within 1e-5 of onnxruntime and verified on the
host and (where QEMU is installed) on the emulated Cortex-M4F, mps2_an386. torch and
onnxscript are the optional extra ``edgec[torch]``; without torch the tests skip, without
onnxscript the dynamo ones do."""

import io
import shutil

import numpy as np
import pytest

from edgec.frontends.onnx import load_onnx
from edgec.ir import interpret
from edgec.options import BuildOptions
from edgec.verify import verify

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.slow


class Signal1d(torch.nn.Module):
    """A 1-D encoder-decoder: Conv1d, LeakyReLU, grouped Conv1d, PReLU, ConvTranspose1d."""

    def __init__(self):
        super().__init__()
        self.down = torch.nn.Conv1d(3, 8, 5, stride=2, padding=2)
        self.act = torch.nn.LeakyReLU(0.1)
        self.grouped = torch.nn.Conv1d(8, 8, 3, padding=1, groups=2)
        self.prelu = torch.nn.PReLU(8)
        self.up = torch.nn.ConvTranspose1d(8, 4, 4, stride=2, padding=1)

    def forward(self, x):
        return self.up(self.prelu(self.grouped(self.act(self.down(x)))))


class Image2d(torch.nn.Module):
    """Grouped Conv2d, ConvTranspose2d, nearest and bilinear upsampling, and an
    attention-like product of two activations (MatMul of run-time tensors). (Reflection
    padding is left out: the TorchScript exporter computes its pads in a subgraph that ONNX
    shape inference does not resolve, and edgec then has no static shape after the Pad.)"""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(4, 8, 3, padding=1, groups=2)
        self.up = torch.nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1)
        self.nearest = torch.nn.Upsample(scale_factor=2, mode="nearest")
        self.bilinear = torch.nn.Upsample(size=(20, 28), mode="bilinear", align_corners=False)

    def forward(self, x):
        y = self.conv(x)
        y = self.bilinear(self.nearest(torch.relu(self.up(y))))
        flat = y.flatten(2)  # (N, C, H*W)
        return torch.matmul(flat, flat.transpose(1, 2)) * (1.0 / flat.shape[-1])


class Recurrent(torch.nn.Module):
    """A sensor-window classifier: Conv1d, LeakyReLU, an LSTM or GRU over the time steps
    (batch first), a Linear on the last step's output."""

    def __init__(self, cell):
        super().__init__()
        self.conv = torch.nn.Conv1d(3, 8, 3, padding=1)
        self.act = torch.nn.LeakyReLU(0.2)
        self.rnn = cell(8, 12, batch_first=True)
        self.fc = torch.nn.Linear(12, 4)

    def forward(self, x):
        steps, _ = self.rnn(self.act(self.conv(x)).transpose(1, 2))
        return self.fc(steps[:, -1])


MODELS = {"signal1d": (Signal1d, (1, 3, 32)), "image2d": (Image2d, (1, 4, 6, 7)),
          "lstm": (lambda: Recurrent(torch.nn.LSTM), (1, 3, 16)),
          "gru": (lambda: Recurrent(torch.nn.GRU), (1, 3, 16))}


def _export(model, shape, exporter: str) -> bytes:
    example = (torch.randn(*shape),)
    if exporter == "dynamo":
        pytest.importorskip("onnxscript")
        return torch.onnx.export(model, example, dynamo=True).model_proto.SerializeToString()
    buffer = io.BytesIO()
    torch.onnx.export(model, example, buffer, dynamo=False, opset_version=17)
    return buffer.getvalue()


@pytest.mark.parametrize("exporter", ["torchscript", "dynamo"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_torch_export_matches_onnxruntime_and_verifies(name, exporter, tmp_path):
    import onnxruntime as ort

    make, shape = MODELS[name]
    torch.manual_seed(0)
    model = make().eval()
    data = _export(model, shape, exporter)
    graph = load_onnx(data)
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    for seed in range(2):
        x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
        expected = session.run(None, {session.get_inputs()[0].name: x})[0]
        got = interpret(graph, [x])[graph.outputs[0]]
        np.testing.assert_allclose(got, expected, rtol=1e-5,
                                   atol=1e-5 * float(np.abs(expected).max()))
    path = tmp_path / f"{name}.onnx"
    path.write_bytes(data)
    result = verify(path, count=2)
    assert result.ok, result.message
    if shutil.which("qemu-system-arm") and shutil.which("arm-none-eabi-gcc"):
        result = verify(path, BuildOptions(target="mps2_an386"), count=1)
        assert result.ok, result.message
