"""The one bounded reader (`toolbox_tui.safe_read`) on real files, FIFOs, devices and links."""

from __future__ import annotations

import hashlib
import io
import os
import socket

import pytest

from toolbox_tui import safe_read as sr

SMALL = sr.Kind("test file", 16, "make it smaller")


def test_reads_a_regular_file(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"\xef\xbb\xbfhello")
    assert sr.read_bytes(p, SMALL) == b"\xef\xbb\xbfhello"
    assert sr.read_text(p, SMALL) == "hello"


def test_too_large_is_refused_naming_the_file(tmp_path):
    p = tmp_path / "big"
    p.write_bytes(b"x" * 17)
    with pytest.raises(sr.ReadRefused) as ei:
        sr.read_bytes(p, SMALL)
    assert str(p) in ei.value.message and "refusing files over 16 bytes" in ei.value.message
    assert ei.value.hint == "make it smaller" and ei.value.file == str(p)


@pytest.mark.parametrize("what", ["fifo", "dev", "dir", "socket"])
def test_non_regular_files_are_refused_without_blocking(tmp_path, what):
    p = tmp_path / "x"
    if what == "fifo":
        os.mkfifo(p)  # no writer: a blocking open would wait forever
        word = "FIFO"
    elif what == "dev":
        p.symlink_to("/dev/zero")
        word = "character device"
    elif what == "dir":
        p.mkdir()
        word = "directory"
    else:
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(p))
        word = "socket"
    with pytest.raises(sr.ReadRefused) as ei:
        sr.read_bytes(p, SMALL)
    assert word in ei.value.message and "not a regular file" in ei.value.message
    assert sr.sha256_file(p) is None and not sr.is_regular(p)


def test_symlink_refused_where_none_is_expected(tmp_path):
    (tmp_path / "real").write_bytes(b"x")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert sr.read_bytes(tmp_path / "link", SMALL) == b"x"
    with pytest.raises(sr.ReadRefused, match="symbolic link"):
        sr.read_bytes(tmp_path / "link", SMALL, follow=False)
    assert sr.sha256_file(tmp_path / "link", follow=False) is None


def test_missing_file(tmp_path):
    with pytest.raises(sr.ReadRefused, match="does not exist"):
        sr.read_bytes(tmp_path / "nope", SMALL)
    assert sr.sha256_file(tmp_path / "nope") is None


def test_sha256_is_streamed_and_correct(tmp_path):
    p = tmp_path / "f"
    data = os.urandom(3 * 1024 * 1024 + 7)
    p.write_bytes(data)
    assert sr.sha256_file(p) == hashlib.sha256(data).hexdigest()


def test_read_stream_stops_at_the_limit():
    assert sr.read_stream(io.BytesIO(b"x" * 16), SMALL, "stdin") == b"x" * 16
    with pytest.raises(sr.ReadRefused, match="stdin gave more than 16 bytes"):
        sr.read_stream(io.BytesIO(b"x" * 10_000), SMALL, "stdin")


def test_resolves_outside(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    (root / "in").write_text("x")
    (root / "out").symlink_to("/etc/hostname")
    assert not sr.resolves_outside(root / "in", root)
    assert sr.resolves_outside(root / "out", root)
    assert sr.resolves_outside(tmp_path / "repo2", root)
