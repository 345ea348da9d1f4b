"""The README's set-up commands are the ones CI runs."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_test_command():
    ci_command = (REPO_ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    readme = (REPO_ROOT / "README.md").read_text()
    assert ci_command in readme


def test_readme_has_exactly_two_setup_commands():
    readme = (REPO_ROOT / "README.md").read_text()
    setup = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    commands = [line for line in setup.splitlines() if line.startswith("python3 -m venv .venv")]
    assert len(commands) == 2
    assert any("protolabel" in c and "pytest" not in c for c in commands)
