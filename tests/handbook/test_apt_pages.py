"""The apt commands the pin, upgrade and prevention pages tell a reader to type are the ones the
apt-pin runbook executed, and its outputs show what the pages say apt does.

Every apt command in the pages' bash blocks (``apt-get``, ``apt-cache``, ``apt-mark``, a
``/etc/apt/`` file and its here-document), without ``sudo`` and its trailing comment, must
appear in ``build/executed/apt-pin.ipynb`` as an echoed command (``$ …``), so a page cannot
show a command the runbook did not run. ``./dev.sh test`` executes the runbooks first.
"""

from __future__ import annotations

import re
from pathlib import Path

import executed
import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [
    "fixes/pin-docker-24.md", "fixes/pin-docker-24.en.md",
    "fixes/upgrade-docker.md", "fixes/upgrade-docker.en.md",
    "prevention.md", "prevention.en.md",
]
FENCE = re.compile(r"^(?P<indent>[ \t]*)```bash\n(?P<body>.*?)^(?P=indent)```", re.S | re.M)
APT = re.compile(r"^(apt-get|apt-cache|apt-mark)\b|/etc/apt/|^v='5:")
COMMENT = re.compile(r"\s+#\s.*$")
HEREDOC = re.compile(r"<<-?\s*(['\"]?)(\w+)\1\s*$")


def outputs() -> str:
    """All text the executed apt-pin runbook printed, in cell order."""
    return executed.printed("apt-pin")


def apt_commands(markdown: str) -> list[str]:
    """The apt commands of ``markdown``'s bash blocks, as a root shell would take them: a
    command with its here-document body is one entry, lines joined with newlines."""
    found: list[str] = []
    for block in FENCE.finditer(markdown):
        indent = block.group("indent")
        lines = [line.removeprefix(indent) for line in block.group("body").splitlines()]
        i = 0
        while i < len(lines):
            line = COMMENT.sub("", lines[i].strip()).removeprefix("sudo ")
            i += 1
            if not APT.search(line):
                continue
            opener = HEREDOC.search(line)
            if opener:
                end = lines.index(opener.group(2), i)
                line = "\n".join([line, *lines[i:end + 1]])
                i = end + 1
            found.append(line)
    return found


def test_apt_commands_finds_commands_heredocs_and_drops_sudo_and_comments() -> None:
    page = (
        "text\n\n    ```bash\n    sudo apt-mark hold docker-ce   # keep it\n"
        "    docker version\n    sudo tee /etc/apt/preferences.d/x <<'EOF'\n"
        "    Pin: version 5:24.0.7*\n    EOF\n    ```\n\n```bash\nkind load docker-image x\n```\n"
    )
    assert apt_commands(page) == [
        "apt-mark hold docker-ce",
        "tee /etc/apt/preferences.d/x <<'EOF'\nPin: version 5:24.0.7*\nEOF",
    ]


@pytest.mark.parametrize("page", PAGES)
def test_page_apt_commands_were_executed_by_the_runbook(page: str) -> None:
    commands = apt_commands((ROOT / "docs" / page).read_text(encoding="utf-8"))
    assert len(commands) >= 3, f"{page}: the apt steps are gone or no longer parsed"
    executed = outputs()
    missing = [c for c in commands if f"$ {c}\n" not in executed]
    assert not missing, f"{page} shows apt commands the apt-pin runbook did not run: {missing}"


def test_pages_in_both_languages_show_the_same_apt_commands() -> None:
    for zh in PAGES[::2]:
        en = zh.removesuffix(".md") + ".en.md"
        assert apt_commands((ROOT / "docs" / zh).read_text(encoding="utf-8")) == \
            apt_commands((ROOT / "docs" / en).read_text(encoding="utf-8"))


# What the pages say apt does, as the runbook's real apt printed it.
CLAIMS = [
    "The following packages have been kept back:\n  docker-ce docker-ce-cli\n",
    "E: Held packages were changed and -y was used without --allow-change-held-packages.\n"
    "exit status: 100\n",
    " *** 5:24.0.9-1~debian.12~bookworm 1001\n",
    "Candidate: 5:24.0.9-1~debian.12~bookworm\n",
    "docker-ce is already the newest version (5:24.0.9-1~debian.12~bookworm).\n",
    "docker-ce was already not on hold.\n",
    "Unpacking docker-ce (5:29.8.1-1~debian.12~bookworm) over (5:24.0.9-1~debian.12~bookworm)",
    "$ dockerd --version\nDocker version 24.0.9, build v24.0.9\n",
    "$ dockerd --version\nDocker version 29.8.1, build",
]


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.split("\n")[0][:40])
def test_runbook_outputs_show_what_the_pages_say_apt_does(claim: str) -> None:
    assert claim in outputs()
