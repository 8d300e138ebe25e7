"""Where ``../shared`` (X's spec, recordings and exports; never copied into the project) is."""

from __future__ import annotations

from pathlib import Path


def shared_folder(name: str) -> Path:
    """``shared/<name>`` beside the repository or beside one of its parent folders (a git
    worktree such as ``/work/wt/issue-11`` sits one level deeper than the main checkout);
    the path beside the repository when none exists (tests then skip, saying so)."""
    repo = Path(__file__).resolve().parents[1]
    for folder in (repo, *repo.parents):
        candidate = folder / "shared" / name
        if candidate.is_dir():
            return candidate
    return repo.parent / "shared" / name
