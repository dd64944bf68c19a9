"""The wheel a plain `pip install .` builds carries our templates and static files."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from helpers import ROOT


def test_the_wheel_ships_templates_and_static_files(tmp_path: Path) -> None:
    pip = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run([*pip, "-w", str(tmp_path), str(ROOT)], check=True)
    (wheel,) = tmp_path.glob("corpus_site-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for template in (ROOT / "templates").glob("*.html"):
        assert f"corpus_site/templates/{template.name}" in names
    for static in (ROOT / "static").iterdir():
        assert f"corpus_site/static/{static.name}" in names
    assert "corpus_site/py.typed" in names
    assert any(name.endswith("entry_points.txt") for name in names)
