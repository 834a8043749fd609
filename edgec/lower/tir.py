"""TE -> scheduled, lowered TIR: the stock s_tir pipeline, stopped before the packed API.

The passes are ``tvm.s_tir.pipeline.default_s_tir_pipeline`` in its order, minus the GPU-only
ones, minus ``SplitHostDevice``/``MakePackedAPI`` (which would wrap the function in TVM's FFI
calling convention), minus ``StorageRewrite`` (it merges local arrays of different types into
one, which C cannot view; ours are a few registers anyway), plus ``LowerIntrin``. Only this
package imports tvm.

Two pass options make the C fast: ``LoopPartition`` splits every constant loop at the
conditions rules wrap in ``likely`` (padding bounds: border loops and a test-free interior),
and ``UnrollLoop`` unrolls constant loops of at most ``_UNROLL_STEPS`` statements in all
(a 3x3 window of one accumulator, not a window times its input channels).
"""

from __future__ import annotations

from edgec.lower.registry import Built


def _passes():
    from tvm import s_tir, tirx

    s, t = s_tir.transform, tirx.transform
    return [
        s.CanonicalizeLoop(), s.LowerInitBlock(), s.PlanAndUpdateBufferAllocationLocation(),
        s.ConvertBlocksToOpaque(), s.CompactBufferAllocation(), s.LowerMatchBuffer(),
        s.StmtSimplify(), s.LowerOpaqueBlock(), t.FlattenBuffer(), t.NarrowDataType(32),
        s.LoopPartition(), t.VectorizeLoop(False), s.HoistIfThenElse(),
        t.UnrollLoop(), s.RenormalizeSplitPattern(), t.StmtSimplify(), t.RemoveNoOp(),
        s.RewriteUnsafeSelect(), t.CommonSubexprElim(), t.VerifyMemory(), t.LowerIntrin(),
    ]


_UNROLL_STEPS = 16
_CONFIG = {"s_tir.LoopPartition": {"partition_const_loop": True},
           "tirx.UnrollLoop": {"auto_max_step": _UNROLL_STEPS}}


def lower_built(built: Built):
    """Create the PrimFunc of ``built``, apply its schedule, run the passes; return the PrimFunc."""
    import tvm
    from tvm import s_tir, te

    func = te.create_prim_func(list(built.tensors))
    sch = s_tir.Schedule(tvm.IRModule({"kernel": func}))
    sch.work_on("kernel")
    built.schedule(sch)
    mod = tvm.tirx.transform.BindTarget(tvm.target.Target("c"))(sch.mod)
    with tvm.transform.PassContext(opt_level=3, config=_CONFIG):
        mod = tvm.ir.transform.Sequential(_passes())(mod)
    return mod["kernel"]


def inline(sch, *names: str) -> None:
    """Inline the injective stages ``names`` into their consumers (padding, casts)."""
    for name in names:
        sch.compute_inline(sch.get_sblock(name))


def attach(sch, consumer: str, depth: int, *names: str) -> None:
    """Compute each stage in ``names`` inside loop ``depth`` (0-based) of ``consumer``.

    Placed this way an accumulator or temporary is a local array of a few elements; a stage
    left unplaced would become a workspace allocation, which the printer rejects.
    """
    loops = sch.get_loops(sch.get_sblock(consumer))
    for name in names:
        sch.compute_at(sch.get_sblock(name), loops[depth])


def init_before(sch, name: str, loop: int) -> None:
    """Split reduction ``name`` at its loop number ``loop`` (its first reduction loop) into an
    init store and an update, so the zeroing sits before the reduction loops instead of behind
    an ``if (first iteration)`` test. Reductions over one element have no such loop left after
    ``compute_at``; they stay as they are."""
    block = sch.get_sblock(name)
    loops = sch.get_loops(block)
    if len(loops) > loop:
        sch.decompose_reduction(block, loops[loop])
