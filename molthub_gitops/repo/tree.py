"""Reading the files of a config repository from a directory or from a Git revision.

Both readers walk their tree with one shared algorithm (:func:`read_tree`) over a small
:class:`TreeSource` interface, so the same content gives the same result from either:

* Only files the loader reads are read (``*.yaml``/``*.yml``, no component starting with ``.``,
  not matched by ``spec.exclude`` of ``molthub.yaml``); ``.git`` is never entered.
* Symbolic links are resolved component by component *inside the tree*: a link whose target
  is absolute or climbs above the repository root is never read through, and yields a
  ``symlink-outside`` problem naming the link. Links inside the root read as their target
  (a file, or a directory walked under the link's path). Link chains longer than 40 hops and
  directory links leading back into their own ancestors are ``symlink-loop`` problems;
  links to nothing are ``broken-symlink`` problems.
* File size is checked before a file is read (``large-file``); anything but a regular file
  (a FIFO, a device) is never opened.

:class:`DirectoryTree` reads a working directory; :class:`GitTree` reads one revision straight
from the object database with pygit2 (no checkout, no worktree).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any, Literal, Protocol

import pygit2

from molthub_gitops.errors import InputError, Location, Problem
from molthub_gitops.model.loader import REPOSITORY_FILE, exclude_pattern, is_document_file
from molthub_gitops.model.yamlsource import DEFAULT_LIMITS, large_file_problem

__all__ = ["MAX_LINK_HOPS", "DirectoryTree", "GitTree", "TreeSource", "read_tree"]

Kind = Literal["file", "dir", "link", "other"]
MAX_LINK_HOPS = 40


class TreeSource(Protocol):
    """A tree of files addressed by relative posix paths ('' is the root). No link following."""

    def kind(self, rel: str) -> Kind | None:
        """What is at ``rel`` (``None``: nothing)."""

    def readlink(self, rel: str) -> str:
        """Target text of the symbolic link at ``rel``."""

    def listdir(self, rel: str) -> list[str]:
        """Names in the directory at ``rel``."""

    def size(self, rel: str) -> int:
        """Size in bytes of the file at ``rel``."""

    def read_blob(self, rel: str) -> bytes:
        """Content of the file at ``rel``."""


class _Outside(Exception):
    pass


class _Loop(Exception):
    pass


def _resolve(src: TreeSource, rel: str) -> str | None:
    """The link-free path ``rel`` leads to inside the tree, or None if nothing is there.

    Raises _Outside when a link leads out of the tree, _Loop on too many hops.
    """
    todo = [c for c in rel.split("/") if c][::-1]
    done: list[str] = []
    hops = 0
    while todo:
        part = todo.pop()
        if part == ".":
            continue
        if part == "..":
            if not done:
                raise _Outside
            done.pop()
            continue
        here = "/".join([*done, part])
        kind = src.kind(here)
        if kind is None:
            return None
        if kind == "link":
            hops += 1
            if hops > MAX_LINK_HOPS:
                raise _Loop
            target = src.readlink(here)
            if target.startswith("/") or not target:
                raise _Outside
            todo.extend([c for c in target.split("/") if c][::-1])
            continue
        if todo and kind != "dir":
            return None
        done.append(part)
    return "/".join(done)


def _problem(code: str, rel: str, message: str, hint: str) -> Problem:
    return Problem(code, message, Location(rel, 1), hint)


def read_tree(src: TreeSource) -> tuple[dict[str, bytes], list[Problem]]:
    """Read the document files of ``src``: (relative path -> bytes, problems found)."""
    problems: list[Problem] = []
    files: dict[str, bytes] = {}
    limit = DEFAULT_LIMITS.max_bytes

    def read_file(display: str, real: str) -> None:
        if src.kind(real) != "file":
            problems.append(_problem(
                "unreadable-file", display, "not a regular file; not read",
                "replace it with a regular file or remove it"))
            return
        size = src.size(real)
        if size > limit:
            problems.append(large_file_problem(display, size))
            return
        data = already_read.pop(real, None)
        files[display] = data if data is not None else src.read_blob(real)

    already_read: dict[str, bytes] = {}
    """Blobs read before the walk (molthub.yaml, for its exclude pattern), by real path."""
    exclude = None
    try:
        repo_real = _resolve(src, REPOSITORY_FILE)
    except (_Outside, _Loop):
        repo_real = None  # reported by the walk below
    if repo_real is not None and src.kind(repo_real) == "file" and src.size(repo_real) <= limit:
        repo_bytes = src.read_blob(repo_real)
        already_read[repo_real] = repo_bytes
        exclude = exclude_pattern(repo_bytes)

    # (real directory, path shown to the user, real directories above it)
    stack: list[tuple[str, str, tuple[str, ...]]] = [("", "", ("",))]
    while stack:
        real_dir, shown_dir, chain = stack.pop()
        for name in sorted(src.listdir(real_dir), reverse=True):
            if name.startswith("."):
                continue  # .git and other hidden paths are never documents
            real = f"{real_dir}/{name}" if real_dir else name
            shown = f"{shown_dir}/{name}" if shown_dir else name
            if exclude is not None and exclude.fullmatch(shown):
                continue
            kind = src.kind(real)
            if kind == "dir":
                stack.append((real, shown, (*chain, real)))
                continue
            if kind == "file":
                if is_document_file(shown, exclude):
                    read_file(shown, real)
                continue
            if kind != "link":
                if is_document_file(shown, exclude):
                    read_file(shown, real)
                continue
            relevant = is_document_file(shown, exclude) or "." not in name
            try:
                target = _resolve(src, real)
            except _Outside:
                if relevant:
                    problems.append(_problem(
                        "symlink-outside", shown,
                        f"symbolic link {shown!r} leads outside the repository "
                        f"(to {src.readlink(real)!r}); it was not read",
                        "replace the link with the file itself, or point it at a file inside "
                        "the repository"))
                continue
            except _Loop:
                if relevant:
                    problems.append(_problem(
                        "symlink-loop", shown,
                        f"symbolic link {shown!r} is part of a loop", "fix or remove the link"))
                continue
            if target is None:
                if is_document_file(shown, exclude):
                    problems.append(_problem(
                        "broken-symlink", shown,
                        f"symbolic link {shown!r} points to nothing "
                        f"({src.readlink(real)!r})",
                        "fix the link's target or remove the link"))
                continue
            tkind = src.kind(target)
            if tkind == "dir":
                if target in chain:
                    problems.append(_problem(
                        "symlink-loop", shown,
                        f"symbolic link {shown!r} leads back into a directory above it",
                        "remove the link"))
                    continue
                stack.append((target, shown, (*chain, target)))
            elif is_document_file(shown, exclude):
                read_file(shown, target)
    return files, problems


# --------------------------------------------------------------------------- a directory


class DirectoryTree:
    """The files of a working directory (``.git`` and other hidden paths skipped)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, rel: str) -> str:
        return os.path.join(self.root, *rel.split("/")) if rel else str(self.root)

    def kind(self, rel: str) -> Kind | None:
        try:
            mode = os.lstat(self._path(rel)).st_mode
        except (FileNotFoundError, NotADirectoryError):
            return None
        if stat.S_ISLNK(mode):
            return "link"
        if stat.S_ISDIR(mode):
            return "dir"
        if stat.S_ISREG(mode):
            return "file"
        return "other"

    def readlink(self, rel: str) -> str:
        return os.readlink(self._path(rel)).replace(os.sep, "/")

    def listdir(self, rel: str) -> list[str]:
        return os.listdir(self._path(rel))

    def size(self, rel: str) -> int:
        return os.lstat(self._path(rel)).st_size

    def read_blob(self, rel: str) -> bytes:
        with open(self._path(rel), "rb") as fh:
            return fh.read(DEFAULT_LIMITS.max_bytes + 1)

    def read(self) -> tuple[dict[str, bytes], list[Problem]]:
        """Every document file (relative posix path -> bytes) and the problems met."""
        return _translate_os_errors(self.root, lambda: read_tree(self))


