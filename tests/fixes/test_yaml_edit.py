"""In-place scalar rewrite: only the scalar's characters change, everything else stays byte-exact."""

from __future__ import annotations

import yaml
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from toolbox_tui.fixes.yaml_edit import (EditError, ScalarEdit, rewrite_scalar, rewrite_scalars,
                                   scalar_at, volume_src_length)

DOC = """\
# Compose file with everything that must survive an edit.
x-conf: &conf './config/redis.conf'   # the anchor
services:
  redis:   # keep me
    image: busybox
    volumes:
      - ./config/redis.conf:/etc/redis.conf:ro  # plain short syntax
      - 'C:\\data\\r.conf:/etc/r.conf'
      - "./with \\"quotes\\":/q"

      - type: bind
        source: *conf
        target: /etc/x
    command: [sh, "-c", ./run.sh]
    env_file:
      - ./.env   # trailing comment
"""


def _find(doc: str, needle: str) -> tuple[int, int]:
    for i, line in enumerate(doc.splitlines(), 1):
        col = line.find(needle)
        if col >= 0:
            return i, col + 1
    raise AssertionError(needle)


def _changed_span(old: bytes, new: bytes) -> tuple[bytes, bytes, bytes]:
    """Common prefix, and the differing middles of old and new."""
    p = 0
    while p < min(len(old), len(new)) and old[p] == new[p]:
        p += 1
    s = 0
    while s < min(len(old), len(new)) - p and old[-1 - s] == new[-1 - s]:
        s += 1
    return old[:p], old[p:len(old) - s], new[p:len(new) - s]


def test_plain_short_volume_only_source_changes() -> None:
    line, col = _find(DOC, "./config/redis.conf:/etc")
    out = rewrite_scalar(DOC.encode(), line, col, "../redis.conf", volume_src=True)
    assert out.decode() == DOC.replace("./config/redis.conf:/etc/redis.conf:ro",
                                       "../redis.conf:/etc/redis.conf:ro")
    assert yaml.safe_load(out)["services"]["redis"]["volumes"][0] == "../redis.conf:/etc/redis.conf:ro"


def test_anchor_is_edited_at_the_anchor_and_alias_follows() -> None:
    line, col = _find(DOC, "&conf")
    out = rewrite_scalar(DOC.encode(), line, col, "./elsewhere/r.conf")
    assert b"x-conf: &conf './elsewhere/r.conf'   # the anchor\n" in out
    data = yaml.safe_load(out)
    assert data["services"]["redis"]["volumes"][3]["source"] == "./elsewhere/r.conf"
    # The location of the scalar itself (after the anchor) is accepted too.
    line, col = _find(DOC, "'./config/redis.conf'")
    assert rewrite_scalar(DOC.encode(), line, col, "./elsewhere/r.conf") == out


def test_single_quoted_escapes_and_windows_drive() -> None:
    line, col = _find(DOC, "'C:\\")
    out = rewrite_scalar(DOC.encode(), line, col, "D:\\it's\\x.conf", volume_src=True)
    assert "'D:\\it''s\\x.conf:/etc/r.conf'" in out.decode()
    assert yaml.safe_load(out)["services"]["redis"]["volumes"][1] == "D:\\it's\\x.conf:/etc/r.conf"


def test_double_quoted_keeps_tail_escapes() -> None:
    line, col = _find(DOC, '"./with')
    out = rewrite_scalar(DOC.encode(), line, col, 'C:\\new "q"', volume_src=True)
    assert '"C:\\\\new \\"q\\":/q"' in out.decode()
    assert yaml.safe_load(out)["services"]["redis"]["volumes"][2] == 'C:\\new "q":/q'


@pytest.mark.parametrize("new", ["./a: b", "./a #b", "#x", "@x", "'quoted", "&x", "*y", "! z",
                                 "true", "123", "~", "", " lead", "trail ", "a\tb", "- x"])
def test_plain_switches_to_quotes_when_needed(new: str) -> None:
    line, col = _find(DOC, "./.env")
    out = rewrite_scalar(DOC.encode(), line, col, new)
    assert yaml.safe_load(out)["services"]["redis"]["env_file"] == [new]
    assert out.endswith(b"   # trailing comment\n")


def test_flow_sequence_plain_with_comma_gets_quoted() -> None:
    line, col = _find(DOC, "./run.sh")
    out = rewrite_scalar(DOC.encode(), line, col, "./a,b]")
    assert yaml.safe_load(out)["services"]["redis"]["command"] == ["sh", "-c", "./a,b]"]
    assert "command: [sh, \"-c\", './a,b]']" in out.decode()


def test_crlf_bom_and_blank_lines_preserved() -> None:
    data = b"\xef\xbb\xbf" + DOC.replace("\n", "\r\n").encode()
    line, col = _find(DOC, "./config/redis.conf:/etc")
    out = rewrite_scalar(data, line, col, "./new dir/\u00fcber.conf", volume_src=True)
    assert out.startswith(b"\xef\xbb\xbf")
    assert out == data.replace(b"./config/redis.conf:/etc/redis.conf:ro",
                               "./new dir/\u00fcber.conf:/etc/redis.conf:ro".encode())
    assert out.count(b"\r\n") == data.count(b"\r\n") and b"\n" not in out.replace(b"\r\n", b"")


