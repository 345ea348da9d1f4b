"""The README stays short, and every page it hands the rest to is reachable and links correctly."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

REPO_ROOT = Path(__file__).resolve().parents[1]
README = REPO_ROOT / "README.md"
README_MAX_LINES = 200

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", flags=re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]*`")


def _pages() -> list[Path]:
    top = [README, REPO_ROOT / "CONTRIBUTING.md", REPO_ROOT / "CHANGELOG.md"]
    return [*top, *sorted((REPO_ROOT / "docs").rglob("*.md"))]


def _prose(page: Path) -> str:
    """The page without code blocks and code spans (their brackets are command syntax, not links)."""
    return CODE_SPAN.sub("", FENCE.sub("", page.read_text(encoding="utf-8")))


def _links(page: Path) -> list[str]:
    return [target for target in LINK.findall(_prose(page)) if not re.match(r"[a-z]+:", target)]


def heading_anchors(page: Path) -> set[str]:
    """The `#anchors` GitHub gives the page's headings: lower case, punctuation dropped, spaces to hyphens."""
    anchors: set[str] = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *$", FENCE.sub("", page.read_text(encoding="utf-8")), re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        candidate, n = slug, 0
        while candidate in anchors:
            n += 1
            candidate = f"{slug}-{n}"
        anchors.add(candidate)
    return anchors


def test_heading_anchors_follow_githubs_rule():
    page = REPO_ROOT / "docs" / "troubleshooting.md"
    anchors = heading_anchors(page)
    assert "ctrlc-and-sigterm" in anchors  # "Ctrl+C and SIGTERM"
    assert "without-an-nvidia-gpu" in anchors


def test_readme_is_short():
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; move detail to docs/"


def test_every_relative_link_and_anchor_resolves():
    broken = []
    for page in _pages():
        for target in _links(page):
            path_part, _, anchor = target.partition("#")
            resolved = (page.parent / unquote(path_part)).resolve() if path_part else page
            if not resolved.exists():
                broken.append(f"{page.relative_to(REPO_ROOT)}: {target} (no such file)")
            elif anchor and resolved.suffix == ".md" and anchor not in heading_anchors(resolved):
                broken.append(f"{page.relative_to(REPO_ROOT)}: {target} (no such heading)")
    assert not broken, "\n".join(broken)


def test_every_docs_page_is_reachable_from_the_readme():
    seen, todo = set(), [README]
    while todo:
        page = todo.pop()
        if page in seen:
            continue
        seen.add(page)
        for target in _links(page):
            path_part = target.partition("#")[0]
            linked = (page.parent / unquote(path_part)).resolve()
            if path_part.endswith(".md") and linked.is_file():
                todo.append(linked)
    pages = {p.resolve() for p in _pages()}
    unreachable = sorted(str(p.relative_to(REPO_ROOT)) for p in pages - seen)
    assert not unreachable, f"not linked from the README (directly or through a linked page): {unreachable}"
