"""Versioned publication of a training run: checkpoints to a branch (a tag per step), final model to main.

Pushing never deletes local files and never stops training: a failed push is logged and retried at the next
save and at the end of training.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from huggingface_hub import HfApi
from transformers import TrainerCallback

from distilkobert.hub.publish import (
    PublishResult,
    VersionExistsError,
    check_version_available,
    publish_folder,
    publish_model_folder,
)

logger = logging.getLogger(__name__)

__all__ = ["CheckpointPushCallback", "check_version_available", "publish_final", "ensure_branch"]


def _publish(folder: Path, repo_id: str, *, version: str | None, revision: str, message: str, retries: int = 4,
             endpoint: str | None = None) -> PublishResult:
    return publish_folder(str(folder), repo_id, version=version, revision=revision, commit_message=message,
                          retries=retries, endpoint=endpoint)


def ensure_branch(repo_id: str, branch: str, private: bool = False, endpoint: str | None = None) -> None:
    """Create the model repo and `branch` when they do not exist yet."""
    api = HfApi(endpoint=endpoint)
    api.create_repo(repo_id, exist_ok=True, private=private)
    if branch != "main":
        api.create_branch(repo_id, branch=branch, exist_ok=True)


class CheckpointPushCallback(TrainerCallback):
    """On every save, push `checkpoint-N` to `branch` and tag it `<version>-step-N` (main process only)."""

    def __init__(self, repo_id: str, version: str, branch: str, private: bool = False, retries: int = 3,
                 endpoint: str | None = None):
        self.repo_id, self.version, self.branch, self.endpoint = repo_id, version, branch, endpoint
        self.private, self.retries = private, retries
        self.pending: list[int] = []
        self.pushed: dict[int, str] = {}
        self._branch_ready = False
        self.final_attempts, self.final_wait_s = 3, 2.0

    def step_tag(self, step: int) -> str:
        return f"{self.version}-step-{step}"

    def _push(self, output_dir: Path, step: int, retries: int) -> bool:
        folder = output_dir / f"checkpoint-{step}"
        if not folder.is_dir():
            logger.warning("checkpoint %s is gone locally (save_total_limit?): cannot push it", folder)
            return True
        try:
            if not self._branch_ready:
                ensure_branch(self.repo_id, self.branch, self.private, self.endpoint)
                self._branch_ready = True
            res = _publish(folder, self.repo_id, version=self.step_tag(step), revision=self.branch,
                           message=f"checkpoint step {step} of {self.version}", retries=retries,
                           endpoint=self.endpoint)
            self.pushed[step] = getattr(res, "commit_sha", "")
            logger.info("pushed %s to %s@%s (tag %s)", folder.name, self.repo_id, self.branch, self.step_tag(step))
            return True
        except VersionExistsError:
            logger.info("tag %s already exists (resumed run): not pushed again", self.step_tag(step))
            self.pushed[step] = "existing"
            return True
        except Exception as exc:  # noqa: BLE001 - the Hub being down must never kill training
            logger.warning("push of %s failed (%s: %s); will retry later. The local checkpoint is kept.",
                           folder, type(exc).__name__, exc)
            return False

    def _drain(self, output_dir: Path, retries: int) -> None:
        self.pending = [s for s in self.pending if not self._push(output_dir, s, retries)]

    def on_save(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        self.pending.append(state.global_step)
        self._drain(Path(args.output_dir), self.retries)

    def on_train_end(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        for attempt in range(self.final_attempts):
            if not self.pending:
                break
            if attempt:
                time.sleep(self.final_wait_s * attempt)
            self._drain(Path(args.output_dir), self.retries + 2)
        if self.pending:
            logger.error("checkpoints %s could not be pushed; they are kept in %s", self.pending, args.output_dir)


def publish_final(output_dir: str | Path, repo_id: str, version: str, private: bool = False) -> PublishResult:
    """Push the final model files of `output_dir` (not its checkpoints) to main, tagged `version`."""
    return publish_model_folder(output_dir, repo_id, version, private=private,
                                commit_message=f"DistilKoBERT {version}", retries=6)
