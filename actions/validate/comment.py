"""Keep ONE sticky pull-request comment holding molthub's Markdown report.

Lists the PR's issue comments through the GitHub REST API (following ``Link: rel="next"``),
takes the newest one whose body starts with ``<!-- molthub-gitops:validate -->`` and was
written by us: the ``--author`` login, else the token's own user when it is a person's token
(``GET /user``), else any bot account (the workflow's GITHUB_TOKEN); it edits that comment in
place; only when there is none
does it create one. A read-only token (pull requests from forks) gives a warning, not a
failure. 5xx answers, network errors and rate limits (``Retry-After``) are retried a bounded
number of times; every request has a timeout. A create is never retried blindly: the
comments are listed again first, so a create that did land is edited, never duplicated.
The token goes only into the Authorization header and is never printed.

Environment: GITHUB_TOKEN, GITHUB_API_URL, GITHUB_REPOSITORY, GITHUB_EVENT_PATH,
GITHUB_EVENT_NAME; tuning (tests): MOLTHUB_ACTION_BACKOFF (seconds, default 2),
MOLTHUB_ACTION_MAX_WAIT (cap of one wait, default 60), MOLTHUB_ACTION_TIMEOUT (per request,
default 30). Exit 0 (written, skipped, or not allowed), 1 when the API kept failing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import Message
from typing import Any

from ghactions import annotate, load_event, set_outputs

MARKER = "<!-- molthub-gitops:validate -->"
MAX_BODY = 65536
"""GitHub refuses comment bodies longer than this many characters."""
ATTEMPTS = 5
PULL_EVENTS = ("pull_request", "pull_request_target")
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


class ApiError(Exception):
    """An answer the API would not change by retrying (or retries ran out)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Retryable(Exception):
    """A failure worth another try, after ``wait`` seconds."""

    def __init__(self, message: str, wait: float | None) -> None:
        super().__init__(message)
        self.wait = wait


@dataclass(frozen=True)
class Response:
    status: int
    data: Any
    next_url: str | None


def _float_env(name: str, default: float) -> float:
    try:
        return max(0.0, float(os.environ.get(name, "") or default))
    except ValueError:
        return default


