"""The policy tests run on the demo catalog with the demo city's first eight policies only
(老年综合津贴 ×4, the two disability subsidies, 低收入医疗救助, 退役军人优待证), so what they
assert about who is found, granted and told does not move when the city adds policies; the
whole demo catalog is checked by tongban/demo/tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

DEMO = Path(__file__).resolve().parents[2] / "demo" / "definitions"
FIRST_EIGHT = {
    *(f"SH-MZJ-P00{n}" for n in range(1, 7)),
    "SH-TYJ-P001",
    "SH-YBJ-P001",
}


def demo_definitions(folder: Path, keep: set[str] = FIRST_EIGHT) -> Path:
    """A copy of the demo definitions in FOLDER with only the policies in KEEP."""
    shutil.copytree(DEMO, folder)
    for path in (folder / "policies").iterdir():
        if path.stem not in keep:
            path.unlink()
    # The lexicon's words for the policies taken out go with them, as an operator removing a
    # policy would (the loader refuses words for a policy it does not have).
    words = folder / "lexicon" / "policies.yaml"
    if words.exists():
        data = yaml.safe_load(words.read_text(encoding="utf-8"))
        data["policies"] = [p for p in data.get("policies", []) if p["code"] in keep]
        words.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def eight_policies(tmp_path_factory) -> Path:
    return demo_definitions(tmp_path_factory.mktemp("catalog") / "definitions")
