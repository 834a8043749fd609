"""docs/OPS.md is generated from the registries and the node-suite baseline: it must be current."""

from edgec.tools import opsdoc


def test_ops_doc_is_current():
    assert opsdoc.DOC.read_text() == opsdoc.render(), \
        "docs/OPS.md is stale: run `python -m edgec.tools.opsdoc`"


def test_every_registered_op_has_a_row():
    from edgec.ir import get_op, registered_ops

    text = opsdoc.render()
    for name in registered_ops():
        for dtype in get_op(name).dtypes:
            assert f"| {name} | {dtype} |" in text