def _translate_os_errors(root: Path, run: Any) -> tuple[dict[str, bytes], list[Problem]]:
    try:
        result: tuple[dict[str, bytes], list[Problem]] = run()
    except OSError as exc:
        where = exc.filename if isinstance(exc.filename, str) else str(root)
        raise InputError.single(
            "unreadable-file", f"cannot read {where}: {exc.strerror or exc}",
            Location(os.path.relpath(where, root) if where != str(root) else "."),
            "check the file's permissions") from None
    return result


# --------------------------------------------------------------------------- a Git revision

_MODE_TREE = 0o040000
_MODE_LINK = 0o120000
_MODE_SUBMODULE = 0o160000


class GitTree:
    """The files of one revision of a Git repository, read from its object database."""

    def __init__(self, repo_path: Path, rev: str, *, subdir: str | None = None) -> None:
        self.repo_path = repo_path
        self.rev = rev
        self.subdir = subdir
        """With ``subdir``, ``repo_path`` is the Git repository itself (bare or not) and the
        config repository is that folder of it ('' = its root): what the sync daemon's bare
        clone uses. Without it, the folder is found by discovery from ``repo_path``."""
        self._repo: Any = None
        self._tree: Any = None
        self._entries: dict[str, Any] = {}
        self.commit_id = ""
        """Id of the commit ``rev`` names (set once the tree has been read)."""

    def _open(self) -> None:
        if self._tree is not None:
            return
        repo, prefix = self._discover()
        try:
            obj = repo.revparse_single(self.rev)
            commit = obj.peel(pygit2.Commit)
        except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
            branches = sorted(repo.branches.local)[:10]
            known = f"; local branches: {', '.join(branches)}" if branches else ""
            raise InputError.single(
                "unknown-revision",
                f"{self.rev!r} names no commit in {self.repo_path}",
                Location(str(self.repo_path)),
                "give a branch, a tag, a commit id or an expression such as HEAD~1"
                + known) from None
        tree = commit.tree
        if prefix:
            try:
                tree = tree[prefix]
            except KeyError:
                tree = None
            if tree is None or tree.filemode != _MODE_TREE:
                raise InputError.single(
                    "not-found", f"{prefix!r} does not exist at revision {self.rev!r}",
                    Location(str(self.repo_path)),
                    "check the path and the revision (the folder may have been added later)")
            tree = repo[tree.id]
        self._repo = repo
        self._tree = tree
        self.commit_id = str(commit.id)

    def _discover(self) -> tuple[Any, str]:
        """The repository holding ``repo_path`` and the path of ``repo_path`` inside it
        ('' at its root), so a config repository may live in a folder of a larger one."""
        not_git = InputError.single(
            "not-a-git-repository", f"{self.repo_path} is not in a Git repository",
            Location(str(self.repo_path)),
            "give a folder inside a Git repository, or leave out the revision "
            "(--rev, --head, --base) to read the directory as it is")
        if self.subdir is not None:
            try:
                return pygit2.Repository(str(self.repo_path)), self.subdir.strip("/")
            except pygit2.GitError:
                raise not_git from None
        found = pygit2.discover_repository(str(self.repo_path))
        if found is None:
            raise not_git
        try:
            repo = pygit2.Repository(found)
        except pygit2.GitError:
            raise not_git from None
        top = Path(repo.path) if repo.is_bare else Path(repo.workdir)
        try:
            rel = self.repo_path.resolve().relative_to(top.resolve())
        except ValueError:
            rel = Path()
        prefix = "" if str(rel) == "." else rel.as_posix()
        return repo, prefix

    def _entry(self, rel: str) -> Any:
        found = self._entries.get(rel)
        if found is None and rel not in self._entries:
            try:
                found = self._tree[rel]
            except KeyError:
                found = None
            self._entries[rel] = found
        return found

    def kind(self, rel: str) -> Kind | None:
        if rel == "":
            return "dir"
        entry = self._entry(rel)
        if entry is None:
            return None
        mode = entry.filemode
        if mode == _MODE_TREE:
            return "dir"
        if mode == _MODE_LINK:
            return "link"
        if mode == _MODE_SUBMODULE:
            return "other"
        return "file"

    def readlink(self, rel: str) -> str:
        data: bytes = self._repo[self._entry(rel).id].data
        return data.decode("utf-8", "surrogateescape")

    def listdir(self, rel: str) -> list[str]:
        tree = self._tree if rel == "" else self._repo[self._entry(rel).id]
        return [entry.name for entry in tree]

    def size(self, rel: str) -> int:
        _type, size = self._repo.odb.read_header(self._entry(rel).id)
        return int(size)

    def read_blob(self, rel: str) -> bytes:
        data: bytes = self._repo[self._entry(rel).id].data
        return data

    def read(self) -> tuple[dict[str, bytes], list[Problem]]:
        """Every document file (relative posix path -> bytes) and the problems met.

        Raises :class:`InputError` when the path is no Git repository or ``rev`` names no
        commit.
        """
        self._open()
        try:
            return read_tree(self)
        except (pygit2.GitError, KeyError, ValueError) as exc:
            raise InputError.single(
                "git-error", f"cannot read {self.rev!r} from {self.repo_path}: {exc}",
                Location(str(self.repo_path)),
                "check the repository with `git fsck`") from None
