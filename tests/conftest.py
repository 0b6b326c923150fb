"""Suite-wide ordering."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Playwright's sync API keeps an asyncio loop running in the main thread from the first
    # browser test until the session ends; the executor drives its own loop and cannot run
    # inside another. So the browser suite goes last.
    browser = [item for item in items if "tests/browser/" in item.nodeid.replace("\\", "/")]
    items[:] = [item for item in items if item not in browser] + browser
