"""The sticky PR comment script (actions/validate/comment.py) against a local comment API."""

from __future__ import annotations

from pathlib import Path

from actionhelpers import (
    BOT,
    HUMAN,
    MARKER,
    TOKEN,
    FakeGitHub,
    Fault,
    StepRun,
    comment_env,
    pr_event,
    read_outputs,
    run_script,
    serve,
)


def _report(tmp: Path, text: str = "## molthub validate\n\n0 findings\n") -> Path:
    path = tmp / "report.md"
    path.write_text(text, encoding="utf-8")
    return path


def _run(api: FakeGitHub, tmp: Path, body: Path, *extra: str,
         env: dict[str, str] | None = None) -> StepRun:
    result = run_script("comment.py", ["--mode", "auto", "--body-file", str(body),
                                       "--exit-code", "0", *extra],
                        {**comment_env(api, tmp), **(env or {})})
    assert TOKEN not in result.stdout
    assert TOKEN not in result.stderr
    return result


def test_first_run_creates_one_comment_then_edits_it(tmp_path: Path) -> None:
    with serve(FakeGitHub()) as api:
        api.add_comment(7, "Looks good to me", HUMAN)
        first = _run(api, tmp_path, _report(tmp_path, "first report\n"))
        assert first.code == 0, first.stdout + first.stderr
        assert len(api.calls("POST")) == 1
        assert not api.calls("PATCH")
        [sticky] = api.marker_comments(7)
        assert sticky["body"] == f"{MARKER}\nfirst report\n"
        assert read_outputs(tmp_path / "github_output")["comment-url"] == sticky["html_url"]

        second = _run(api, tmp_path, _report(tmp_path, "second report\n"))
        assert second.code == 0, second.stdout + second.stderr
        assert len(api.calls("POST")) == 1, "the second run must not create another comment"
        [patch] = api.calls("PATCH")
        assert patch.path == f"/repos/acme/bots/issues/comments/{sticky['id']}"
        assert [c["body"] for c in api.marker_comments(7)] == [f"{MARKER}\nsecond report\n"]
        assert len(api.comments) == 2  # the human's comment is untouched
        assert api.comments[0]["body"] == "Looks good to me"
    for request in api.requests:
        assert request.headers.get("authorization") == f"Bearer {TOKEN}"
        assert request.headers.get("accept") == "application/vnd.github+json"
        assert request.headers.get("x-github-api-version") == "2022-11-28"


def test_marker_comment_on_a_later_page_is_found(tmp_path: Path) -> None:
    with serve(FakeGitHub(page_cap=3)) as api:
        for i in range(5):
            api.add_comment(7, f"comment {i}", HUMAN)
        sticky = api.add_comment(7, f"{MARKER}\nold report", BOT)
        api.add_comment(7, "after the report", HUMAN)
        api.add_comment(8, f"{MARKER}\nanother PR's report", BOT)
        result = _run(api, tmp_path, _report(tmp_path, "new report\n"))
        assert result.code == 0, result.stdout + result.stderr
        gets = api.calls("GET")
        assert [g.query.get("page", ["1"])[0] for g in gets] == ["1", "2", "3"]
        assert not api.calls("POST")
        assert sticky["body"] == f"{MARKER}\nnew report\n"
        assert api.comments[-1]["body"] == f"{MARKER}\nanother PR's report"


def test_several_marker_comments_the_newest_is_edited_and_none_created(tmp_path: Path) -> None:
    with serve(FakeGitHub(page_cap=2)) as api:
        older = api.add_comment(7, f"{MARKER}\nv1", BOT)
        api.add_comment(7, "review", HUMAN)
        newer = api.add_comment(7, f"{MARKER}\nv2", BOT)
        result = _run(api, tmp_path, _report(tmp_path, "v3\n"))
        assert result.code == 0, result.stdout + result.stderr
        assert not api.calls("POST")
        assert newer["body"] == f"{MARKER}\nv3\n"
        assert older["body"] == f"{MARKER}\nv1"


def test_a_humans_marker_comment_is_never_edited(tmp_path: Path) -> None:
    with serve(FakeGitHub()) as api:
        pasted = api.add_comment(7, f"{MARKER}\nI pasted the marker", HUMAN)
        result = _run(api, tmp_path, _report(tmp_path))
        assert result.code == 0, result.stdout + result.stderr
        assert not api.calls("PATCH")
        assert len(api.calls("POST")) == 1
        assert pasted["body"] == f"{MARKER}\nI pasted the marker"


