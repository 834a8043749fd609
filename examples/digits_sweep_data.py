"""Write the digits example's sweep data from scikit-learn's 8x8 digits (the split of
``make_digits_model.py``, which trained ``digits.onnx``):

- ``digits_test.npz``: ``image`` (float32, N x 8 x 8 x 1 in [0, 1]) and ``labels`` of the test
  split, for ``edgec sweep --data`` and ``edgec evaluate --data``;
- ``digits_cal.npz``: ``image`` only, the first 300 training images, for ``--calibrate``;
- ``digits_train.npz``: the training split with its labels, for the fine-tuning hook
  (``--train``, used by ``digits_finetune.py``).

Run: ``python examples/digits_sweep_data.py [OUT_DIR]`` (needs scikit-learn), then::

    edgec sweep examples/digits.onnx --data digits_test.npz --calibrate digits_cal.npz \\
        --train digits_train.npz --prune 0,0.25,0.5 --weights int8,int4 --targets nrf52840dk,rpi_pico \\
        --finetune examples/digits_finetune.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_digits_model import load_split  # noqa: E402


CALIBRATION_IMAGES = 300


def write(out_dir: Path) -> tuple[Path, Path, Path]:
    """The test, calibration and training files in ``out_dir``."""
    x_train, x_test, y_train, y_test = load_split()
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"digits_{k}.npz" for k in ("test", "cal", "train")]
    np.savez_compressed(paths[0], image=x_test, labels=y_test.astype(np.int64))
    np.savez_compressed(paths[1], image=x_train[:CALIBRATION_IMAGES])
    np.savez_compressed(paths[2], image=x_train, labels=y_train.astype(np.int64))
    return tuple(paths)


if __name__ == "__main__":
    for path in write(Path(sys.argv[1] if len(sys.argv) > 1 else ".")):
        print(f"wrote {path}")
