"""plan_memory on small hand-made graphs: lifetimes, aliasing, in place, scratch."""

import numpy as np

from edgec.ir import Graph, Node, Tensor
from edgec.lower.kernel import Kernel
from edgec.plan import find_overlap, plan_memory
from tests.plan.replay import replay


def graph_of(tensors, nodes, inputs, outputs) -> Graph:
    g = Graph(name="t")
    for t in tensors:
        g.add_tensor(t)
    g.nodes = nodes
    g.inputs, g.outputs = inputs, outputs
    return g


def act(name, shape, dtype="int8"):
    return Tensor(name, shape, dtype)


def fake_kernel(node, source="void f(void) {}", scratch=0, in_place=()):
    return Kernel(node.name, node.op, f"k_{node.name}", source, node.inputs + node.outputs,
                  scratch_bytes=scratch, in_place=list(in_place))


def assert_sound(graph, plan, kernels=None):
    assert find_overlap(plan.buffers, plan.buffer_offsets) is None
    for name, t in graph.tensors.items():
        if not t.is_const:
            assert plan.offsets[name] + t.nbytes <= plan.arena_bytes
    assert replay(graph, plan, kernels) == (plan.in_place, [])


def chain_with_reshape():
    tensors = [act("x", (1, 4, 4, 2)), act("a", (1, 4, 4, 8)), act("r", (1, 128)),
               act("y", (1, 10)), Tensor("w", (10, 128), "int8", np.ones((10, 128), np.int8))]
    nodes = [Node("CONV_2D", ["x"], ["a"], name="n0"),  # stands in for any 1-in 1-out op
             Node("RESHAPE", ["a"], ["r"], {"shape": (1, 128)}, name="n1"),
             Node("FULLY_CONNECTED", ["r", "w"], ["y"], name="n2")]
    return graph_of(tensors, nodes, ["x"], ["y"])


def test_reshape_output_aliases_its_input_and_is_elided():
    g = chain_with_reshape()
    plan = plan_memory(g)
    assert plan.offsets["r"] == plan.offsets["a"]
    assert plan.elided == {1}
    assert "w" not in plan.offsets  # constants live in flash
    assert_sound(g, plan)


def test_graph_input_lives_from_start_and_output_to_end():
    g = chain_with_reshape()
    plan = plan_memory(g)
    spans = {b.name: (b.first, b.last) for b in plan.buffers}
    assert spans["x"] == (0, 0)
    assert spans["y"] == (2, 2)  # produced by the last node, kept to the end
    g.outputs = ["y", "a"]
    spans = {b.name: (b.first, b.last) for b in plan_memory(g).buffers}
    assert spans["a"] == (0, 2)  # an early output is kept to the end too


def test_reshape_of_constant_is_not_aliased():
    tensors = [act("x", (4,)), Tensor("c", (2, 2), "int8", np.zeros((2, 2), np.int8)),
               act("r", (4,)), act("y", (4,))]
    nodes = [Node("RESHAPE", ["c"], ["r"], {"shape": (4,)}, name="n0"),
             Node("ADD", ["x", "r"], ["y"], name="n1")]
    g = graph_of(tensors, nodes, ["x"], ["y"])
    plan = plan_memory(g)
    assert plan.elided == set()
    assert_sound(g, plan)


def residual_graph():
    # a -> b -> c; d = ADD(a, c): a and c both die at the ADD.
    tensors = [act(n, (1, 8, 8, 16)) for n in "xabcd"]
    # CONV_2D stands in for any op that cannot run in place (weights do not matter here).
    nodes = [Node("CONV_2D", ["x"], ["a"], name="n0"), Node("CONV_2D", ["a"], ["b"], name="n1"),
             Node("CONV_2D", ["b"], ["c"], name="n2"), Node("ADD", ["a", "c"], ["d"], name="n3")]
    return graph_of(tensors, nodes, ["x"], ["d"])


def test_elementwise_output_overwrites_a_dying_input():
    g = residual_graph()
    plan = plan_memory(g)
    assert plan.in_place[3] == "a"
    assert plan.offsets["d"] == plan.offsets["a"]
    assert plan.arena_bytes <= plan.lower_bound
    assert_sound(g, plan)


def test_no_in_place_over_an_input_read_later():
    g = residual_graph()
    g.nodes[1].inputs = ["x"]  # b = RELU(x): x now lives only to step 1
    g.nodes.append(Node("ADD", ["d", "a"], ["e"], name="n4"))
    g.add_tensor(act("e", (1, 8, 8, 16)))
    g.outputs = ["e"]
    plan = plan_memory(g)
    assert plan.in_place[3] == "c"  # a is read again at step 4
    assert plan.offsets["d"] != plan.offsets["a"]
    assert_sound(g, plan)


def test_no_in_place_over_a_graph_output():
    g = residual_graph()
    g.outputs = ["d", "a"]
    plan = plan_memory(g)
    assert plan.in_place == {3: "c"}
    assert_sound(g, plan)


