"""``edgec build`` and ``edgec verify``: the CLI side of ``edgec.build`` and ``edgec.verify``."""

from __future__ import annotations

from edgec.cli.command import Command, load_inputs
from edgec.cli.project import add_project_arguments, finish_project, prepare_project
from edgec.errors import EdgecError, printable
from edgec.options import (ARENA_MODES, KERNEL_CHOICES, OPTIMIZE_MODES, Arena, BuildOptions,
                           RECURRENT_STATES, Constants, KernelChoice, Quantization)
from edgec.quantize.observers import percentile_arg


def _byte_count(text: str) -> int:
    """A byte count from the command line: digits with an optional K/M suffix (1024-based)."""
    scale = {"k": 1024, "m": 1024 * 1024}.get(text[-1:].lower(), 1)
    digits = text[:-1] if scale > 1 else text
    if not digits.isdigit():
        raise EdgecError(f"'{text}' is not a byte count", "write e.g. 65536, 64K or 1M")
    return int(digits) * scale


PROGRESS_NAME_CHARS = 60  # a longer node name is shortened in the middle


def _progress(console):
    def report(k: int, n: int, node) -> None:
        name = printable(node.name)
        if len(name) > PROGRESS_NAME_CHARS:
            half = (PROGRESS_NAME_CHARS - 3) // 2
            name = name[:half] + "..." + name[-half:]
        console.inf(f"kernel {k} of {n}: {node.op} '{name}'")
    return report


def _add_common(parser) -> None:
    parser.add_argument("model", help="a .tflite or .onnx file")
    parser.add_argument("--target", default="host", help="target name (targets/*.yaml)")
    parser.add_argument("--cache-dir", help="where lowered kernels are cached")
    parser.add_argument("--optimize", choices=OPTIMIZE_MODES,
                        help="speed: the fastest kernels (DSP: int16 weights, twice the int8 "
                             "flash); size: int8 weights and the least arena scratch (neither "
                             "takes an in-place variant); ram: the smallest arena (size's "
                             "kernels, every in-place variant that helps, more instructions); "
                             "default: speed's kernels while their constants fit half the "
                             "target's flash, else size's, with in-place variants where the "
                             "arena needs them")
    parser.add_argument("--patch", default="auto", metavar="auto|off|N|CUT:N",
                        help="run the first layers in N row bands with recomputed halos "
                             "(less arena, more MACs); auto: in --optimize ram, and in the "
                             "default build when the arena exceeds the target's RAM, with the "
                             "cut and band count the arena search picks; CUT:N: nodes 0 to "
                             "CUT in N bands, no search (default: auto)")
    parser.add_argument("--patch-budget", type=float, default=1.3, metavar="X",
                        help="the most MACs row bands may cost, as a multiple of the "
                             "model's (default 1.3)")
    parser.add_argument("--kernels", choices=KERNEL_CHOICES, default="auto",
                        help="auto: the target's CPU features pick optimized kernels (DSP); "
                             "portable: plain C99 kernels only (default: auto)")
    parser.add_argument("--model-partition", action="store_true",
                        help="keep weights and constants out of NAME.c, in the model image "
                             "NAME.bin (a flash partition, replaceable over the air: "
                             "docs/OTA.md)")
    parser.add_argument("--recurrent-state", choices=RECURRENT_STATES, default="reset",
                        help="reset: LSTM and GRU layers start every call from their initial "
                             "state; carry: they keep their final state for the next call "
                             "(a stream of windows, as TFLite Micro's LSTM) until NAME_reset() "
                             "(default: reset). Fused LSTM/GRU ops only: a Keras layer with "
                             "stateful=True (resource variables) always keeps its state")
    _add_quantization(parser)


# The PTQ options besides --calibrate, with their defaults; given without --calibrate they
# would be silently ignored, so that is an error.
_PTQ_DEFAULTS = {"observer": "minmax", "percentile": 99.99, "weights": "int8", "io": "float",
                 "activations": "int8"}