class Api:
    """A minimal GitHub REST client over urllib with bounded retries."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.backoff = _float_env("MOLTHUB_ACTION_BACKOFF", 2.0)
        self.max_wait = _float_env("MOLTHUB_ACTION_MAX_WAIT", 60.0)
        self.timeout = _float_env("MOLTHUB_ACTION_TIMEOUT", 30.0) or 30.0

    def _clean(self, text: str) -> str:
        """Text for the log: never the token, never overlong."""
        if self._token:
            text = text.replace(self._token, "***")
        return text[:300]

    def _once(self, method: str, url: str, body: dict[str, Any] | None) -> Response:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method, headers={  # noqa: S310
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {self._token}",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "molthub-gitops-validate-action",
            **({"Content-Type": "application/json"} if data is not None else {}),
        })
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310
                raw = answer.read()
                status = answer.status
                headers: Message = answer.headers
        except urllib.error.HTTPError as exc:
            raw = exc.read() if exc.fp is not None else b""
            self._raise_for(exc.code, exc.headers, raw)
            raise AssertionError("unreachable") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise Retryable(self._clean(f"{method} {url}: {reason}"), None) from None
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            raise Retryable(f"{method} {url}: answer is not JSON", None) from None
        link = headers.get("Link") or ""
        found = _NEXT.search(link)
        return Response(status, parsed, found.group(1) if found else None)

    def _raise_for(self, status: int, headers: Message, raw: bytes) -> None:
        try:
            detail = str(json.loads(raw).get("message", ""))
        except (ValueError, AttributeError):
            detail = raw.decode("utf-8", "replace")
        detail = self._clean(detail)
        retry_after = headers.get("Retry-After")
        wait: float | None = None
        if retry_after is not None:
            try:
                wait = max(0.0, float(retry_after))
            except ValueError:
                wait = None
        rate_limited = status == 429 or (status == 403 and (
            retry_after is not None or headers.get("X-RateLimit-Remaining") == "0"
            or "rate limit" in detail.lower()))
        if rate_limited and wait is None and headers.get("X-RateLimit-Reset"):
            try:
                wait = max(0.0, float(headers["X-RateLimit-Reset"]) - time.time())
            except ValueError:
                wait = None
        if rate_limited or status >= 500:
            raise Retryable(f"HTTP {status}: {detail or 'no detail'}", wait)
        raise ApiError(status, f"HTTP {status}: {detail or 'no detail'}")

    def call(self, method: str, url: str, body: dict[str, Any] | None = None, *,
             retries: int = ATTEMPTS - 1) -> Response:
        """One request, retried ``retries`` times on 5xx, rate limits and network errors."""
        if not url.startswith(("http://", "https://")):
            url = self.base_url + url
        elif urllib.parse.urlsplit(url)[:2] != urllib.parse.urlsplit(self.base_url)[:2]:
            raise ApiError(0, "refusing to send the token to another host than GITHUB_API_URL")
        for attempt in range(retries + 1):
            try:
                return self._once(method, url, body)
            except Retryable as exc:
                if attempt == retries:
                    raise ApiError(0, f"{exc} (gave up after {attempt + 1} attempts)") from None
                wait = exc.wait if exc.wait is not None else self.backoff * 2 ** attempt
                wait = min(wait, self.max_wait)
                print(f"molthub validate: {method} failed ({exc}); retrying in {wait:.1f} s",
                      file=sys.stderr)
                time.sleep(wait)
        raise AssertionError("unreachable")


def pull_number(event: dict[str, Any]) -> int | None:
    """The PR number of the event payload, or None when it is not about a pull request."""
    pull = event.get("pull_request")
    if isinstance(pull, dict) and isinstance(pull.get("number"), int):
        return int(pull["number"])
    issue = event.get("issue")
    if isinstance(issue, dict) and "pull_request" in issue and isinstance(
            issue.get("number"), int):
        return int(issue["number"])
    return None


def path_marker(path: str) -> str:
    """The second marker line of a comment about the config repository at ``path`` ("" for
    the repository root), so runs for different folders of one PR keep separate comments."""
    clean = path.strip().strip("/")
    while clean.startswith("./"):
        clean = clean[2:]
    if clean in ("", "."):
        return ""
    return f"<!-- molthub-gitops:path={clean.replace('--', '- -')} -->"


def is_ours(comment: dict[str, Any], author: str, path: str = "") -> bool:
    body = comment.get("body")
    if not isinstance(body, str) or not body.lstrip().startswith(MARKER):
        return False
    second = body.lstrip()[len(MARKER):].lstrip("\n").split("\n", 1)[0]
    has_path = second.startswith("<!-- molthub-gitops:path=")
    wanted = path_marker(path)
    if (second != wanted) if wanted else has_path:
        return False
    user = comment.get("user")
    if not isinstance(user, dict):
        return False
    if author:
        return bool(user.get("login") == author)
    return bool(user.get("type") == "Bot")


def token_login(api: Api) -> str:
    """The login the token writes as, when it is a person's token (a personal access token
    writes comments as that user, so only that user's marker comment is ours); "" for the
    workflow's GITHUB_TOKEN (``GET /user`` is refused to it; its comments come from a Bot)."""
    try:
        answer = api.call("GET", "/user", retries=0)
    except ApiError:
        return ""
    data = answer.data
    if isinstance(data, dict) and data.get("type") == "User" and isinstance(
            data.get("login"), str):
        return str(data["login"])
    return ""


def find_sticky(api: Api, comments_url: str, author: str, path: str = ""
                ) -> dict[str, Any] | None:
    """The newest marker comment of ours across every page, or None."""
    newest: dict[str, Any] | None = None
    url: str | None = comments_url + "?per_page=100"
    pages = 0
    while url is not None:
        pages += 1
        if pages > 1000:
            raise ApiError(0, "more than 1000 pages of comments; giving up")
        answer = api.call("GET", url)
        if not isinstance(answer.data, list):
            raise ApiError(answer.status, "listing comments did not return a list")
        for comment in answer.data:
            if isinstance(comment, dict) and is_ours(comment, author, path) and (
                    newest is None or _age_key(comment) > _age_key(newest)):
                newest = comment
        url = answer.next_url
    return newest


def _age_key(comment: dict[str, Any]) -> tuple[str, int]:
    created = comment.get("created_at")
    ident = comment.get("id")
    return (created if isinstance(created, str) else "",
            ident if isinstance(ident, int) else 0)


