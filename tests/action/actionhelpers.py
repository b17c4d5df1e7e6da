"""Helpers for the GitHub Action tests: a local stand-in for GitHub's issue-comment API, the
action's steps read from action.yml, and running scripts and steps as real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[2]
ACTION_DIR = ROOT / "actions" / "validate"
ACTION_YML = ACTION_DIR / "action.yml"
WORKFLOW_YML = ROOT / "example-repo" / ".github" / "workflows" / "validate.yml"
EXAMPLE = ROOT / "example-repo"
MARKER = "<!-- molthub-gitops:validate -->"
TIMEOUT = 120
TOKEN = "ghs_TestTokenQ7xK2mZp9VwL4nR8sT1uY6cB3dF5gH0j"
"""A token-shaped secret: it must reach the server in the Authorization header and appear in
no output."""

BOT = {"login": "github-actions[bot]", "type": "Bot", "id": 41898282}
HUMAN = {"login": "octocat", "type": "User", "id": 583231}


def load_action() -> dict[str, Any]:
    data = yaml.safe_load(ACTION_YML.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def step(step_id: str) -> dict[str, Any]:
    """The composite step with this id."""
    for candidate in load_action()["runs"]["steps"]:
        if candidate.get("id") == step_id:
            return dict(candidate)
    raise KeyError(step_id)


def final_step() -> dict[str, Any]:
    steps = load_action()["runs"]["steps"]
    return dict(steps[-1])


@dataclass
class StepRun:
    code: int
    stdout: str
    stderr: str


def run_step(spec: Mapping[str, Any], env: Mapping[str, str], *, cwd: Path,
             tmp: Path) -> StepRun:
    """Run one ``shell: bash`` step as the runner does (``bash --noprofile --norc -eo pipefail
    FILE``). ``env`` must give every variable of the step's ``env:`` block (their ``${{ }}``
    expressions are what a runner would evaluate)."""
    assert spec.get("shell") == "bash"
    missing = set(spec.get("env", {})) - set(env)
    assert not missing, f"test must provide the step's env: {sorted(missing)}"
    script = tmp / f"step-{spec.get('id', 'final')}.sh"
    script.write_text(spec["run"], encoding="utf-8")
    full_env = {**base_env(), **env}
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=cwd, env=full_env, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    return StepRun(done.returncode, done.stdout, done.stderr)


def base_env() -> dict[str, str]:
    """The parent environment without GitHub variables a developer's shell might carry."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("GITHUB_", "RUNNER_", "INPUT_", "MOLTHUB_ACTION_"))}


def run_script(name: str, args: list[str], env: Mapping[str, str], *,
               cwd: Path | None = None) -> StepRun:
    done = subprocess.run(
        [sys.executable, str(ACTION_DIR / name), *args], cwd=cwd,
        env={**base_env(), **env}, capture_output=True, text=True, timeout=TIMEOUT,
        check=False)
    return StepRun(done.returncode, done.stdout, done.stderr)


