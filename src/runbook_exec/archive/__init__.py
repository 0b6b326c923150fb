"""docker-save archives: the typed model, a safe streaming reader and an atomic writer.

>>> from runbook_exec.archive import open_archive
>>> with open_archive("images.tar") as reader:
...     print(reader.layout)
"""

from .model import Descriptor, Image, Layer, Platform
from .reader import ArchiveReader, Layout, open_archive

__all__ = ["ArchiveReader", "Descriptor", "Image", "Layer", "Layout", "Platform", "open_archive"]