def _add_quantization(parser) -> None:
    """``--calibrate`` and the options of ``edgec quantize``: PTQ of a float model first."""
    from edgec.quantize import ACTIVATION_DTYPES, IO_MODES, OBSERVERS, WEIGHT_DTYPES

    group = parser.add_argument_group("quantization (a float model, before compiling)")
    group.add_argument("--calibrate", metavar="DATA.npz",
                       help="quantize the float model to int8 first, calibrated on these "
                            "samples (one float array per input name, samples on axis 0)")
    group.add_argument("--observer", choices=OBSERVERS,
                       help="how calibration picks ranges (default: minmax)")
    group.add_argument("--percentile", type=percentile_arg,
                       help="the percentile observer's upper percentile (default 99.99)")
    group.add_argument("--weights", choices=WEIGHT_DTYPES,
                       help="int4: 4-bit weights packed two per byte (W4A8); ternary: {-1,0,+1} x "
                            "per-channel scale, four per byte (default int8)")
    group.add_argument("--io", choices=IO_MODES,
                       help="float: the compiled model keeps float input and output "
                            "(default); int8: it takes and returns int8")
    group.add_argument("--activations", choices=ACTIVATION_DTYPES,
                       help="int16: TFLite's 16x8 mode, int16 activations with int8 weights "
                            "and int64 biases (default int8)")


def _quantization(args):
    """The ``Quantization`` the arguments ask for, or None without ``--calibrate``."""
    given = {k: getattr(args, k) for k in _PTQ_DEFAULTS if getattr(args, k) is not None}
    if args.calibrate is None:
        if given:
            flags = ", ".join(f"--{k}" for k in given)
            raise EdgecError(f"{flags} given without --calibrate",
                             "add --calibrate DATA.npz to quantize the float model first")
        return None
    return Quantization(args.calibrate, **{**_PTQ_DEFAULTS, **given})


def build_options(args) -> BuildOptions:
    """The ``BuildOptions`` of ``edgec build`` or ``edgec verify`` arguments."""
    return BuildOptions(target=args.target, name=getattr(args, "name", None),
                        optimize=args.optimize, kernels=args.kernels,
                        arena=getattr(args, "arena", Arena.STATIC),
                        ram_limit=getattr(args, "ram_limit", None), cache_dir=args.cache_dir,
                        quantization=_quantization(args),
                        patch=args.patch, patch_budget=args.patch_budget,
                        recurrent_state=getattr(args, "recurrent_state", "reset"),
                        constants=Constants.PARTITION if getattr(args, "model_partition", False)
                        else Constants.INLINE)


_FIT_WORDS = ("B of flash", "B of RAM", "does not fit", "--ram-limit", "arena")


def is_float_model(graph) -> bool:
    """Whether ``graph`` computes in float32 (a float weight, or a float tensor between ops)."""
    return any(t.dtype == "float32" and (t.is_const or name not in graph.inputs + graph.outputs)
               for name, t in graph.tensors.items())


def _suggest_quantization(exc: EdgecError, args) -> EdgecError:
    """``exc`` with a hint to quantize when a float model does not fit and no --calibrate."""
    if args.calibrate is not None or not any(w in exc.full_message for w in _FIT_WORDS):
        return exc
    from edgec.frontends import load_model

    try:
        floating = is_float_model(load_model(args.model))
    except EdgecError:
        return exc
    if not floating:
        return exc
    return EdgecError(exc.full_message, "the model is float32; an int8 build is about 4x "
                      "smaller: add --calibrate DATA.npz (samples of the input) to quantize it")


class BuildCommand(Command):
    name = "build"
    help = "compile a model to C99: NAME.h, NAME.c, CMakeLists.txt and a report"

    def add_parser(self, subparsers):
        parser = super().add_parser(subparsers)
        _add_common(parser)
        parser.add_argument("-o", "--output", required=True, metavar="DIR",
                            help="folder for the generated files (created if missing)")
        parser.add_argument("--name", help="C symbol prefix (default: the model file's stem)")
        parser.add_argument("--arena", choices=ARENA_MODES, default="static",
                            help="static: the model owns its arena; extern: the caller "
                                 "defines NAME_arena")
        parser.add_argument("--ram-limit", type=_byte_count, metavar="BYTES",
                            help="fail if the arena needs more than this")
        parser.add_argument("--force", action="store_true",
                            help="replace the edgec project of another model in DIR")
        add_project_arguments(parser)  # --app: the firmware around the model, for boards
        return parser

    def run(self, args, console):
        try:
            return self._run(args, console)
        except EdgecError as exc:
            raise _suggest_quantization(exc, args) from exc

    def _run(self, args, console):
        from edgec.build import build

        project = prepare_project(args)  # None unless the target is a Zephyr board
        out_dir = project.model_dir if project else args.output
        options = build_options(args)
        result = build(args.model, out_dir, options, progress=_progress(console),
                       force=args.force)
        if result.target.get("cpu") and is_float_model(result.graph):
            console.out(f"note: float32 model on {result.target['name']}: weights and arena "
                        "are about 4x an int8 build's; add --calibrate DATA.npz to quantize "
                        "it to int8")
        t = result.report["totals"]
        code = f"{t['code_bytes']:,} B code" if t["code_bytes"] is not None else "code n/a"
        flash = f"{t['flash_bytes']:,} B" if t["flash_bytes"] is not None else "n/a"
        console.dbg("memory plan:\n" + result.plan.table())
        console.out(f"wrote {', '.join(p.name for p in result.files)} to {result.out_dir}")
        console.out(f"flash {flash} ({t['weight_bytes']:,} B weights + {code}), "
                    f"arena {t['arena_bytes']:,} B (op-by-op bound {t['lower_bound_bytes']:,} B), "
                    f"{t['macs']:,} MACs, built in {t['build_seconds']:.1f} s")
        optimize = result.report["optimize"]
        console.out(f"optimize {optimize['mode']} ({optimize['reason']})")
        if options.kernels is not KernelChoice.AUTO:
            console.out(f"kernels {options.kernels} (the target's CPU features ignored)")
        if project:
            finish_project(project, result, console)
        return 0


