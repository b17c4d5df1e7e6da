"""`molthub demo`, run for real: the command a new user runs first (issue 5, item 7).

Each test starts ``python -m molthub_gitops demo`` as a subprocess on a free loopback port, in
its own session and with its own ``TMPDIR`` (so "cleans up after itself" means: that directory
is empty afterwards and no process of the session is left), and talks to it over real HTTP:

* the guide it prints is the contract the README points at: every example bot Synced on the
  page, in ``/api/status`` and in ``/metrics``; the printed commit command, run as printed,
  starts a canary on support-prod-eu (its canaries first, the rest untouched), the printed
  ``molthub rollout promote`` command with the printed token skips the bake, and every bot
  ends Synced at the new commit; SIGINT then exits 0 and removes everything;
* the printed API token guards the control API and is never shown by the status API, the
  audit API, the page or the metrics;
* SIGTERM in the middle of the first rollout cleans up too;
* a taken port and ``--real`` without an OpenClaw install exit 2 with a clear message, no
  traceback and no temporary files.

One demo serves the token test and the happy path (which ends it with SIGINT); a test that
finds no running demo starts its own, so each test also runs alone. Every wait has a deadline.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from web._webapp import parse_prometheus

from molthub_gitops.repo.load import load
from molthub_gitops.repo.resources import example_repo_dir

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 180.0
"""Seconds for the demo to print its guide (every bot Synced); about 10 s on a 2-core VM."""
ROLLOUT_TIMEOUT = 90.0
STOP_TIMEOUT = 60.0
HTTP_TIMEOUT = 15.0
CANARY_FLEET = "support-prod-eu"
CHANGED_FILE = "profiles/env-prod.yaml"

T = TypeVar("T")


# --------------------------------------------------------------------------- the example repo


@dataclass(frozen=True)
class Example:
    bots: dict[str, str]
    """bot -> fleet"""
    environments: dict[str, str]
    """fleet -> environment"""


def example() -> Example:
    repo = load(example_repo_dir())
    bots = {bot.name: name for name, fleet in repo.fleets.items() for bot in fleet.doc.spec.bots}
    envs = {name: str(fleet.doc.spec.environment) for name, fleet in repo.fleets.items()}
    return Example(bots, envs)


# --------------------------------------------------------------------------- the process


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli_env(tmpdir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["TMPDIR"] = str(tmpdir)
    env["GIT_TERMINAL_PROMPT"] = "0"
    for name in ("MOLTHUB_DEBUG", "MOLTHUB_API_TOKEN"):
        env.pop(name, None)
    env.update(extra or {})
    return env


def molthub(*args: str, env: Mapping[str, str], timeout: float = 60.0
            ) -> subprocess.CompletedProcess[str]:
    """Run a short `molthub` command (the real entry point) to the end."""
    return subprocess.run([sys.executable, "-m", "molthub_gitops", *args], env=dict(env),
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          check=False)


def session_pids(sid: int) -> list[int]:
    """Processes still alive in session ``sid`` (the demo runs in its own)."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if len(fields) > 3 and int(fields[3]) == sid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


class DemoRun:
    """``molthub demo`` in a subprocess (own session, own TMPDIR) with its output collected."""

    def __init__(self, tmpdir: Path, *args: str, env: Mapping[str, str] | None = None) -> None:
        self.tmpdir = tmpdir
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "molthub_gitops", "demo", "--port", str(self.port), *args],
            env=cli_env(tmpdir, env), cwd=ROOT, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
            start_new_session=True)
        self._out: list[str] = []
        self._err: list[str] = []
        self._readers = [threading.Thread(target=self._read, args=(stream, into), daemon=True)
                         for stream, into in ((self.proc.stdout, self._out),
                                              (self.proc.stderr, self._err))]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream: Any, into: list[str]) -> None:
        for line in stream:
            into.append(line)

    @property
    def stdout(self) -> str:
        return "".join(self._out)

    @property
    def stderr(self) -> str:
        return "".join(self._err)

    def wait_line(self, pattern: str, timeout: float) -> re.Match[str]:
        """The first output line matching ``pattern``; fails after ``timeout`` seconds or
        when the demo exits without printing it."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            for line in list(self._out):
                found = regex.search(line)
                if found:
                    return found
            if self.proc.poll() is not None:
                for reader in self._readers:
                    reader.join(5)
                if any(regex.search(line) for line in self._out):
                    continue
                raise AssertionError(f"molthub demo exited ({self.proc.returncode}) before "
                                     f"printing {pattern!r}\n{self.stdout}\n{self.stderr}")
            if time.monotonic() > deadline:
                raise AssertionError(f"molthub demo did not print {pattern!r} within "
                                     f"{timeout:g}s\n{self.stdout}\n{self.stderr}")
            time.sleep(0.05)

    def stop(self, sig: signal.Signals) -> int:
        """Send ``sig`` and wait (bounded) for the exit code; output fully read."""
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"molthub demo did not stop within {STOP_TIMEOUT:g}s after "
                                 f"{sig.name}\n{self.stdout}\n{self.stderr}") from None
        for reader in self._readers:
            reader.join(10)
        return code

    def kill(self) -> None:
        """Teardown: end whatever is left of this demo's own process group."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)
        for reader in self._readers:
            reader.join(5)


