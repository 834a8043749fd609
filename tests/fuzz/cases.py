"""Fuzz cases: a seed model plus structure-aware or byte-level mutations, reproducible from
(campaign seed, case index) alone."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from tests.fuzz import mutate_onnx, mutate_tflite

ROOT = Path(__file__).resolve().parents[2]
SEED_DIRS = (ROOT.parent.parent / "shared" / "models", ROOT.parent / "shared" / "models",
             Path("/work/shared/models"), ROOT / "examples")


@dataclass
class Case:
    index: int
    seed_model: str
    kind: str  # tflite | onnx
    data: bytes
    mutations: list[str]


def seed_models() -> dict[str, bytes]:
    """Every .tflite/.onnx under the shared models folder and examples/, by file name."""
    found: dict[str, bytes] = {}
    for folder in SEED_DIRS:
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if path.suffix in (".tflite", ".onnx") and path.name not in found:
                found[path.name] = path.read_bytes()
    if not found:
        raise SystemExit("fuzz: no seed models (../shared/models or examples/) found")
    return found


def _bytes_mutation(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    b = bytearray(data)
    choice = rng.randrange(5)
    if choice == 0:
        for _ in range(rng.randint(1, 16)):
            at = rng.randrange(len(b))
            b[at] ^= 1 << rng.randrange(8)
        return bytes(b), "bit_flips"
    if choice == 1:
        return bytes(b[:rng.randrange(len(b))]), "truncate"
    if choice == 2:
        at = rng.randrange(len(b))
        n = rng.randint(1, 64)
        b[at:at + n] = bytes(rng.randrange(256) for _ in range(n))
        return bytes(b), "overwrite_run"
    if choice == 3:
        at, n = rng.randrange(len(b)), rng.randint(1, 256)
        return bytes(b[:at] + b[at:at + n] + b[at:]), "duplicate_chunk"
    at = rng.randrange(len(b))
    value = rng.choice((b"\xff\xff\xff\x7f", b"\x00\x00\x00\x00", b"\xff\xff\xff\xff",
                        b"\x00\x00\x80\x7f", b"\x00\x00\xc0\x7f"))
    b[at:at + 4] = value
    return bytes(b), "interesting_int"


def make_case(seeds: dict[str, bytes], campaign_seed: int, index: int) -> Case:
    rng = random.Random(f"{campaign_seed}:{index}")
    name = rng.choice(sorted(seeds))
    data = seeds[name]
    kind = "tflite" if name.endswith(".tflite") else "onnx"
    mutator = mutate_tflite if kind == "tflite" else mutate_onnx
    mutations: list[str] = []
    if rng.random() < 0.7:
        data, mutations = mutator.mutate(data, rng, rng.choice((1, 1, 2, 3)))
    if not mutations or rng.random() < 0.15:
        data, what = _bytes_mutation(data, rng)
        mutations.append(what)
    return Case(index, name, kind, data, mutations)
