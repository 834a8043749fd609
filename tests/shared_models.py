"""The MLPerf Tiny int8 models in ../shared/models, for tests that build them."""

from pathlib import Path

import pytest


MODELS_DIR = Path(__file__).resolve().parents[2] / "shared" / "models"
INT8_MODELS = ["ad_fc_autoencoder_int8", "kws_dscnn_int8", "ic_resnet8_int8"]
# Published in ../shared/models/README.md.
MACS = {"kws_dscnn_int8": 2656768, "ic_resnet8_int8": 12501632, "ad_fc_autoencoder_int8": 264192}
LOWER_BOUNDS = {"kws_dscnn_int8": 16000, "ic_resnet8_int8": 49152, "ad_fc_autoencoder_int8": 768}


def model_path(name: str) -> Path:
    path = MODELS_DIR / f"{name}.tflite"
    if not path.is_file():
        pytest.skip(f"{path} not available")
    return path

