"""Write NSMC results into a model card (local README.md or the Hub repo's), optionally commit it.

The card text itself is produced by `distilkobert.model_card.apply_eval_results` (model-index YAML plus the
results table between the nsmc-results markers). Commits go to a branch only: a tag or a commit sha given
as --revision is never moved; the card then goes to --card_branch (default main) and the log says so.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import EntryNotFoundError

from distilkobert.model_card import apply_eval_results

logger = logging.getLogger(__name__)

_SHA_RE = re.compile(r"^[0-9a-f]{40}$")


def _target_branch(api: HfApi, repo_id: str, revision: str | None, card_branch: str | None) -> tuple[str, str]:
    """(branch to commit to, explanation). Never a tag, never a detached sha."""
    refs = api.list_repo_refs(repo_id)
    branches = {b.name for b in refs.branches}
    tags = {t.name for t in refs.tags}
    if card_branch:
        if card_branch in tags and card_branch not in branches:
            raise ValueError(f"--card_branch {card_branch!r} is a tag of {repo_id}; a card is committed to a branch")
        return card_branch, f"--card_branch {card_branch}"
    if revision is None or revision in branches:
        branch = revision or "main"
        return branch, f"revision {branch!r} is a branch"
    kind = "tag" if revision in tags else ("commit sha" if _SHA_RE.match(revision) else "non-branch revision")
    return "main", (f"revision {revision!r} is a {kind}: tags and commits are immutable, so the card is "
                    "committed to branch 'main' (use --card_branch to choose another branch)")


def update_model_card(results: dict[str, Any], *, model_path: str, is_local: bool, revision: str | None,
                      output_dir: Path, push_to_hub: bool, hub_model_id: str | None,
                      card_branch: str | None) -> dict[str, Any]:
    """Apply the results (nsmc_results.json as written) to the card; write it next to the results (and into a
    local model folder); push."""
    repo_id = hub_model_id or (None if is_local else model_path)
    api = HfApi()
    # start from the card of the place being updated: the pushed repo's branch, else the local folder
    text = ""
    branch = explanation = None
    if push_to_hub:
        if not repo_id:
            raise ValueError("--push_to_hub with a local model folder needs --hub_model_id")
        branch, explanation = _target_branch(api, repo_id, None if is_local else revision, card_branch)
        try:
            text = Path(hf_hub_download(repo_id, "README.md", revision=branch)).read_text(encoding="utf-8")
        except EntryNotFoundError:
            text = ""
    elif is_local and (Path(model_path) / "README.md").is_file():
        text = (Path(model_path) / "README.md").read_text(encoding="utf-8")
    elif not is_local:
        try:
            text = Path(hf_hub_download(model_path, "README.md", revision=revision)).read_text(encoding="utf-8")
        except EntryNotFoundError:
            text = ""
    new_text = apply_eval_results(text, results, repo_id=repo_id)
    out: dict[str, Any] = {"written": [], "pushed": None}
    card_path = output_dir / "README.md"
    card_path.write_text(new_text, encoding="utf-8")
    out["written"].append(str(card_path))
    if is_local:
        (Path(model_path) / "README.md").write_text(new_text, encoding="utf-8")
        out["written"].append(str(Path(model_path) / "README.md"))
    if push_to_hub:
        logger.info("committing the model card to %s@%s (%s)", repo_id, branch, explanation)
        acc = results["aggregate"]["test_accuracy"]["mean"]
        info = api.upload_file(path_or_fileobj=new_text.encode("utf-8"), path_in_repo="README.md", repo_id=repo_id,
                               revision=branch, commit_message=f"NSMC results: test accuracy {100 * acc:.2f}%")
        out["pushed"] = {"repo_id": repo_id, "branch": branch, "reason": explanation,
                         "commit_sha": getattr(info, "oid", None), "url": str(getattr(info, "commit_url", ""))}
    return out
