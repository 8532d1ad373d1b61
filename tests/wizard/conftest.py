"""Fixtures the wizard's tests share."""

from __future__ import annotations

import pytest


@pytest.fixture
def no_keyring():
    """keyring without a usable backend (what an SSH box without a Secret Service has)."""
    import keyring
    from keyring.backends import fail

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)