def read_outputs(path: Path) -> dict[str, str]:
    """Parse a $GITHUB_OUTPUT file (``name=value`` and ``name<<DELIM`` blocks)."""
    values: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, i + 1)
            values[name] = "\n".join(lines[i + 1:end])
            i = end + 1
            continue
        name, _, value = line.partition("=")
        values[name] = value
        i += 1
    return values


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class Fault:
    """One canned answer served instead of the real one (``then_apply``: do the real work
    first, then answer with this, like a create that landed but whose answer was lost)."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    then_apply: bool = False


class FakeGitHub:
    """The issue-comment endpoints of GitHub's REST API, in memory, with pagination.

    GET    /repos/{o}/{r}/issues/{n}/comments?per_page=&page=   (page size capped)
    POST   /repos/{o}/{r}/issues/{n}/comments                    {"body"}
    PATCH  /repos/{o}/{r}/issues/comments/{id}                   {"body"}
    """

    def __init__(self, *, page_cap: int = 100, repo: str = "acme/bots") -> None:
        self.page_cap = page_cap
        self.repo = repo
        self.comments: list[dict[str, Any]] = []
        self.requests: list[Recorded] = []
        self.faults: dict[str, list[Fault]] = {"GET": [], "POST": [], "PATCH": []}
        self.read_only = False
        self.token_user: dict[str, Any] | None = None
        """Who the token belongs to (a personal access token); None: the workflow token,
        to which GET /user answers 403 and whose comments come from a Bot."""
        self._next_id = 1000
        self._clock = 0
        self._lock = threading.Lock()
        self.url = ""

    def add_comment(self, issue: int, body: str, user: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            return self._add(issue, body, dict(user))

    def _add(self, issue: int, body: str, user: dict[str, Any]) -> dict[str, Any]:
        self._next_id += 1
        self._clock += 1
        comment = {
            "id": self._next_id, "issue": issue, "body": body, "user": user,
            "created_at": f"2026-11-26T10:{self._clock // 60:02d}:{self._clock % 60:02d}Z",
            "html_url": f"https://github.com/{self.repo}/pull/{issue}"
                        f"#issuecomment-{self._next_id}",
        }
        self.comments.append(comment)
        return comment

    def marker_comments(self, issue: int) -> list[dict[str, Any]]:
        return [c for c in self.comments
                if c["issue"] == issue and str(c["body"]).startswith(MARKER)]

    def calls(self, method: str) -> list[Recorded]:
        """Requests of ``method`` to the comment endpoints (not the GET /user lookup)."""
        return [r for r in self.requests if r.method == method and r.path != "/user"]

    def handle(self, method: str, raw_path: str, headers: dict[str, str],
               body: Any) -> tuple[int, Any, dict[str, str]]:
        parts = urlsplit(raw_path)
        query = parse_qs(parts.query)
        with self._lock:
            self.requests.append(Recorded(method, parts.path, query,
                                         {k.lower(): v for k, v in headers.items()}, body))
            if parts.path == "/user" and method == "GET":
                if self.token_user is None:
                    return 403, {"message": "Resource not accessible by integration"}, {}
                return 200, dict(self.token_user), {}
            fault = self.faults.get(method, [])
            current = fault.pop(0) if fault else None
            if current is not None and not current.then_apply:
                return current.status, current.body, current.headers
            status, data, extra = self._route(method, parts.path, query, body)
            if current is not None:
                return current.status, current.body, current.headers
            return status, data, extra

    def _route(self, method: str, path: str, query: dict[str, list[str]],
               body: Any) -> tuple[int, Any, dict[str, str]]:
        segments = path.strip("/").split("/")
        prefix = ["repos", *self.repo.split("/"), "issues"]
        if segments[:4] != prefix:
            return 404, {"message": "Not Found"}, {}
        rest = segments[4:]
        if len(rest) == 2 and rest[1] == "comments" and rest[0].isdigit():
            issue = int(rest[0])
            if method == "GET":
                return self._page(issue, path, query)
            if method == "POST":
                if self.read_only:
                    return 403, {"message": "Resource not accessible by integration"}, {}
                return 201, self._add(issue, body["body"],
                                      dict(self.token_user or BOT)), {}
        if len(rest) == 2 and rest[0] == "comments" and rest[1].isdigit() and method == "PATCH":
            if self.read_only:
                return 403, {"message": "Resource not accessible by integration"}, {}
            for comment in self.comments:
                if comment["id"] == int(rest[1]):
                    comment["body"] = body["body"]
                    return 200, comment, {}
            return 404, {"message": "Not Found"}, {}
        return 404, {"message": "Not Found"}, {}

    def _page(self, issue: int, path: str, query: dict[str, list[str]]
              ) -> tuple[int, Any, dict[str, str]]:
        size = min(int(query.get("per_page", ["30"])[0]), self.page_cap)
        page = int(query.get("page", ["1"])[0])
        mine = [c for c in self.comments if c["issue"] == issue]
        chunk = mine[(page - 1) * size: page * size]
        headers = {}
        last = max(1, -(-len(mine) // size))
        if page < last:
            headers["Link"] = (f'<{self.url}{path}?per_page={size}&page={page + 1}>; '
                               f'rel="next", <{self.url}{path}?per_page={size}&page={last}>; '
                               f'rel="last"')
        return 200, chunk, headers


@contextmanager
def serve(api: FakeGitHub) -> Iterator[FakeGitHub]:
    """Serve ``api`` on a loopback port in a thread; ``api.url`` is its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            status, data, extra = api.handle(self.command, self.path, dict(self.headers), body)
            payload = json.dumps(data).encode() if data is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def pr_event(tmp: Path, number: int = 7, base_sha: str = "0" * 40) -> Path:
    path = tmp / "event.json"
    path.write_text(json.dumps({
        "action": "synchronize", "number": number,
        "pull_request": {"number": number, "base": {"sha": base_sha, "ref": "main"},
                         "head": {"sha": "f" * 40, "ref": "feature"}},
    }), encoding="utf-8")
    return path


def comment_env(api: FakeGitHub, tmp: Path, *, event: Path | None = None,
                event_name: str = "pull_request") -> dict[str, str]:
    output = tmp / "github_output"
    output.touch()
    return {
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_API_URL": api.url,
        "GITHUB_REPOSITORY": api.repo,
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(event or pr_event(tmp)),
        "GITHUB_OUTPUT": str(output),
        "MOLTHUB_ACTION_BACKOFF": "0.01",
        "MOLTHUB_ACTION_MAX_WAIT": "0.05",
        "MOLTHUB_ACTION_TIMEOUT": "10",
    }
