"""Where the repository is: one `repo_url`, linked from every page, fetched from nowhere.

Material's own repository widget asks the forge's API for stars and forks on every page load
(its `data-md-component="source"` mark); `overrides/partials/source.html` keeps the link and
drops the mark. The browser suite counts every request that would leave 127.0.0.1.
"""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _config() -> dict:  # type: ignore[type-arg]
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda *_: None)
    return yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=Loader)  # type: ignore[no-any-return]  # noqa: S506


def test_repo_url_is_configured_once() -> None:
    config = _config()
    url = config["repo_url"]
    assert url.startswith("https://")
    assert config["edit_uri"] == ""
    # written nowhere else in the pages or the README: they point at the site's header link
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        assert url not in path.read_text(encoding="utf-8"), path


def test_every_page_links_the_repository_without_the_stars_widget(built_site: Path) -> None:
    url = _config()["repo_url"]
    pages = sorted(built_site.rglob("*.html"))
    assert pages
    for page in pages:
        html = page.read_text(encoding="utf-8")
        if 'class="md-header' not in html:
            continue  # redirects and fragments have no header
        assert f'href="{url}"' in html, page
        assert 'data-md-component="source"' not in html, page
