"""The mkdocs plugin that puts the one-file doctor on the site (see :mod:`.zipapp`)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import File, Files

from .zipapp import build


class DownloadPlugin(BasePlugin):  # type: ignore[type-arg,no-untyped-call]
    """mkdocs plugin ``kind-doctor-download``: at every site build, builds the zipapp from
    this checkout (with the site's ``site_url``) and adds it to the site as
    ``downloads/kind-doctor.pyz``, a file the doctor pages link to (a site file, so strict
    link checking sees it)."""

    PATH = "downloads/kind-doctor.pyz"

    def __init__(self) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def on_files(self, files: Files, /, *, config: MkDocsConfig) -> Files:
        # a real source file (in a temp dir kept until the build ends): static-i18n expects
        # every file to have a source path
        self._tmp = tempfile.TemporaryDirectory(prefix="kind-doctor-")
        src = Path(self._tmp.name)
        build(src / self.PATH, config.site_url)
        files.append(File(self.PATH, str(src), config.site_dir, config.use_directory_urls))
        return files

    def on_post_build(self, *, config: MkDocsConfig) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
