"""Shared fixtures: the seed corpus built once per session, a real Chromium, a folder for screenshots."""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from corpus_site.build import build
from helpers import ROOT, SEEDS

if TYPE_CHECKING:
    from playwright.sync_api import Browser

# Hypothesis imports libcst to write a patch for a failing example, and libcst trips a DeprecationWarning
# that filterwarnings=error turns into a pytest INTERNALERROR hiding the failure: import it quietly now.
with warnings.catch_warnings(), contextlib.suppress(ImportError):
    warnings.simplefilter("ignore")
    import hypothesis.extra._patching  # noqa: F401

CHROMIUM = Path("/usr/bin/chromium")
# Debian's Chromium, not Playwright's download; no first-run or background traffic that could leave the machine.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTALL_HINT = "run `make test` (installs Chromium, vnu-jar and java)"


@pytest.fixture(scope="session")
def seed_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built from /work/main/seeds, once per session; treat it as read-only."""
    out = tmp_path_factory.mktemp("seed-site") / "site"
    build(SEEDS, out)
    return out


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Chromium from Debian's package, driven by Playwright's sync API."""
    if not CHROMIUM.is_file() or not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing; {INSTALL_HINT}")
    try:
        from playwright.sync_api import sync_playwright  # imported here so tests without a browser never need it
    except ImportError:
        pytest.fail(f"playwright is not installed; {INSTALL_HINT}")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """test-artifacts/ at the top of the checkout (gitignored), for screenshots a person can look at."""
    folder = ROOT / "test-artifacts"
    folder.mkdir(exist_ok=True)
    return folder