def test_author_input_picks_the_comments_of_that_login(tmp_path: Path) -> None:
    with serve(FakeGitHub()) as api:
        mine = api.add_comment(7, f"{MARKER}\nby the PAT user", HUMAN)
        bots = api.add_comment(7, f"{MARKER}\nby the bot", BOT)
        result = _run(api, tmp_path, _report(tmp_path, "edited\n"), "--author", "octocat")
        assert result.code == 0, result.stdout + result.stderr
        assert mine["body"] == f"{MARKER}\nedited\n"
        assert bots["body"] == f"{MARKER}\nby the bot"


def test_a_personal_access_token_edits_its_own_comment_run_after_run(tmp_path: Path) -> None:
    """A PAT writes as its user: the script asks GET /user who that is, so the second run
    edits the first run's comment instead of posting another."""
    api_model = FakeGitHub()
    api_model.token_user = dict(HUMAN)
    with serve(api_model) as api:
        someone = api.add_comment(7, f"{MARKER}\npasted by someone else",
                                  {"login": "mallory", "type": "User"})
        first = _run(api, tmp_path, _report(tmp_path, "first\n"))
        assert first.code == 0, first.stdout + first.stderr
        second = _run(api, tmp_path, _report(tmp_path, "second\n"))
        assert second.code == 0, second.stdout + second.stderr
        ours = [c for c in api.marker_comments(7) if c["user"]["login"] == HUMAN["login"]]
        assert len(ours) == 1
        assert ours[0]["body"] == f"{MARKER}\nsecond\n"
        assert someone["body"] == f"{MARKER}\npasted by someone else"
        assert len(api.calls("POST")) == 1


def test_one_sticky_comment_per_config_folder(tmp_path: Path) -> None:
    """Two action runs on one PR for different folders (a monorepo matrix) keep a comment
    each; a second run for a folder edits that folder's comment only."""
    with serve(FakeGitHub()) as api:
        for text in ("bots-a first", "bots-b first", "bots-a second"):
            folder = text.split()[0]
            result = _run(api, tmp_path, _report(tmp_path, f"{text}\n"), "--path",
                          f"./{folder}/")
            assert result.code == 0, result.stdout + result.stderr
        bodies = sorted(c["body"] for c in api.marker_comments(7))
        assert len(bodies) == 2
        assert bodies[0].endswith("bots-a second\n")
        assert "<!-- molthub-gitops:path=bots-a -->" in bodies[0]
        assert bodies[1].endswith("bots-b first\n")
        # The root repository's comment is yet another one.
        result = _run(api, tmp_path, _report(tmp_path, "root\n"), "--path", ".")
        assert result.code == 0
        assert len(api.marker_comments(7)) == 3


def test_read_only_token_from_a_fork_warns_and_succeeds(tmp_path: Path) -> None:
    with serve(FakeGitHub()) as api:
        api.read_only = True
        result = _run(api, tmp_path, _report(tmp_path))
        assert result.code == 0, result.stdout + result.stderr
        assert "::warning" in result.stdout
        assert "fork" in result.stdout
        assert "HTTP 403" in result.stdout
        assert not api.marker_comments(7)
        assert len(api.calls("POST")) == 1, "a plain 403 is not retried"
        assert "comment-url" not in read_outputs(tmp_path / "github_output")


def test_server_errors_are_retried_then_succeed(tmp_path: Path) -> None:
    with serve(FakeGitHub()) as api:
        api.faults["GET"] = [Fault(502, {"message": "Bad Gateway"}),
                             Fault(503, None, {"Retry-After": "1"})]
        result = _run(api, tmp_path, _report(tmp_path))
        assert result.code == 0, result.stdout + result.stderr
        assert len(api.calls("GET")) == 3
        assert len(api.marker_comments(7)) == 1
        assert "retrying" in result.stderr


def test_secondary_rate_limit_is_waited_out(tmp_path: Path) -> None:
    with serve(FakeGitHub()) as api:
        api.add_comment(7, f"{MARKER}\nold", BOT)
        api.faults["PATCH"] = [Fault(403, {"message": "You have exceeded a secondary rate "
                                                     "limit. Please wait a few minutes."},
                                     {"Retry-After": "2"})]
        result = _run(api, tmp_path, _report(tmp_path, "new\n"))
        assert result.code == 0, result.stdout + result.stderr
        assert len(api.calls("PATCH")) == 2
        assert api.marker_comments(7)[0]["body"] == f"{MARKER}\nnew\n"


