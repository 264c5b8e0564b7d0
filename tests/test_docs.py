"""The documents say what the code does: keys, settings and commands are checked, not trusted."""

import re
from pathlib import Path

from assistant.cli import build_parser
from assistant.guidelines import GUIDELINE_KEYS

ROOT = Path(__file__).resolve().parents[1]


def test_every_guideline_key_is_documented_and_nothing_else():
    text = (ROOT / "docs" / "formats.md").read_text()
    section = text.split("## Client guidelines", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE)) - {"name"}
    assert documented == set(GUIDELINE_KEYS)


def test_readme_settings_are_the_ones_the_code_reads():
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `((?:TENTHS|OPENAI)_[A-Z_]+)` \|", readme, flags=re.MULTILINE))
    sources = [*(ROOT / "assistant").rglob("*.py"), ROOT / "app.py", *(ROOT / "ui").glob("*.py")]
    code = {name for p in sources for name in re.findall(r"\b((?:TENTHS|OPENAI)_[A-Z_]*[A-Z])\b", p.read_text())}
    assert documented == code


def test_readme_documents_every_command_and_the_ci_test_command():
    readme = (ROOT / "README.md").read_text()
    commands = build_parser()._subparsers._group_actions[0].choices
    for name in commands:
        assert f"`tenths {name}" in readme, name
    ci = (ROOT / ".ci" / "run").read_text()
    test_command = re.search(r"pip install -q -e \"\.\[test\]\" && python -m pytest", ci).group(0)
    assert test_command in readme
