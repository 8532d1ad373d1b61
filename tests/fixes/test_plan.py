"""The planner on hand-made findings: options, defaults, refusals, dedupe, bad --choose."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.fixes import check
from toolbox_tui.state_dir import state_dir_for
from toolbox_tui.findings import PASS, WARN, Check
from toolbox_tui.fixes.apply import apply_plan
from toolbox_tui.fixes.undo import undo
from toolbox_tui.fixes.plan import PlanError, make_plan, parse_choice


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "proj").mkdir(parents=True)
    (root / "conf").mkdir()
    (root / "conf" / "app.conf").write_text("setting = 1\n")
    (root / "proj" / "compose.yml").write_text(
        "services:\n  app:\n    image: x\n    volumes:\n      - ./app.conf:/etc/app.conf:ro  # keep\n")
    return root


def _plan(repo: Path, checks, *choices: str, allow_outside: bool = False):
    return make_plan(checks, root=repo, project_dir=repo / "proj",
                     choices=[parse_choice(c) for c in choices], allow_outside=allow_outside,
                     cwd=repo)


def _app(repo: Path, **kw) -> Check:
    kw.setdefault("candidates", [repo / "conf" / "app.conf"])
    return check("paths.bind.app.0", repo / "proj" / "app.conf", file=repo / "proj" / "compose.yml",
                 line=5, column=9, raw="./app.conf", **kw)


def test_options_and_default_copy(repo: Path) -> None:
    plan = _plan(repo, [_app(repo)])
    (fp,) = plan.findings
    assert [o.option for o in fp.options] == ["copy", "symlink", "rewrite"]
    assert all(not o.refused for o in fp.options)
    (action,) = plan.actions
    assert (action.kind, action.source, action.target) == (
        "copy", str(repo / "conf" / "app.conf"), str(repo / "proj" / "app.conf"))
    assert action.summary == "copy conf/app.conf -> proj/app.conf"


def test_rewrite_diff_keeps_dot_slash_and_comment(repo: Path) -> None:
    plan = _plan(repo, [_app(repo)], "paths.bind.app.0=rewrite:1")
    (action,) = plan.actions
    assert action.kind == "rewrite" and action.target == str(repo / "proj" / "compose.yml")
    assert action.edits[0].new_text == "../conf/app.conf" and action.edits[0].old_text == "./app.conf"
    assert "-      - ./app.conf:/etc/app.conf:ro  # keep\n" in action.diff
    assert "+      - ../conf/app.conf:/etc/app.conf:ro  # keep\n" in action.diff


def test_no_candidate_leaves_the_finding_explained(repo: Path) -> None:
    plan = _plan(repo, [_app(repo, candidates=[])])
    assert plan.actions == ()
    (fp,) = plan.unfixed
    assert "no candidate found" in fp.reason and "compose.yml:5" in fp.reason


def test_directories_default_to_mkdir_and_apply(repo: Path, tmp_path: Path) -> None:
    target = repo / "proj" / "data" / "cache"
    c = check("paths.bind.app.1", target, expect="dir", status=WARN)
    plan = _plan(repo, [c])
    (action,) = plan.actions
    assert action.kind == "mkdir"
    result = apply_plan(plan, state_dir_for(repo))
    assert target.is_dir()
    assert [e["type"] for e in result.actions[0]["created"]] == ["dir", "dir"]
    undo(state_dir_for(repo))
    assert not (repo / "proj" / "data").exists()


def test_candidate_outside_repo_is_refused_unless_allowed(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "app.conf"
    outside.parent.mkdir()
    outside.write_text("x\n")
    c = _app(repo, candidates=[outside])
    plan = _plan(repo, [c])
    assert plan.actions == ()
    assert "outside the repository" in plan.unfixed[0].reason
    assert "--allow-outside" in plan.unfixed[0].reason
    with pytest.raises(PlanError, match="--allow-outside|outside"):
        _plan(repo, [c], "paths.bind.app.0=symlink:1")
    plan = _plan(repo, [c], allow_outside=True)
    assert plan.actions[0].kind == "copy" and plan.actions[0].source == str(outside)


def test_candidate_inside_repo_through_a_link_that_leaves_it_is_outside(repo: Path, tmp_path: Path) -> None:
    (tmp_path / "secret.conf").write_text("s\n")
    (repo / "conf" / "sneaky.conf").symlink_to(tmp_path / "secret.conf")
    plan = _plan(repo, [_app(repo, candidates=[repo / "conf" / "sneaky.conf"])])
    assert plan.actions == () and "outside the repository" in plan.unfixed[0].reason


def test_symlink_loop_and_broken_link_candidates_are_refused(repo: Path) -> None:
    loop = repo / "conf" / "loop.conf"
    loop.symlink_to(loop.name)
    broken = repo / "conf" / "broken.conf"
    broken.symlink_to("nowhere.conf")
    plan = _plan(repo, [_app(repo, candidates=[loop, broken])])
    assert plan.actions == ()
    assert "symbolic link loop" in plan.unfixed[0].reason
    assert "broken symbolic link" in plan.unfixed[0].reason
    with pytest.raises(PlanError, match="symbolic link loop"):
        _plan(repo, [_app(repo, candidates=[loop])], "paths.bind.app.0=copy:1")


def test_target_behind_a_symlink_loop_is_refused(repo: Path) -> None:
    (repo / "proj" / "cfg").symlink_to("cfg")
    c = check("paths.bind.app.0", repo / "proj" / "cfg" / "app.conf",
              candidates=[repo / "conf" / "app.conf"])
    plan = _plan(repo, [c])
    assert plan.actions == ()
    assert "symbolic link loop" in plan.unfixed[0].reason


def test_two_findings_same_target_make_one_action(repo: Path) -> None:
    a = _app(repo)
    b = check("paths.bind.other.0", repo / "proj" / "app.conf", candidates=[repo / "conf" / "app.conf"])
    plan = _plan(repo, [a, b])
    (action,) = plan.actions
    assert action.finding_ids == ("paths.bind.app.0", "paths.bind.other.0")
    with pytest.raises(PlanError, match="different choices"):
        _plan(repo, [a, b], "paths.bind.app.0=copy", "paths.bind.other.0=symlink")
    # An explicit choice wins over the other finding's default.
    plan = _plan(repo, [a, b], "paths.bind.other.0=symlink")
    (action,) = plan.actions
    assert action.kind == "symlink" and set(action.finding_ids) == {"paths.bind.app.0", "paths.bind.other.0"}


def test_replace_dir_only_for_an_empty_directory(repo: Path) -> None:
    target = repo / "proj" / "app.conf"
    target.mkdir()
    c = _app(repo, problem="dir_instead_of_file", dir_empty=True)
    assert _plan(repo, [c]).actions[0].kind == "replace_dir"
    (target / "keep.txt").write_text("data\n")
    c = _app(repo, problem="dir_instead_of_file", dir_empty=False)
    plan = _plan(repo, [c])
    assert plan.actions == () and "will not remove" in plan.unfixed[0].reason
    with pytest.raises(PlanError, match="will not remove"):
        _plan(repo, [c], "paths.bind.app.0=replace_dir")


def test_template_for_the_env_file(repo: Path) -> None:
    (repo / ".env.example").write_text("# comment\nA=1\n")
    env = Check(id="env.file.missing", area="env", severity="error", status="fail", title="no .env",
                path=str(repo / "proj" / ".env"), data=(("template", str(repo / ".env.example")),))
    (action,) = _plan(repo, [env]).actions
    assert (action.kind, action.source) == ("template", str(repo / ".env.example"))


def test_pass_and_other_areas_are_ignored(repo: Path) -> None:
    ok = check("paths.bind.ok.0", repo / "conf" / "app.conf", status=PASS)
    other = Check(id="env.unset.X", area="env", severity="error", status="fail", title="x")
    plan = _plan(repo, [ok, other])
    assert plan.findings == () and plan.actions == ()


@pytest.mark.parametrize("choice,message", [
    ("nonsense", "expected FINDING_ID=OPTION"),
    ("paths.bind.app.0=frobnicate", "unknown option"),
    ("paths.bind.app.0=mkdir:1", "takes no candidate"),
])
def test_bad_choice_syntax(choice: str, message: str) -> None:
    with pytest.raises(PlanError, match=message):
        parse_choice(choice)


@pytest.mark.parametrize("choice,message", [
    ("paths.bind.nope.0=copy", "no such finding"),
    ("paths.bind.app.0=copy:7", "1 candidate"),
    ("paths.bind.app.0=template", "not an option"),
    ("paths.bind.app.0=mkdir", "not an option"),
])
def test_choice_that_does_not_fit(repo: Path, choice: str, message: str) -> None:
    with pytest.raises(PlanError, match=message):
        _plan(repo, [_app(repo)], choice)


def test_choose_a_path_of_your_own(repo: Path) -> None:
    own = repo / "conf" / "other name.conf"
    own.write_text("mine\n")
    plan = _plan(repo, [_app(repo)], f"paths.bind.app.0=rewrite:{own}")
    assert plan.actions[0].edits[0].new_text == "../conf/other name.conf"
    plan = _plan(repo, [_app(repo)], "paths.bind.app.0=copy:conf/other name.conf")
    assert plan.actions[0].source == str(own)


def test_dollar_in_new_path_is_escaped_for_compose(repo: Path) -> None:
    own = repo / "conf" / "price$1.conf"
    own.write_text("x\n")
    plan = _plan(repo, [_app(repo)], f"paths.bind.app.0=rewrite:{own}")
    assert plan.actions[0].edits[0].new_text == "../conf/price$$1.conf"


def test_windows_style_reference_is_rewritten(repo: Path) -> None:
    compose = repo / "proj" / "compose.yml"
    compose.write_text("services:\n  app:\n    volumes:\n      - 'C:\\data\\app.conf:/etc/app.conf:ro'\n")
    c = check("paths.bind.app.0", repo / "proj" / "C:\\data\\app.conf", file=compose, line=4,
              column=9, raw="C:\\data\\app.conf")
    plan = _plan(repo, [c], "paths.bind.app.0=rewrite:conf/app.conf")
    (action,) = plan.actions
    assert action.edits[0].old_text == "C:\\data\\app.conf"
    assert "+      - '../conf/app.conf:/etc/app.conf:ro'\n" in action.diff