@dataclass(frozen=True)
class Guide:
    """What the demo printed: where it runs and what to type next."""

    url: str
    token: str
    temp: Path
    config: Path
    initial: str
    """abbreviated id of the "initial" commit"""
    commit_command: str
    promote_command: str
    canary_line: str


def read_guide(run: DemoRun) -> Guide:
    copied = run.wait_line(r"example-repo copied to (\S+)/config \(commit ([0-9a-f]+) ",
                           STARTUP_TIMEOUT)
    run.wait_line(r"^Press Ctrl-C to stop", STARTUP_TIMEOUT)
    url = run.wait_line(r"status page on (http://\S+?)/ ", 1).group(1)
    token = run.wait_line(r"^  API token\s+(\S+)", 1).group(1)
    config = Path(run.wait_line(r"^  config repo\s+(\S+)", 1).group(1))
    commit = run.wait_line(r"^  (cd \S+ && .*git push.*)$", 1).group(1)
    promote = run.wait_line(r"^  (\S+=\S+ molthub rollout promote \S+ --server \S+)$",
                            1).group(1)
    canary = run.wait_line(rf"^Then open .*: {CANARY_FLEET} updates (.*)$", 1).group(1)
    return Guide(url=url, token=token, temp=Path(copied.group(1)), config=config,
                 initial=copied.group(2), commit_command=commit, promote_command=promote,
                 canary_line=canary)


class Demos:
    """The module's shared demo: started on first use, started again when a test ended it."""

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self.factory = factory
        self.runs: list[DemoRun] = []
        self.guide: Guide | None = None

    def running(self) -> tuple[DemoRun, Guide]:
        if self.runs and self.runs[-1].proc.poll() is None and self.guide is not None:
            return self.runs[-1], self.guide
        run = DemoRun(self.factory.mktemp("demo-tmp"))
        self.runs.append(run)
        self.guide = read_guide(run)
        return run, self.guide

    def close(self) -> None:
        for run in self.runs:
            run.kill()


@pytest.fixture(scope="module")
def demos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demos]:
    shared = Demos(tmp_path_factory)
    try:
        yield shared
    finally:
        shared.close()


@pytest.fixture
def own_demos() -> Iterator[list[DemoRun]]:
    """Demos a test starts for itself; whatever is left of them is killed afterwards."""
    runs: list[DemoRun] = []
    try:
        yield runs
    finally:
        for run in runs:
            run.kill()


# --------------------------------------------------------------------------- HTTP


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