def test_several_edits_on_one_line() -> None:
    doc = "a: [./x, './y', \"./z\"]  # c\n"
    edits = [ScalarEdit(1, 5, "./1"), ScalarEdit(1, 10, "./2 it's"), ScalarEdit(1, 17, "./3")]
    out = rewrite_scalars(doc.encode(), edits)
    assert out == b"a: [./1, './2 it''s', \"./3\"]  # c\n"


def test_scalar_at_and_tags() -> None:
    doc = "services: !reset\n  a: !override\n    volumes: ['./v:/v']\n"
    assert scalar_at(doc.encode(), 3, 15) == ("./v:/v", "'")
    out = rewrite_scalar(doc.encode(), 3, 15, "./w", volume_src=True)
    assert out == doc.replace("./v:/v", "./w:/v").encode()


@pytest.mark.parametrize("doc,line,col,message", [
    ("a: |\n  ./x\n", 1, 4, "block scalar"),
    ("a: >-\n  ./x\n", 1, 4, "block scalar"),
    ("a: \"./x\n  y\"\n", 1, 4, "spans several lines"),
    ("a: ./x\n  ./y\n", 1, 4, "spans several lines"),
    ("a: ./x\n", 1, 2, "no YAML value starts"),
    ("a:\n  b: c\n", 2, 3, "mapping or list"),
])
def test_refusals(doc: str, line: int, col: int, message: str) -> None:
    with pytest.raises(EditError, match=message) as info:
        rewrite_scalar(doc.encode(), line, col, "./new")
    assert info.value.line == line


def test_invalid_yaml_and_utf8_are_errors() -> None:
    with pytest.raises(EditError, match="cannot parse"):
        rewrite_scalar(b"a: [\n", 1, 4, "x")
    with pytest.raises(EditError, match="UTF-8"):
        rewrite_scalar(b"a: \xff\n", 1, 4, "x")


@pytest.mark.parametrize("value,n", [
    ("./a:/b", 3), ("./a:/b:ro", 3), ("C:\\x\\y:/z", 6), ("c:/x:/z", 4), ("${HOME:-/h}/a:/b", 13),
    ("$${X}:/b", 5), ("./only", 6), ("a", 1),
])
def test_volume_src_length(value: str, n: int) -> None:
    assert volume_src_length(value) == n


# --- property: round trip on generated paths ----------------------------------------------------

_CHARS = st.sampled_from(list("abcXYZ019 ./-_#:'\"\\$@!&*{}[],%") + ["\u00fc", "\u00e9", "\u6f22", "\U0001F600", "\t"])
_PATHS = st.one_of(
    st.text(_CHARS, min_size=1, max_size=24),
    st.builds(lambda d, rest: f"{d}:\\{rest}", st.sampled_from("CDz"),
              st.text(st.sampled_from(list("ab \\x.y'\"#\u00fc")), max_size=12)),
)
_TEMPLATES = [
    ("services:\n  s:\n    volumes:\n      - {v}   # c\n", "./old:/dst:ro", True),
    ("services:\n  s:\n    volumes:\n      - '{v}'\n", "./old:/dst", True),
    ('services:\n  s:\n    volumes:\n      - "{v}"  # c\n', "./old:/dst", True),
    ("x: &a {v}  # anchor\nservices:\n  s:\n    volumes:\n      - source: *a\n", "./old", False),
    ("services:\n  s:\n    env_file: [{v}, ./b]\n", "./old", False),
    ("k: v\r\nservices:\r\n  s:\r\n    secrets_file: '{v}'\r\n\r\n# end\r\n", "./old", False),
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_TEMPLATES), _PATHS)
def test_round_trip_generated_paths(template, new: str) -> None:
    text, old_value, volume = template
    doc = text.format(v=old_value)
    data = doc.encode()
    line, col = _find(doc, old_value)
    if doc.splitlines()[line - 1][col - 2] in "'\"":
        col -= 1  # the scalar starts at its opening quote
    if volume:
        assume(":" not in (new[2:] if len(new) > 1 and new[1] == ":" and new[0].isalpha() else new))
        assume(not (len(new) == 1 and new.isalpha()))  # Compose reads `a:/dst` as a drive letter
        assume("${" not in new)  # an unclosed `${` swallows the `:` (the planner writes `$$`)
    try:
        out = rewrite_scalar(data, line, col, new, volume_src=volume)
    except EditError as exc:  # only acceptable for text YAML cannot hold on one line at all
        raise AssertionError(f"refused {new!r}: {exc}") from None
    expected_value = new + old_value[len("./old"):] if volume else new
    old_doc = yaml.safe_load(data)
    new_doc = yaml.safe_load(out)

    def swap(obj):
        if isinstance(obj, dict):
            return {k: swap(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [swap(v) for v in obj]
        return expected_value if obj == old_value else obj

    assert new_doc == swap(old_doc)
    prefix, old_mid, _ = _changed_span(data, out)
    # Only bytes of the scalar itself changed: the span lies within the old scalar's line.
    first = data.find(old_value.encode()) - 1  # allow the opening quote to change
    assert len(prefix) >= first
    assert len(prefix) + len(old_mid) <= data.find(old_value.encode()) + len(old_value) + 1
    if volume:
        value = new_doc["services"]["s"]["volumes"][0]
        assert value[:volume_src_length(value)] == new
    # Writing the original back restores the original bytes when the style did not change.
    back = rewrite_scalar(out, line, col, "./old", volume_src=volume)
    if scalar_at(out, line, col)[1] == scalar_at(data, line, col)[1]:
        assert back == data
