"""The mkdocs plugin that puts the one-file doctor on the site (see :mod:`.zipapp`)."""

from __future__ import annotations

from pathlib import Path

from mkdocs.plugins import BasePlugin

from .zipapp import build


class DownloadPlugin(BasePlugin):  # type: ignore[type-arg]
    """mkdocs plugin ``kind-doctor-download``: at every site build, builds the zipapp from
    this checkout (with the site's ``site_url``) and adds it to the site as
    ``downloads/kind-doctor.pyz``, a file the doctor pages link to (a site file, so strict
    link checking sees it)."""

    PATH = "downloads/kind-doctor.pyz"

    def on_files(self, files: object, config: object) -> object:
        import tempfile

        from mkdocs.structure.files import File

        # a real source file (in a temp dir kept until the build ends): static-i18n expects
        # every file to have a source path
        self._tmp = tempfile.TemporaryDirectory(prefix="kind-doctor-")
        src = Path(self._tmp.name)
        build(src / self.PATH, config["site_url"])  # type: ignore[index]
        files.append(File(self.PATH, str(src), config["site_dir"],  # type: ignore[attr-defined,index]
                          config["use_directory_urls"]))  # type: ignore[index]
        return files

    def on_post_build(self, config: object) -> None:
        tmp = getattr(self, "_tmp", None)
        if tmp is not None:
            tmp.cleanup()
            self._tmp = None