def test_in_place_only_over_inputs_the_kernel_declares():
    g = residual_graph()
    kernels = [fake_kernel(n) for n in g.nodes]
    assert plan_memory(g, kernels).in_place == {}  # declares nothing: its pointers may alias
    for declared, expected in ((["c"], {3: "c"}), (["a", "c"], {3: "a"}), (["c", "a"], {3: "c"})):
        kernels[3] = fake_kernel(g.nodes[3], in_place=declared)
        plan = plan_memory(g, kernels)
        assert plan.in_place == expected
        assert_sound(g, plan, kernels)


def test_in_place_makes_the_arena_smaller():
    # x -> conv -> a -> RELU -> r -> conv -> y: a and r are large, x and y small.
    tensors = [act("x", (1, 8, 8, 2)), act("a", (1, 8, 8, 16)), act("r", (1, 8, 8, 16)),
               act("y", (1, 8, 8, 2))]
    nodes = [Node("CONV_2D", ["x"], ["a"], name="n0"), Node("RELU", ["a"], ["r"], name="n1"),
             Node("CONV_2D", ["r"], ["y"], name="n2")]
    g = graph_of(tensors, nodes, ["x"], ["y"])
    kernels = [fake_kernel(n) for n in g.nodes]
    assert plan_memory(g, kernels).arena_bytes == 2 * 1024
    kernels[1] = fake_kernel(g.nodes[1], in_place=["a"])
    plan = plan_memory(g, kernels)
    assert plan.in_place == {1: "a"} and plan.arena_bytes == 1024 + 128
    assert_sound(g, plan, kernels)


def test_no_in_place_over_bytes_another_input_reads():
    # d = ADD(a, r) with r = RESHAPE(a): a's bytes are read through r too.
    tensors = [act("x", (4, 4)), act("a", (4, 4)), act("r", (16,)), act("f", (16,)),
               act("d", (16,))]
    nodes = [Node("CONV_2D", ["x"], ["a"], name="n0"),
             Node("RESHAPE", ["a"], ["r"], {"shape": (16,)}, name="n1"),
             Node("CONV_2D", ["x"], ["f"], name="n2"),
             Node("ADD", ["f", "r"], ["d"], name="n3"),
             Node("ADD", ["a", "r"], ["e"], name="n4")]
    g = graph_of(tensors + [act("e", (4, 4))], nodes, ["x"], ["d", "e"])
    kernels = [fake_kernel(n, in_place=n.inputs if n.op == "ADD" else ()) for n in g.nodes]
    plan = plan_memory(g, kernels)
    assert 4 not in plan.in_place  # a and r are one buffer, read twice by step 4
    assert_sound(g, plan, kernels)


def test_replay_rejects_an_undeclared_in_place_pair():
    g = residual_graph()
    kernels = [fake_kernel(n) for n in g.nodes]
    kernels[3] = fake_kernel(g.nodes[3], in_place=["a"])
    plan = plan_memory(g, kernels)
    assert replay(g, plan, kernels) == ({3: "a"}, [])
    kernels[3] = fake_kernel(g.nodes[3], in_place=["c"])
    assert replay(g, plan, kernels) == ({}, ["step 3 writes d over a"])


def test_no_in_place_when_broadcasting():
    tensors = [act("x", (1, 4)), act("b", (1, 1)), act("y", (1, 4))]
    g = graph_of(tensors, [Node("ADD", ["b", "x"], ["y"], name="n0")], ["x", "b"], ["y"])
    assert plan_memory(g).in_place == {0: "x"}


def test_scratch_is_planned_for_its_step_only():
    g = chain_with_reshape()
    kernels = [fake_kernel(n, scratch=64 if i == 2 else 0) for i, n in enumerate(g.nodes)]
    plan = plan_memory(g, kernels)
    assert set(plan.scratch) == {2}
    assert_sound(g, plan)
    scratch = next(b for b in plan.buffers if b.name.startswith("scratch"))
    assert (scratch.first, scratch.last, scratch.size) == (2, 2, 64)


def test_offsets_are_aligned_and_table_names_every_tensor():
    g = residual_graph()
    plan = plan_memory(g, align=32)
    assert all(o % 32 == 0 for o in plan.offsets.values())
    table = plan.table()
    for name in "xabcd":
        assert name in table
    assert f"arena {plan.arena_bytes} B" in table


def test_plan_beats_linear_baseline():
    plan = plan_memory(residual_graph())
    assert plan.arena_bytes < plan.linear_bytes


def test_reshape_aliases_even_with_restrict_kernel():
    g = chain_with_reshape()
    kernels = [fake_kernel(n, "void f(const int8_t *restrict a, int8_t *restrict r) {}")
               for n in g.nodes]
    assert plan_memory(g, kernels).elided == {1}
