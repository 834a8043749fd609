"""Bad command lines and app configs for benchmarks/robustness.py, as data.

Each command line is a list of arguments after ``edgec``; ``{NAME}`` is replaced by a fixture
path (see ``robustness.fixtures``). Every one must exit 2 with one ``edgec: error:`` line:
none is a valid request. App configs are YAML texts for ``edgec build --app``.
"""

MODELS = ["{empty}", "{garbage}", "{text_onnx}", "{truncated}", "{folder}", "{missing}",
          "{old_tflite}", "{npy_as_model}", "{zip}"]

# Each command that takes a model, with each broken model file: 6 commands x 9 files.
MODEL_COMMANDS = [["inspect", "{m}"], ["run", "{m}", "--input", "{x}"], ["passes", "{m}"],
                  ["prune", "{m}", "--structured", "0.5"],
                  ["build", "{m}", "-o", "{out}"], ["quantize", "{m}", "--calibrate", "{calib}",
                                                    "-o", "{out}/q.tflite"]]

INVOCATIONS = [[arg.replace("{m}", m) for arg in cmd] for cmd in MODEL_COMMANDS for m in MODELS]

INVOCATIONS += [
    [], ["nope"], ["--nope"], ["inspect"], ["inspect", "{good}", "--nope"], ["run", "{good}"],
    ["run", "{good}", "--input", "{missing}"], ["run", "{good}", "--input", "{x_shape}"],
    ["run", "{good}", "--input", "{x_dtype}"], ["run", "{good}", "--input", "{garbage}"],
    ["run", "{good}", "--input", "{x_npz_key}"], ["run", "{good}", "--input", "{x_obj}"],
    ["run", "{good}", "--input", "{folder}"], ["run", "{good}", "--input", "{x}",
                                               "--output", "{out}/y.txt"],
    ["run", "{good}", "--input", "{x}", "--output", "{missing}/y.npy"],
    ["run", "{good}", "--input", "{x}", "--output", "{folder}"],
    ["run", "{good}", "--input", "{x_empty}"], ["run", "{good}", "--input", "{x_scalar}"],
    ["build", "{good}"], ["build", "{good}", "-o", "{file}"],
    ["build", "{good}", "-o", "{out}", "--target", "nope"],
    ["build", "{good}", "-o", "{out}", "--target", "../etc/passwd"],
    ["build", "{good}", "-o", "{out}", "--target", ""],
    ["build", "{good}", "-o", "{out}", "--optimize", "fast"],
    ["build", "{good}", "-o", "{out}", "--kernels", "dsp"],
    ["build", "{good}", "-o", "{out}", "--name", "1bad"],
    ["build", "{good}", "-o", "{out}", "--name", "a-b"],
    ["build", "{good}", "-o", "{out}", "--name", ""],
    ["build", "{good}", "-o", "{out}", "--name", "int"],
    ["build", "{good}", "-o", "{out}", "--ram-limit", "-5"],
    ["build", "{good}", "-o", "{out}", "--ram-limit", "abc"],
    ["build", "{good}", "-o", "{out}", "--ram-limit", "10"],
    ["build", "{good}", "-o", "{out}", "--arena", "heap"],
    ["build", "{good}", "-o", "{out}", "--app", "{missing}"],
    ["build", "{good}", "-o", "{out}", "--app", "{garbage}"],
    ["build", "{onnx}", "-o", "{out}", "--calibrate", "{missing}"],
    ["build", "{onnx}", "-o", "{out}", "--calibrate", "{garbage}"],
    ["build", "{onnx}", "-o", "{out}", "--calibrate", "{x_npz_key}"],
    ["build", "{onnx}", "-o", "{out}", "--calibrate", "{calib}", "--percentile", "150"],
    ["build", "{onnx}", "-o", "{out}", "--calibrate", "{calib}", "--percentile", "nan"],
    ["build", "{onnx}", "-o", "{out}", "--calibrate", "{calib}", "--observer", "mean"],
    ["build", "{onnx}", "-o", "{out}", "--calibrate", "{calib}", "--weights", "int2"],
    ["build", "{onnx}", "-o", "{out}", "--calibrate", "{calib}", "--io", "int16"],
    ["build", "{good}", "-o", "{out}", "--calibrate", "{calib}"],
    ["verify", "{good}", "--count", "0"], ["verify", "{good}", "--count", "-1"],
    ["verify", "{good}", "--count", "x"], ["verify", "{good}", "--seed", "x"],
    ["verify", "{good}", "--input", "{x_shape}"], ["verify", "{good}", "--target", "nope"],
    ["verify", "{garbage}"], ["quantize", "{onnx}", "-o", "{out}/q.tflite"],
    ["quantize", "{onnx}", "--calibrate", "{calib}"],
    ["quantize", "{onnx}", "--calibrate", "{calib}", "-o", "{out}/q.txt"],
    ["quantize", "{onnx}", "--calibrate", "{calib}", "-o", "{out}/q.tflite", "--int4-ops",
     "NOPE"],
    ["quantize", "{good}", "--calibrate", "{calib}", "-o", "{out}/q.tflite"],
    ["prune", "{good}"], ["prune", "{good}", "--structured", "1.5"],
    ["prune", "{good}", "--structured", "-0.1"], ["prune", "{good}", "--structured", "nan"],
    ["prune", "{good}", "--structured", "0.5", "--scope", "all"],
    ["passes", "{good}", "--dump-after", "nope"], ["targets", "extra"],
    ["inspect", "{good}", "{good}"], ["run", "{good}", "--input", "{x}", "--output", ""],
    ["build", "{good}", "-o", ""], ["inspect", ""],
    # model images and updates over the air (docs/OTA.md)
    ["package", "{good}"], ["package", "{garbage}", "-o", "{out}/m.bin"],
    ["package", "{good}", "-o", "{out}/m.bin", "--like", "{missing}"],
    ["package", "{good}", "-o", "{out}/m.bin", "--like", "{folder}"],
    ["package", "{good}", "-o", "{missing}/m.bin"], ["push", "{garbage}", "--port", "{missing}"],
    ["push", "{good}", "--port", "{missing}"], ["push", "{missing}", "--port", "{missing}"],
    ["push", "{empty}", "--port", "{missing}"],
    ["build", "{good}", "-o", "{out}", "--model-partition", "--target", "nucleo_l4r5zi"],
    ["verify", "{good}", "--model-partition", "--target", "mps2_an386"],
    # sweeps (docs/SWEEP.md)
    ["sweep", "{good}"], ["sweep", "{garbage}", "--data", "{x}", "-o", "{out}/s"],
    ["sweep", "{onnx}", "--data", "{missing}", "--calibrate", "{calib}", "-o", "{out}/s"],
    ["sweep", "{onnx}", "--data", "{x}", "--calibrate", "{calib}", "-o", "{out}/s",
     "--prune", "2"],
    ["sweep", "{onnx}", "--data", "{x}", "--calibrate", "{calib}", "-o", "{out}/s",
     "--weights", "int3"],
    ["sweep", "{onnx}", "--data", "{x}", "--calibrate", "{calib}", "-o", "{out}/s",
     "--targets", "nope"],
    # verify in the Zephyr application without a tree, and the per-layer options
    ["verify", "{good}", "--zephyr", "--target", "qemu_cortex_m3", "--zephyr-base",
     "{missing}"],
    ["verify", "{good}", "--per-layer"], ["verify", "{good}", "--layers", "--target",
                                          "qemu_riscv32"],
    # row bands (patch-based execution): bad counts, cuts and budgets
    ["build", "{good}", "-o", "{out}", "--patch", "foo"],
    ["build", "{good}", "-o", "{out}", "--patch", "0"],
    ["build", "{good}", "-o", "{out}", "--patch", "999:2"],
    ["build", "{good}", "-o", "{out}", "--patch", "3:1"],
    ["build", "{good}", "-o", "{out}", "--patch", "2:x"],
    ["build", "{good}", "-o", "{out}", "--patch-budget", "-1"],
    ["build", "{good}", "-o", "{out}", "--patch-budget", "abc"],
    # int16 activations on a recurrent model's post-training quantization
    ["quantize", "{good}", "--activations", "int16", "--calibrate", "{missing}", "-o",
     "{out}/m.tflite"],
]

APP_CONFIGS = {
    "not a mapping": "- 1\n- 2\n", "binary": "\x00\x01\x02\xff", "unknown key": "colour: red\n",
    "sample_rate nan": "sample_rate: .nan\n", "sample_rate inf": "sample_rate: .inf\n",
    "sample_rate negative": "sample_rate: -5\n", "threshold word": "threshold: high\n",
    "stack_bytes negative": "stack_bytes: -5\n", "window string": "window: big\n",
    "sensor unknown": "sensor: radar\n", "actions not a list": "actions: 5\n",
    "replay file missing": "replay:\n  file: nope.bin\n", "bad yaml": "a: [1, 2\n",
}