class VerifyCommand(Command):
    name = "verify"
    help = ("compile the generated C for the host or an emulated target (bare metal, or the "
            "Zephyr app with --zephyr / native_sim), run it and compare it with the reference")

    def add_parser(self, subparsers):
        parser = super().add_parser(subparsers)
        _add_common(parser)
        parser.add_argument("--count", "-n", type=int, default=10,
                            help="random inputs to try (seeded; default 10)")
        parser.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
        parser.add_argument("--input", "-i", metavar="IN.npy|IN.npz",
                            help="also run this input (.npz: one array per input name)")
        parser.add_argument("--layers", action="store_true",
                            help="also compare every intermediate tensor with the reference "
                                 "and name the first node that differs (host, Cortex-M QEMU)")
        parser.add_argument("--per-layer", action="store_true",
                            help="on an emulated Cortex-M target: count each kernel's "
                                 "instructions and print them as a table")
        parser.add_argument("--json", metavar="FILE.json",
                            help="also write the outcome (and the per-layer counts) as JSON")
        zephyr = parser.add_argument_group(
            "in the Zephyr application (always for native_sim)")
        zephyr.add_argument("--zephyr", action="store_true",
                            help="run the inputs through the generated Zephyr application "
                                 "(replayed windows) on an emulated board: qemu_cortex_m3, "
                                 "mps2_an386, qemu_riscv32")
        zephyr.add_argument("--zephyr-base", metavar="DIR",
                            help="the Zephyr tree (default: $ZEPHYR_BASE); its modules are "
                                 "taken from DIR/../modules or $EDGEC_ZEPHYR_MODULES")
        zephyr.add_argument("--build-dir", metavar="DIR",
                            help="keep the Zephyr app and its build here and reuse it "
                                 "(incremental; default: a temporary folder)")
        return parser

    def run(self, args, console):
        from edgec.frontends import load_model
        from edgec.verify import verify
        from edgec.verify.outcome import outcome_json, per_layer_table, write_json

        if args.count < 0:
            raise EdgecError(f"--count must be at least 0, not {args.count}")
        options = build_options(args)  # PTQ keeps input names: the float model has them
        extra = [load_inputs(args.input, load_model(args.model).inputs)] if args.input else []
        if args.count == 0 and not extra:
            raise EdgecError("nothing to verify", "give --count N > 0 or --input FILE")
        if (args.zephyr_base or args.build_dir) and not args.zephyr and \
                args.target != "native_sim":
            raise EdgecError("--zephyr-base and --build-dir are for the Zephyr application",
                             "add --zephyr (or use --target native_sim)")
        result = verify(args.model, options, count=args.count, extra_inputs=extra,
                        seed=args.seed, progress=_progress(console), layers=args.layers,
                        per_layer=args.per_layer, zephyr=args.zephyr,
                        zephyr_base=args.zephyr_base, build_dir=args.build_dir)
        console.out(result.message)
        if result.layers is not None:
            console.out(result.layers.summary())
        if result.device is not None:  # an emulated target also measured the inference
            console.out(result.device.summary())
        if args.per_layer:
            console.out(per_layer_table(result.per_layer))
        if args.json:
            write_json(args.json, outcome_json(result))
        layers_ok = result.layers is None or result.layers.difference is None
        return 0 if result.ok and layers_ok else 1
