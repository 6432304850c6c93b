"""The page's files, read once from the package: only names found there are ever served.

Looking a request up in a fixed table (never joining it onto a directory) means no path can
reach outside the static directory, whatever dots, slashes or encodings it carries.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".txt": "text/plain; charset=utf-8",
}
MAX_FILES = 200


class StaticFiles:
    """Relative name -> (content type, bytes) for every file under ``static/``."""

    def __init__(self, package: str = "headwater.dashboard", directory: str = "static") -> None:
        self.files: dict[str, tuple[str, bytes]] = {}
        self._add(resources.files(package) / directory, "")

    def _add(self, folder: Traversable, prefix: str) -> None:
        for entry in folder.iterdir():
            name = prefix + entry.name
            if entry.is_dir():
                self._add(entry, name + "/")
                continue
            content_type = CONTENT_TYPES.get("." + entry.name.rpartition(".")[2])
            if content_type is not None and len(self.files) < MAX_FILES:
                self.files[name] = (content_type, entry.read_bytes())

    def get(self, name: str) -> tuple[str, bytes] | None:
        return self.files.get(name)