def test_a_create_whose_answer_was_lost_is_not_duplicated(tmp_path: Path) -> None:
    with serve(FakeGitHub()) as api:
        api.faults["POST"] = [Fault(502, {"message": "Bad Gateway"}, then_apply=True)]
        result = _run(api, tmp_path, _report(tmp_path, "once\n"))
        assert result.code == 0, result.stdout + result.stderr
        assert len(api.calls("POST")) == 1
        assert len(api.calls("PATCH")) == 1
        assert [c["body"] for c in api.marker_comments(7)] == [f"{MARKER}\nonce\n"]


def test_persistent_server_errors_fail_after_bounded_attempts(tmp_path: Path) -> None:
    with serve(FakeGitHub()) as api:
        api.faults["GET"] = [Fault(500, {"message": f"boom, token was {TOKEN}"})] * 20
        result = _run(api, tmp_path, _report(tmp_path))
        assert result.code == 1
        assert "::error" in result.stdout
        assert "gave up after 5 attempts" in result.stdout
        assert len(api.calls("GET")) == 5
        assert "***" in result.stdout  # the echoed token was masked (and _run checked it)
        assert not api.calls("POST")


def test_unreachable_api_fails_with_a_clear_error(tmp_path: Path) -> None:
    with serve(FakeGitHub()) as api:
        env = comment_env(api, tmp_path)
    # the server is gone: connection refused on every attempt
    result = run_script("comment.py", ["--body-file", str(_report(tmp_path))], env)
    assert result.code == 1
    assert "::error" in result.stdout
    assert TOKEN not in result.stdout + result.stderr


def test_not_a_pull_request_or_off_writes_nothing(tmp_path: Path) -> None:
    push_event = tmp_path / "push.json"
    push_event.write_text('{"ref": "refs/heads/main", "before": "' + "a" * 40 + '"}')
    with serve(FakeGitHub()) as api:
        auto_push = run_script("comment.py", ["--mode", "auto", "--body-file",
                                              str(_report(tmp_path))],
                               comment_env(api, tmp_path, event=push_event, event_name="push"))
        off = run_script("comment.py", ["--mode", "false", "--body-file",
                                        str(_report(tmp_path))], comment_env(api, tmp_path))
        forced = run_script("comment.py", ["--mode", "true", "--body-file",
                                           str(_report(tmp_path))],
                            comment_env(api, tmp_path, event=push_event, event_name="push"))
        assert (auto_push.code, off.code, forced.code) == (0, 0, 0)
        assert "::warning" in forced.stdout
        assert "not about a pull request" in forced.stdout
        assert not api.requests


def test_missing_report_still_updates_the_comment(tmp_path: Path) -> None:
    with serve(FakeGitHub()) as api:
        api.add_comment(7, f"{MARKER}\nall good (stale)", BOT)
        result = run_script("comment.py", ["--body-file", str(tmp_path / "absent.md"),
                                           "--exit-code", "2"], comment_env(api, tmp_path))
        assert result.code == 0, result.stdout + result.stderr
        [sticky] = api.marker_comments(7)
        assert "could not produce a report (exit code 2)" in sticky["body"]


def test_an_oversized_report_is_truncated_to_githubs_limit(tmp_path: Path) -> None:
    with serve(FakeGitHub()) as api:
        body = _report(tmp_path, "x" * 70_000)
        result = _run(api, tmp_path, body)
        assert result.code == 0, result.stdout + result.stderr
        [sticky] = api.marker_comments(7)
        assert len(sticky["body"]) <= 65536
        assert sticky["body"].rstrip().endswith("the job summary has all of it._")


def test_pull_request_number_comes_from_the_event(tmp_path: Path) -> None:
    with serve(FakeGitHub()) as api:
        env = comment_env(api, tmp_path, event=pr_event(tmp_path, number=42))
        result = run_script("comment.py", ["--body-file", str(_report(tmp_path))], env)
        assert result.code == 0, result.stdout + result.stderr
        assert api.calls("POST")[0].path == "/repos/acme/bots/issues/42/comments"
        assert len(api.marker_comments(42)) == 1


def test_a_next_link_to_another_host_is_refused(tmp_path: Path) -> None:
    with serve(FakeGitHub()) as api:
        api.faults["GET"] = [Fault(200, [], {"Link": '<https://evil.example/steal?page=2>; '
                                                      'rel="next"'})]
        result = _run(api, tmp_path, _report(tmp_path))
        assert result.code == 1
        assert "another host" in result.stdout
        assert len(api.calls("GET")) == 1
