"""DirectoryTree and GitTree: identical results for identical content, links, revisions."""

from __future__ import annotations

import os
import shutil
from dataclasses import fields
from pathlib import Path

import pygit2
import pytest

from molthub_gitops.errors import InputError
from molthub_gitops.model.repository import FleetRepository
from molthub_gitops.repo.load import load, load_directory, load_revision
from molthub_gitops.repo.tree import DirectoryTree, GitTree

from .conftest import FIXTURES, commit_all


def same_repository(a: FleetRepository, b: FleetRepository) -> None:
    """Equal documents, files, indexes and positions (``source`` differs by design)."""
    for f in fields(FleetRepository):
        if f.name == "source":
            continue
        left, right = getattr(a, f.name), getattr(b, f.name)
        assert left == right, f.name
        docs = [(left, right)] if f.name == "repository" else [
            (left[k], right[k]) for k in left]
        for x, y in docs:
            assert dict(x.positions) == dict(y.positions)
            assert x.file == y.file


def messy_tree(root: Path) -> None:
    """A tree with every kind of link and a few traps, next to an outside file."""
    shutil.copytree(FIXTURES / "good", root, symlinks=True)
    outside = root.parent / "outside.yaml"
    outside.write_text("secret: never-read\n")
    (root / "docs" / "shared-profile.yaml").write_text(
        "apiVersion: molthub/v1\nkind: Profile\nmetadata: {name: shared}\nspec: {}\n")
    (root / "profiles" / "shared.yaml").symlink_to("../docs/shared-profile.yaml")
    (root / "linked-dir").symlink_to("fleets/prod")
    (root / "nested" / "deeper").mkdir(parents=True)
    (root / "nested" / "deeper" / "chain.yaml").symlink_to("../../profiles/shared.yaml")
    (root / "out-relative.yaml").symlink_to("../outside.yaml")
    (root / "out-absolute.yaml").symlink_to(str(outside))
    (root / "abs-inside.yaml").symlink_to(str(root / "molthub.yaml"))
    (root / "out-dir").symlink_to("..")
    (root / "loop-a.yaml").symlink_to("loop-b.yaml")
    (root / "loop-b.yaml").symlink_to("loop-a.yaml")
    (root / "nested" / "up").symlink_to("..")
    (root / "dangling.yaml").symlink_to("nowhere.yaml")
    (root / "notes.txt").symlink_to("../outside.yaml")  # not a document name: ignored
    (root / "big.yaml").write_bytes(b"# " + b"x" * (5 * 1024 * 1024) + b"\n")
    (root / ".hidden").mkdir()
    (root / ".hidden" / "x.yaml").write_text("a: [\n")


