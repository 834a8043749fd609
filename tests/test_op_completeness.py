"""Every op is complete, and op names are a closed set.

The walk: each op in the registry has a reference kernel and a lowering rule per declared
dtype (``OpDef.dtypes``), a TFLite export emitter and a TFLite converter (the builtin of the
same name), unless its own file declares a reasoned exemption in ``OpDef.exempt``; an
exemption that is no longer needed fails too. Registrations naming an op that does not exist
fail when their module is imported."""

import pytest

from edgec.export.ops import EMITTERS, emitter
from edgec.frontends.onnx_registry import converter as onnx_converter
from edgec.frontends.tflite_ops import CONVERTERS
from edgec.frontends.tflite_ops import converter as tflite_converter
from edgec.ir import Node, get_op, registered_ops
from edgec.ir.registry import OpDef, kernel
from edgec.lower import registry as lower
from edgec.lower import select  # noqa: F401  (imports every rule module)
from edgec.lower.registry import lowering_rule, lowering_variant


def checks(op: OpDef) -> dict[str, bool]:
    """Check name -> satisfied, for one op."""
    result = {}
    for dtype in op.dtypes:
        result[f"kernel:{dtype}"] = dtype in op.kernels
        result[f"lower:{dtype}"] = (op.name, dtype) in lower._RULES
    result["export"] = op.name in EMITTERS
    result["frontend"] = op.name in CONVERTERS
    return result


def problems(op: OpDef) -> list[str]:
    """What is missing without an exemption, and exemptions that are unknown or unneeded."""
    found = checks(op)
    missing = [f"{op.name}: no {check}" for check, ok in found.items()
               if not ok and check not in op.exempt]
    stale = [f"{op.name}: exemption '{check}' is not needed (or not a check)"
             for check in op.exempt if found.get(check, True)]
    return missing + stale


@pytest.mark.parametrize("name", registered_ops())
def test_every_op_is_complete_or_exempt_with_a_reason(name):
    op = get_op(name)
    assert not problems(op)
    assert all(reason.strip() for reason in op.exempt.values())


def test_the_walk_reports_a_missing_stage_and_a_stale_exemption():
    base = get_op("TANH")
    half_done = OpDef("NEW_OP", {}, base.infer_shapes, base.macs, kernels=dict(base.kernels))
    assert problems(half_done) == ["NEW_OP: no lower:float32", "NEW_OP: no lower:int8",
                                   "NEW_OP: no export", "NEW_OP: no frontend"]
    stale = OpDef("TANH", {}, base.infer_shapes, base.macs, kernels=dict(base.kernels),
                  exempt={"export": "no TFLite builtin"})
    assert problems(stale) == ["TANH: exemption 'export' is not needed (or not a check)"]


@pytest.mark.parametrize("register", [
    lambda: lowering_rule("TANHH", "int8"),
    lambda: lowering_variant("TANHH", "dsp", "int8"),
    lambda: emitter("TANH", "TANHH"),
    lambda: kernel("TANHH", "int8"),
])
def test_a_registration_naming_an_unknown_op_fails_listing_the_valid_ones(register):
    with pytest.raises(ValueError, match=r"TANHH.*(defined ops: .*SOFTMAX.*TANH|not defined)"):
        register()(lambda *args: None)


def test_frontend_registrations_name_real_source_ops():
    with pytest.raises(ValueError, match="unknown builtin.*HARDSWISH"):
        tflite_converter("HARDSWISH")(lambda op, ctx: [])
    with pytest.raises(ValueError, match="unknown op type.*Hardswish"):
        onnx_converter("Hardswish")(lambda ctx, node: None)


def test_a_node_of_an_unknown_op_or_attribute_is_refused_and_defaults_are_filled():
    with pytest.raises(Exception, match="unknown op 'TANHH'.*|registered ops"):
        Node("TANHH", ["x"], ["y"])
    with pytest.raises(Exception, match="unknown attribute"):
        Node("TANH", ["x"], ["y"], {"beta": 1.0})
    assert Node("CONV_2D", ["x", "w"], ["y"]).attrs == get_op("CONV_2D").attrs
