"""Serve a chosen few files of node_modules as static files.

Front-end packages come from npm (never a CDN); collecting whole package folders would copy tens of
megabytes and trip the manifest storage on stylesheets we never use, so settings.NPM_STATIC_FILES
names each file: {static name: path under node_modules}.
"""

from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.finders import BaseFinder
from django.core.checks import Warning as CheckWarning
from django.core.files.storage import FileSystemStorage


class NpmFinder(BaseFinder):
    def __init__(self, *args, **kwargs) -> None:
        root = Path(settings.BASE_DIR) / "node_modules"
        self.files = {name: root / path for name, path in settings.NPM_STATIC_FILES.items()}

    def check(self, **kwargs) -> list:
        # A production image collects the files and then drops node_modules: that is fine.
        collected = Path(settings.STATIC_ROOT)
        missing = [
            name
            for name, path in self.files.items()
            if not path.is_file() and not (collected / name).is_file()
        ]
        if not missing:
            return []
        return [
            CheckWarning(
                f"{len(missing)} front-end files are missing, e.g. {missing[0]}.",
                hint="Run `make assets` (npm ci) to install the front-end packages.",
                id="alliance.W001",
            )
        ]

    def find(self, path: str, find_all: bool = False, **kwargs):
        find_all = find_all or kwargs.get("all", False)
        source = self.files.get(path)
        found = str(source) if source is not None and source.is_file() else None
        if find_all:
            return [found] if found else []
        return found

    def list(self, ignore_patterns):
        for name, source in self.files.items():
            if source.is_file():
                storage = FileSystemStorage(location=str(source.parent))
                storage.prefix = str(Path(name).parent)
                yield source.name, storage
