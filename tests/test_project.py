"""The README's promises about the project itself."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _commands():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```\n(.+?)\n```", section)


def test_readme_gives_exactly_two_commands():
    commands = _commands()
    assert len(commands) == 2
    assert all("\n" not in command for command in commands)
    assert commands[0].endswith("skce compare")
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert _commands()[1] in ci


def test_main_job_is_the_command_line():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'skce = "skce._cli:main"' in pyproject


def test_examples_named_in_the_docs_exist_and_run_in_the_gallery():
    conf = (ROOT / "docs" / "conf.py").read_text()
    pattern = re.search(r'"filename_pattern": r"(.+?)"', conf).group(1)
    texts = [path.read_text() for path in (ROOT / "docs").glob("*.rst")]
    texts.append((ROOT / "README.md").read_text())
    named = set()
    for text in texts:
        named |= set(re.findall(r"examples/(\w+\.py)", text))
        named |= set(re.findall(r"sphx_glr_auto_examples_(\w+\.py)", text))
    assert named, "the docs name no example: the pattern is stale"
    for name in named:
        assert (ROOT / "examples" / name).is_file(), name
        assert re.search(pattern, f"/{name}"), f"{name} is not in the gallery"


def _calls(text, name):
    """The argument text of every ``name(...)`` call in ``text``."""
    for match in re.finditer(re.escape(name) + r"\(", text):
        depth, start = 1, match.end()
        for end in range(start, len(text)):
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            if depth == 0:
                yield text[start:end]
                break


def test_every_local_cluster_of_the_project_takes_a_free_dashboard_port():
    """A user's Dask holds 8787; ``dashboard_address=None`` still binds it
    (distributed 2026.8). Each cluster the code, tests, examples, benchmarks
    and docs start asks for a free port (placeholders ``(...)`` aside)."""
    files = [
        path
        for folder in ("skce", "tests", "examples", "benchmarks", "docs")
        for path in (ROOT / folder).rglob("*")
        if path.suffix in (".py", ".rst") and "_build" not in path.parts
    ]
    calls = [
        (path.name, args)
        for path in files
        for args in _calls(path.read_text(), "LocalCluster")
        if args.strip() not in ("", "...")
    ]
    assert len(calls) >= 4, calls
    for name, args in calls:
        assert 'dashboard_address=":0"' in args, (name, args)
