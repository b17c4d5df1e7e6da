"""Pick the revision a pull request is compared against and make sure the clone holds it.

Order: the ``base-ref`` input; the pull request's base commit
(``pull_request.base.sha`` of $GITHUB_EVENT_PATH); $GITHUB_BASE_REF; on push events the
commit before the push. actions/checkout clones one commit deep, so a base the clone does not
hold is fetched with ``git fetch --no-tags --depth=1 origin <ref>``. Writes the step output
``base`` (a commit id, or empty: validate without a diff). Exit 0, or 2 when a base was asked
for but cannot be read (an ``::error::`` says why).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from typing import Any

from ghactions import annotate, load_event, set_outputs

GIT_TIMEOUT = 120.0
_NULL_SHA = "0" * 40


def choose_base(explicit: str, event: dict[str, Any], event_name: str, base_ref: str) -> str:
    """The base revision to use, or "" for none."""
    if explicit.strip():
        return explicit.strip()
    pull = event.get("pull_request")
    if isinstance(pull, dict):
        base = pull.get("base")
        if isinstance(base, dict) and isinstance(base.get("sha"), str) and base["sha"]:
            return str(base["sha"])
    if base_ref.strip():
        return base_ref.strip()
    before = event.get("before")
    if event_name == "push" and isinstance(before, str) and before and before != _NULL_SHA:
        return before
    return ""


def _git(cwd: str, *args: str) -> subprocess.CompletedProcess[str]:
    argv = ["git", "-C", cwd, *args]
    return subprocess.run(  # noqa: S603 - fixed git argv, no shell; git from PATH
        argv, capture_output=True, text=True, timeout=GIT_TIMEOUT, check=False)


def _commit_of(cwd: str, rev: str) -> str | None:
    done = _git(cwd, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}")
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None


def ensure_commit(cwd: str, rev: str) -> str:
    """The commit id of ``rev``, fetching it from ``origin`` (depth 1) when missing.

    Raises RuntimeError with a message for the log when it cannot be had."""
    found = _commit_of(cwd, rev)
    if found:
        return found
    remote_name = rev.removeprefix("origin/") if rev.startswith("origin/") else rev
    try:
        done = _git(cwd, "fetch", "--no-tags", "--depth=1", "origin", remote_name)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"git fetch of {rev!r} timed out after {GIT_TIMEOUT:.0f} s") from None
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise RuntimeError(f"cannot fetch base revision {rev!r} from origin: "
                           f"{detail[-1] if detail else 'git fetch failed'}")
    fetched = _commit_of(cwd, "FETCH_HEAD")
    if not fetched:
        raise RuntimeError(f"fetched {rev!r} but it is not a commit")
    return fetched


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default=".", help="the config repository folder")
    parser.add_argument("--base-ref", default="", help="explicit base revision")
    args = parser.parse_args(argv)
    base = choose_base(args.base_ref, load_event(), os.environ.get("GITHUB_EVENT_NAME", ""),
                       os.environ.get("GITHUB_BASE_REF", ""))
    if not base:
        print("molthub validate: no base revision (not a pull request); validating without a diff")
        set_outputs({"base": ""})
        return 0
    if not os.path.isdir(args.path):
        annotate("error", f"path {args.path!r} is not a folder in the workspace")
        set_outputs({"base": ""})
        return 2
    try:
        commit = ensure_commit(args.path, base)
    except (RuntimeError, OSError) as exc:
        annotate("error", str(exc))
        set_outputs({"base": ""})
        return 2
    print(f"molthub validate: comparing against {base} ({commit})")
    set_outputs({"base": commit})
    return 0


if __name__ == "__main__":
    sys.exit(main())