def upsert(api: Api, repository: str, number: int, body: str, author: str, path: str = ""
           ) -> tuple[str, str]:
    """Edit the sticky comment or create it. Returns (``updated``|``created``, html_url)."""
    comments_url = f"/repos/{repository}/issues/{number}/comments"
    for attempt in range(ATTEMPTS):
        existing = find_sticky(api, comments_url, author, path)
        if existing is not None:
            answer = api.call("PATCH", f"/repos/{repository}/issues/comments/{existing['id']}",
                              {"body": body})
            return "updated", _url_of(answer.data)
        try:
            answer = api.call("POST", comments_url, {"body": body}, retries=0)
        except ApiError as exc:
            if exc.status != 0 or attempt == ATTEMPTS - 1:
                raise
            # The create may have landed: list again before trying once more.
            wait = min(api.backoff * 2 ** attempt, api.max_wait)
            print(f"molthub validate: creating the comment failed ({exc}); "
                  f"checking again in {wait:.1f} s", file=sys.stderr)
            time.sleep(wait)
            continue
        return "created", _url_of(answer.data)
    raise AssertionError("unreachable")


def _url_of(data: Any) -> str:
    url = data.get("html_url") if isinstance(data, dict) else None
    return url if isinstance(url, str) else ""


def build_body(markdown_file: str, exit_code: str, path: str = "") -> str:
    """The comment text: the marker, then molthub's Markdown report (or why there is none)."""
    text = ""
    if markdown_file:
        try:
            with open(markdown_file, encoding="utf-8") as fh:
                text = fh.read()
        except OSError:
            text = ""
    if not text.strip():
        text = ("## molthub validate\n\n"
                f"molthub could not produce a report (exit code {exit_code or 'unknown'}). "
                "See the job log: every problem is listed there with file:line.\n")
    if text.lstrip().startswith(MARKER):
        text = text.lstrip()[len(MARKER):].lstrip("\n")
    second = path_marker(path)
    body = f"{MARKER}\n{second}\n{text}" if second else f"{MARKER}\n{text}"
    if len(body) > MAX_BODY:
        note = "\n\n_Report truncated to fit a GitHub comment; the job summary has all of it._\n"
        body = body[: MAX_BODY - len(note)] + note
    return body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", default="auto", choices=("auto", "true", "false"))
    parser.add_argument("--body-file", default="", help="molthub's Markdown report")
    parser.add_argument("--exit-code", default="", help="molthub's exit code")
    parser.add_argument("--author", default="", help="login of the sticky comment's author")
    parser.add_argument("--path", default="", help="the config repository's folder (one "
                        "sticky comment per folder)")
    args = parser.parse_args(argv)

    event_name = os.environ.get("GITHUB_EVENT_NAME", "")
    if args.mode == "false" or (args.mode == "auto" and event_name not in PULL_EVENTS):
        print("molthub validate: PR comment off for this run")
        return 0
    number = pull_number(load_event())
    if number is None:
        annotate("warning", "comment is on but this run is not about a pull request; "
                            "no PR comment written")
        return 0
    token = os.environ.get("GITHUB_TOKEN", "")
    repository = os.environ.get("GITHUB_REPOSITORY", "")
    if not token or "/" not in repository:
        annotate("warning", "no github-token (or GITHUB_REPOSITORY); no PR comment written")
        return 0
    api = Api(os.environ.get("GITHUB_API_URL", "") or "https://api.github.com", token)
    body = build_body(args.body_file, args.exit_code, args.path)
    author = args.author.strip() or token_login(api)
    try:
        action, url = upsert(api, urllib.parse.quote(repository, safe="/"), number, body,
                             author, args.path)
    except ApiError as exc:
        if exc.status in (401, 403, 404):
            annotate("warning", f"cannot write the PR comment ({exc}): the token may be "
                                "read-only (a pull request from a fork) or lack "
                                "pull-requests: write; the job summary has the report")
            return 0
        annotate("error", f"writing the PR comment failed: {exc}")
        return 1
    print(f"molthub validate: PR comment {action}: {url}")
    set_outputs({"comment-url": url})
    return 0


if __name__ == "__main__":
    sys.exit(main())
