"""The committed API code in corral/api/v1 is exactly what proto/ generates."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_generated_api_code_matches_the_protos(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(ROOT / "proto" / "generate.py"), str(tmp_path)], check=True)
    generated = tmp_path / "corral" / "api" / "v1"
    fresh = {p.relative_to(tmp_path): p.read_bytes() for p in generated.iterdir()}
    committed = {
        p.relative_to(ROOT): p.read_bytes()
        for p in (ROOT / "corral" / "api" / "v1").iterdir()
        if p.is_file()
    }
    stale = sorted(str(name) for name in fresh if committed.get(name) != fresh[name])
    extra = sorted(str(name) for name in committed if name not in fresh)
    assert not stale and not extra, (
        f"corral/api/v1 is out of date with proto/ (stale: {stale}, not generated: {extra}); "
        "run `make proto` and commit the result"
    )
