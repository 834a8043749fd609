"""Static memory planning: every activation and scratch buffer gets a fixed arena offset."""

from edgec.plan.memory_plan import MemoryPlan, plan_memory
from edgec.plan.planner import (Buffer, arena_bytes, best_offsets, find_overlap, greedy_offsets,
                                linear_offsets, live_peak)

__all__ = ["Buffer", "MemoryPlan", "arena_bytes", "best_offsets",
           "find_overlap", "greedy_offsets", "linear_offsets", "live_peak",
           "plan_memory"]