def http(url: str, *, method: str = "GET", token: str | None = None,
         body: Mapping[str, Any] | None = None) -> Answer:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data is not None else {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
            return Answer(response.status, response.headers.get("Content-Type", ""),
                          response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, exc.headers.get("Content-Type", ""),
                      exc.read().decode("utf-8", "replace"))


def api_status(guide: Guide) -> dict[str, Any]:
    answer = http(f"{guide.url}/api/status")
    assert answer.status == 200, answer.text
    data: dict[str, Any] = answer.json()
    return data


def poll(what: str, probe: Callable[[], T | None], timeout: float) -> T:
    """``probe()`` until it returns something other than None; AssertionError at the
    deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.2)


def synced_count_on_page(html: str) -> int:
    found = re.search(r'data-state="Synced">\s*<span class="n">(\d+)</span>', html)
    assert found, "the page shows no count of Synced bots"
    return int(found.group(1))


def bots_by_state(metrics_text: str) -> dict[str, float]:
    families = parse_prometheus(metrics_text)
    family = families["molthub_bots"]
    assert family.type == "gauge"
    return {labels["state"]: value for _, labels, value in family.samples}


# --------------------------------------------------------------------------- running the guide


def run_printed_molthub(line: str, *, tmpdir: Path, fleet: str | None = None
                        ) -> subprocess.CompletedProcess[str]:
    """Run a printed ``VAR=value molthub ARGS`` line: ``molthub`` is this interpreter's
    entry point; ``fleet`` replaces the fleet argument (same command, another fleet)."""
    words = shlex.split(line)
    assignments: dict[str, str] = {}
    while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
        name, _, value = words.pop(0).partition("=")
        assignments[name] = value
    assert words[0] == "molthub", line
    args = words[1:]
    if fleet is not None:
        args[2] = fleet
    return molthub(*args, env=cli_env(tmpdir, assignments))


def assert_clean_exit(run: DemoRun, code: int, temp: Path) -> None:
    """Exit 0, the temporary directory gone (nothing left in TMPDIR at all), no process of
    the demo's session left, no traceback."""
    assert code == 0, f"exit {code}\n{run.stdout}\n{run.stderr}"
    assert f"molthub demo: stopped; removed {temp}" in run.stdout
    assert not temp.exists()
    assert list(run.tmpdir.iterdir()) == []
    assert session_pids(run.proc.pid) == []
    assert "Traceback" not in run.stderr


# --------------------------------------------------------------------------- tests


def test_the_printed_token_guards_the_control_api_and_is_never_shown(demos: Demos) -> None:
    run, guide = demos.running()
    token = guide.token
    assert len(token) >= 16
    control = f"{guide.url}/api/fleets/{CANARY_FLEET}/pause"

    missing = http(control, method="POST", body={"reason": "no token"})
    assert missing.status == 401, missing.text
    wrong = http(control, method="POST", token=token[::-1], body={"reason": "wrong token"})
    assert wrong.status == 401, wrong.text
    assert token not in missing.text + wrong.text
    # the same call with the printed token gets past the check: the fleet has no rollout
    # under way, so there is nothing to pause (409), and nothing changed
    allowed = http(control, method="POST", token=token, body={"reason": "token test"})
    assert allowed.status == 409, allowed.text
    assert token not in allowed.text
    # the printed CLI command with a wrong token: refused, and it says so
    refused = run_printed_molthub(
        guide.promote_command.replace(token, "not-the-token"), tmpdir=run.tmpdir)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "401" in refused.stderr

    for path in ("/api/status", "/api/audit?limit=1000", "/", "/metrics"):
        answer = http(guide.url + path)
        assert answer.status == 200, (path, answer.text)
        assert token not in answer.text, path
    assert api_status(guide)["bots"], "the status lists no bots"
    assert http(guide.url + "/api/audit").json()["entries"], "the audit API lists nothing"
    assert token not in run.stderr
    # nor does the status branch the daemon writes to the demo's repository
    grep = subprocess.run(["git", "-C", str(guide.temp / "fleet.git"), "grep", "-c", "-F",
                           token, "molthub-status", "--"],
                          capture_output=True, text=True, timeout=30, check=False)
    assert grep.returncode == 1, grep.stdout + grep.stderr  # 1: the branch has no match


def test_demo_happy_path_page_metrics_canary_promote_and_sigint(demos: Demos) -> None:
    expected = example()
    n = len(expected.bots)
    run, guide = demos.running()
    assert (f"molthub demo is running: {n} bots in {len(expected.environments)} fleets "
            f"({n} Synced)") in run.stdout

    # -- every example bot Synced: API, page, metrics, probes
    status = api_status(guide)
    initial = status["appliedCommit"]
    assert initial.startswith(guide.initial)
    assert status["headCommit"] == initial
    assert set(status["bots"]) == set(expected.bots)
    for name, bot in status["bots"].items():
        assert bot["state"] == "Synced", (name, bot)
        assert bot["fleet"] == expected.bots[name]
        assert bot["syncedCommit"] == initial, name
    assert set(status["fleets"]) == set(expected.environments)

    page = http(guide.url + "/")
    assert page.status == 200
    assert page.content_type.startswith("text/html")
    for name in expected.bots:
        assert name in page.text, name
    assert synced_count_on_page(page.text) == n

    metrics = http(guide.url + "/metrics")
    assert metrics.status == 200
    assert metrics.content_type.startswith("text/plain; version=0.0.4")
    states = bots_by_state(metrics.text)
    assert states["Synced"] == n
    assert sum(states.values()) == n
    for probe in ("/healthz", "/readyz"):
        assert http(guide.url + probe).status == 200, probe

    # -- what the guide says: commit a change to the production profile and push it
    assert guide.commit_command.startswith(f"cd {guide.config} && ")
    assert CHANGED_FILE in guide.commit_command
    assert "git commit" in guide.commit_command
    assert guide.commit_command.endswith("git push -q")
    before = (guide.config / CHANGED_FILE).read_text()
    hashes_before = {name: bot["desiredHash"] for name, bot in status["bots"].items()}
    done = subprocess.run(guide.commit_command, shell=True, env=cli_env(run.tmpdir),
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (guide.config / CHANGED_FILE).read_text() != before
    touched = subprocess.run(["git", "-C", str(guide.config), "diff", "--name-only", "HEAD~1",
                              "HEAD"], capture_output=True, text=True, timeout=30, check=True)
    assert touched.stdout.split() == [CHANGED_FILE]
    new = subprocess.run(["git", "-C", str(guide.config), "rev-parse", "HEAD"],
                         capture_output=True, text=True, timeout=30, check=True).stdout.strip()
    pushed = subprocess.run(["git", "-C", str(guide.temp / "fleet.git"), "rev-parse", "main"],
                            capture_output=True, text=True, timeout=30, check=True)
    assert pushed.stdout.strip() == new != initial

    # -- the canary of support-prod-eu goes first, the rest wait (its bake is 18 s)
    def canary_baking() -> dict[str, Any] | None:
        snap = api_status(guide)
        rollout = snap["fleets"][CANARY_FLEET]["rollout"]
        if rollout is None or rollout["commit"] != new or rollout["phase"] != "Baking":
            return None
        canaries = rollout["waves"][0]["bots"]
        if all(snap["bots"][b]["syncedCommit"] == new for b in canaries):
            return snap
        return None

    snap = poll(f"{CANARY_FLEET}'s canary to be applied and baking", canary_baking,
                ROLLOUT_TIMEOUT)
    fleet = snap["fleets"][CANARY_FLEET]
    rollout = fleet["rollout"]
    assert rollout["strategy"] == "canary"
    first = rollout["waves"][0]
    assert first["kind"] == "canary"
    canaries = set(first["bots"])
    rest = set(fleet["bots"]) - canaries
    assert canaries
    assert rest
    assert guide.canary_line.startswith(" and ".join(sorted(canaries)))
    for bot in canaries:
        assert rollout["results"][bot]["result"] == "applied", bot
        assert snap["bots"][bot]["state"] == "Synced", bot
        assert snap["bots"][bot]["desiredHash"] != hashes_before[bot], bot
    for bot in rest:
        assert snap["bots"][bot]["syncedCommit"] == initial, bot
        assert rollout["results"].get(bot, {}).get("result", "pending") == "pending", bot
        assert snap["bots"][bot]["state"] != "Synced", bot

    # -- skip the bake with the printed command and the printed token
    assert f"MOLTHUB_API_TOKEN={guide.token} molthub rollout promote {CANARY_FLEET} " \
           f"--server {guide.url}" == guide.promote_command
    promoted = run_printed_molthub(guide.promote_command, tmpdir=run.tmpdir)
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    assert f"promote: {CANARY_FLEET}" in promoted.stdout
    assert guide.token not in promoted.stdout + promoted.stderr

    # -- the other prod fleets bake too (up to 144 s here): promote them the same way
    promoted_fleets = {CANARY_FLEET}

    def all_synced_at_new() -> dict[str, Any] | None:
        snap = api_status(guide)
        for name, fl in sorted(snap["fleets"].items()):
            ro = fl["rollout"]
            if (ro is not None and ro["commit"] == new and ro["phase"] == "Baking"
                    and name not in promoted_fleets):
                other = run_printed_molthub(guide.promote_command, tmpdir=run.tmpdir,
                                            fleet=name)
                # 1: it left its bake meanwhile (409); 2 would be a refused token
                assert other.returncode in (0, 1), other.stdout + other.stderr
                promoted_fleets.add(name)
        bots = snap["bots"].values()
        rollouts = [fl["rollout"] for fl in snap["fleets"].values()]
        if (all(b["state"] == "Synced" and b["syncedCommit"] == new for b in bots)
                and all(ro is None or ro["phase"] == "Succeeded" for ro in rollouts)):
            return snap
        return None

    final = poll("every bot to be Synced at the new commit", all_synced_at_new,
                 ROLLOUT_TIMEOUT)
    assert final["appliedCommit"] == new
    rollout = final["fleets"][CANARY_FLEET]["rollout"]
    assert rollout["commit"] == new
    assert rollout["phase"] == "Succeeded"
    assert {b: r["result"] for b, r in rollout["results"].items()} == \
        dict.fromkeys(final["fleets"][CANARY_FLEET]["bots"], "applied")
    prod = {f for f, env in expected.environments.items() if env == "prod"}
    for name, bot in final["bots"].items():
        changed = bot["desiredHash"] != hashes_before[name]
        if bot["fleet"] == CANARY_FLEET:
            assert changed, name
        elif bot["fleet"] not in prod:
            assert not changed, name  # the production profile does not touch other fleets

    # the audit log tells the same story: canaries, the promotion by the CLI, then the rest
    def rollout_audit() -> list[dict[str, Any]] | None:
        audit = http(f"{guide.url}/api/audit?fleet={CANARY_FLEET}&limit=1000")
        assert audit.status == 200, audit.text
        found = [e for e in audit.json()["entries"] if e["rolloutId"] == rollout["id"]]
        return found if any(e["action"] == "rollout-succeeded" for e in found) else None

    entries = poll("the audit of the rollout", rollout_audit, ROLLOUT_TIMEOUT)
    actions = [(e["action"], e["bot"]) for e in entries]
    assert actions[0] == ("rollout-started", None)
    promoted_at = actions.index(("rollout-promoted", None))
    assert {bot for action, bot in actions[:promoted_at] if action == "apply"} == canaries
    assert {bot for action, bot in actions[promoted_at:] if action == "apply"} == rest
    assert "cli" in entries[promoted_at]["actor"]
    assert actions[-1] == ("rollout-succeeded", None)
    assert all(e["result"] == "ok" for e in entries)

    metrics = http(guide.url + "/metrics")
    assert bots_by_state(metrics.text)["Synced"] == n
    # the guide's `molthub status --server URL` shows the same
    status_line = run.wait_line(r"^  (molthub status --server \S+)$", 1).group(1)
    shown = run_printed_molthub(status_line, tmpdir=run.tmpdir)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert f"bots: {n} Synced" in shown.stdout
    assert f"{CANARY_FLEET}: synced {new[:12]}" in shown.stdout

    # -- Ctrl-C: exit 0, temporary directory gone, no process left
    code = run.stop(signal.SIGINT)
    assert_clean_exit(run, code, guide.temp)
    assert guide.token not in run.stderr


def test_sigterm_during_the_first_rollout_cleans_up(own_demos: list[DemoRun],
                                                    tmp_path: Path) -> None:
    run = DemoRun(tmp_path)
    own_demos.append(run)
    temp = Path(run.wait_line(r"example-repo copied to (\S+)/config ", STARTUP_TIMEOUT)
                .group(1))
    url = run.wait_line(r"status page on (http://\S+?)/ ", STARTUP_TIMEOUT).group(1)
    assert temp.is_dir()
    assert http(url + "/healthz").status == 200
    code = run.stop(signal.SIGTERM)
    assert_clean_exit(run, code, temp)


def test_a_taken_port_exits_2_naming_the_port(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = molthub("demo", "--port", str(port), env=cli_env(tmp_path))
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"127.0.0.1:{port}" in done.stderr
    assert "--port" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert list(tmp_path.iterdir()) == []


def test_real_without_an_openclaw_install_exits_2_with_the_install_hint(tmp_path: Path) -> None:
    cache = tmp_path / "empty-cache"
    cache.mkdir()
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    done = molthub("demo", "--real", "--port", str(free_port()),
                   env=cli_env(tmpdir, {"MOLTHUB_OPENCLAW_CACHE": str(cache)}))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--real" in done.stderr
    assert "scripts/install-openclaw.sh" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert list(tmpdir.iterdir()) == []
    assert list(cache.iterdir()) == []
