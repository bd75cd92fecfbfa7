"""Keeping the update size fixed when the number of processes changes.

A recipe that states a global batch (sequences per optimizer update) keeps it on any number of GPUs by deriving
the accumulation steps: global = per-device batch x accumulation x processes. A world size that does not divide
it is refused with the nearest valid choices, never rounded silently (that would change the recipe).
"""

from __future__ import annotations


def accumulation_for_global_batch(global_batch: int, per_device_batch: int, world_size: int) -> int:
    """Gradient accumulation steps that give exactly `global_batch` sequences per update on `world_size` processes.

    Raises ValueError naming the arguments when the global batch is not a multiple of per-device batch x processes.
    """
    if global_batch < 1 or per_device_batch < 1 or world_size < 1:
        raise ValueError(f"--global_batch_size {global_batch}, --per_device_train_batch_size {per_device_batch} "
                         f"and the world size {world_size} must all be >= 1")
    per_step = per_device_batch * world_size
    if global_batch % per_step:
        below = global_batch // per_step * per_step
        options = ", ".join(str(x) for x in (below, below + per_step) if x > 0)
        raise ValueError(
            f"--global_batch_size {global_batch} is not a multiple of --per_device_train_batch_size "
            f"{per_device_batch} x {world_size} processes = {per_step}: change the per-device batch or the number "
            f"of processes, or use --global_batch_size {options}")
    return global_batch // per_step