def test_directory_and_git_read_the_same_files_and_problems(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    messy_tree(root)
    commit_all(root)
    dir_files, dir_problems = DirectoryTree(root).read()
    git_files, git_problems = GitTree(root, "HEAD").read()
    assert dir_files == git_files
    assert dir_problems == git_problems
    assert b"never-read" not in b"".join(dir_files.values())
    got = sorted((p.code, str(p.location)) for p in dir_problems)
    assert got == [
        ("broken-symlink", "dangling.yaml:1"),
        ("large-file", "big.yaml:1"),
        ("symlink-loop", "loop-a.yaml:1"),
        ("symlink-loop", "loop-b.yaml:1"),
        ("symlink-loop", "nested/up:1"),
        ("symlink-outside", "abs-inside.yaml:1"),
        ("symlink-outside", "out-absolute.yaml:1"),
        ("symlink-outside", "out-dir:1"),
        ("symlink-outside", "out-relative.yaml:1"),
    ]
    assert dir_files["profiles/shared.yaml"] == (root / "docs" / "shared-profile.yaml").read_bytes()
    assert dir_files["nested/deeper/chain.yaml"] == dir_files["profiles/shared.yaml"]
    assert dir_files["linked-dir/support.yaml"] == dir_files["fleets/prod/support.yaml"]
    assert not any(path.startswith((".hidden", ".git", "docs/")) for path in dir_files)
    assert "fleets/wip.draft.yaml" not in dir_files
    message = next(p for p in dir_problems if str(p.location) == "out-relative.yaml:1").message
    assert message == ("symbolic link 'out-relative.yaml' leads outside the repository "
                       "(to '../outside.yaml'); it was not read")


def test_directory_and_revision_loads_are_identical_with_an_inside_link(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(FIXTURES / "good", root)
    (root / "docs" / "shared-profile.yaml").write_text(
        "apiVersion: molthub/v1\nkind: Profile\nmetadata: {name: shared}\nspec: {}\n")
    (root / "profiles" / "shared.yaml").symlink_to("../docs/shared-profile.yaml")
    commit_all(root)
    from_dir = load_directory(root)
    from_git = load_revision(root, "HEAD")
    same_repository(from_dir, from_git)
    assert from_git.source == f"{root}@HEAD"
    assert from_dir.profiles["shared"].file == "profiles/shared.yaml"


def test_symlink_outside_is_the_same_problem_from_git(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(FIXTURES / "good", root)
    (tmp_path / "outside.yaml").write_text("apiVersion: molthub/v1\n")
    (root / "fleets" / "shared.yaml").symlink_to("../../outside.yaml")
    commit_all(root)
    errors = []
    for loader in (lambda: load_directory(root), lambda: load_revision(root, "HEAD")):
        with pytest.raises(InputError) as info:
            loader()
        errors.append(info.value.problems)
    assert errors[0] == errors[1]
    assert [(p.code, str(p.location)) for p in errors[0]] == [
        ("symlink-outside", "fleets/shared.yaml:1")]


def test_revisions_by_branch_tag_sha_and_ancestry(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(FIXTURES / "good", root)
    first = commit_all(root, "first")
    repo = pygit2.Repository(str(root))
    repo.references.create("refs/tags/v1", pygit2.Oid(hex=first))
    repo.branches.local.create("stable", repo[pygit2.Oid(hex=first)].peel(pygit2.Commit))
    dev = root / "fleets" / "dev.yml"
    dev.write_text(dev.read_text().replace("support-dev-2", "support-dev-3"))
    commit_all(root, "second")

    def bots(r: FleetRepository) -> list[str]:
        return [b.name for b in r.fleets["support-dev"].doc.spec.bots]

    assert bots(load_revision(root, "HEAD")) == ["support-dev-1", "support-dev-3"]
    assert bots(load(root)) == ["support-dev-1", "support-dev-3"]
    for rev in ("HEAD~1", "v1", "stable", first, first[:10], "main~1"):
        assert bots(load(root, rev)) == ["support-dev-1", "support-dev-2"], rev
    # the working directory may differ from every commit: uncommitted changes are read
    dev.write_text(dev.read_text().replace("support-dev-3", "support-dev-4"))
    assert bots(load_directory(root)) == ["support-dev-1", "support-dev-4"]
    assert bots(load_revision(root, "HEAD")) == ["support-dev-1", "support-dev-3"]


def test_a_bare_repository_is_read_from_its_object_database(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(FIXTURES / "good", root)
    commit_all(root)
    bare = tmp_path / "bare.git"
    pygit2.clone_repository(str(root), str(bare), bare=True)
    same_repository(load_revision(bare, "main"), load_directory(root))


def test_unknown_revision_is_an_input_error_with_a_hint(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(FIXTURES / "good", root)
    commit_all(root)
    for rev in ("nope", "HEAD~5", "deadbeef", "main..", ""):
        with pytest.raises(InputError) as info:
            load_revision(root, rev)
        problem = info.value.problems[0]
        assert problem.code == "unknown-revision", rev
        assert "local branches: main" in problem.hint


def test_not_a_git_repository(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "good", tmp_path / "plain")
    with pytest.raises(InputError) as info:
        load_revision(tmp_path / "plain", "HEAD")
    assert info.value.problems[0].code == "not-a-git-repository"
    with pytest.raises(InputError) as info:
        load_revision(tmp_path / "missing", "HEAD")
    assert info.value.problems[0].code == "not-found"


def test_a_config_repository_in_a_folder_of_a_larger_git_repository(tmp_path: Path) -> None:
    mono = tmp_path / "mono"
    (mono / "docs").mkdir(parents=True)
    (mono / "docs" / "notes.yaml").write_text("not: a molthub document\n")
    shutil.copytree(FIXTURES / "good", mono / "fleet-config")
    commit_all(mono)
    same_repository(load_revision(mono / "fleet-config", "HEAD"),
                    load_directory(mono / "fleet-config"))
    # a folder of it that is no config repository: the same answer as from the directory
    with pytest.raises(InputError) as info:
        load_revision(mono / "fleet-config" / "fleets", "HEAD")
    assert info.value.problems[0].code == "missing-repository"


def test_a_folder_absent_at_the_revision_is_named(tmp_path: Path) -> None:
    mono = tmp_path / "mono"
    shutil.copytree(FIXTURES / "good", mono / "old")
    commit_all(mono)
    shutil.copytree(FIXTURES / "good", mono / "new")  # not committed
    with pytest.raises(InputError) as info:
        load_revision(mono / "new", "HEAD")
    problem = info.value.problems[0]
    assert problem.code == "not-found"
    assert "'new' does not exist at revision 'HEAD'" in problem.message


def test_a_fifo_is_never_opened(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(FIXTURES / "good", root)
    os.mkfifo(root / "fleets" / "pipe.yaml")  # opening it for reading would block
    with pytest.raises(InputError) as info:
        load_directory(root)
    assert [(p.code, str(p.location)) for p in info.value.problems] == [
        ("unreadable-file", "fleets/pipe.yaml:1")]


def test_a_directory_named_like_a_document_is_walked_not_read(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(FIXTURES / "good", root)
    (root / "fleets" / "dev.yml").unlink()
    (root / "fleets" / "dev.yml").mkdir()
    (root / "fleets" / "dev.yml" / "inner.yaml").write_text(
        "apiVersion: molthub/v1\nkind: Profile\nmetadata: {name: inner}\nspec: {}\n")
    repo = load_directory(root)
    assert "support-dev" not in repo.fleets
    assert repo.profiles["inner"].file == "fleets/dev.yml/inner.yaml"


class _CountingTree(DirectoryTree):
    """A real directory tree that counts how often each blob is read."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.reads: dict[str, int] = {}

    def read_blob(self, rel: str) -> bytes:
        self.reads[rel] = self.reads.get(rel, 0) + 1
        return super().read_blob(rel)


def test_every_file_is_read_once_including_molthub_yaml(tmp_path: Path) -> None:
    from molthub_gitops.repo.tree import read_tree

    root = tmp_path / "repo"
    shutil.copytree(FIXTURES / "good", root, symlinks=True)
    tree = _CountingTree(root)
    files, problems = read_tree(tree)
    assert problems == []
    assert "molthub.yaml" in files
    assert files["molthub.yaml"] == (root / "molthub.yaml").read_bytes()
    assert tree.reads == dict.fromkeys(files, 1)
    assert files == read_tree(DirectoryTree(root))[0]
