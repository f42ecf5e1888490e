from django.contrib.staticfiles import finders

from config.staticfinders import NpmFinder


def test_named_npm_files_are_found_and_listed_under_their_static_names(settings, tmp_path):
    source = tmp_path / "node_modules" / "pkg" / "dist" / "kit.min.css"
    source.parent.mkdir(parents=True)
    source.write_text("body{}")
    settings.BASE_DIR = tmp_path
    settings.NPM_STATIC_FILES = {"kit/css/kit.min.css": "pkg/dist/kit.min.css"}
    finder = NpmFinder()

    assert finder.find("kit/css/kit.min.css") == str(source)
    assert finder.find("kit/css/kit.min.css", find_all=True) == [str(source)]
    assert finder.find("pkg/dist/kit.min.css") is None  # node_modules paths are not exposed
    [(name, storage)] = list(finder.list(None))
    assert f"{storage.prefix}/{name}" == "kit/css/kit.min.css"
    assert finder.check() == []


def test_missing_packages_are_reported_with_the_command_that_installs_them(settings, tmp_path):
    settings.BASE_DIR = tmp_path
    settings.STATIC_ROOT = tmp_path / "staticfiles"
    settings.NPM_STATIC_FILES = {"kit/css/kit.min.css": "pkg/dist/kit.min.css"}
    finder = NpmFinder()
    assert finder.find("kit/css/kit.min.css") is None
    assert list(finder.list(None)) == []
    [warning] = finder.check()
    assert "make assets" in warning.hint


def test_the_finder_is_installed():
    assert any(isinstance(f, NpmFinder) for f in finders.get_finders())


def test_collected_files_satisfy_the_check_without_node_modules(settings, tmp_path):
    settings.BASE_DIR = tmp_path
    settings.STATIC_ROOT = tmp_path / "staticfiles"
    settings.NPM_STATIC_FILES = {"kit/css/kit.min.css": "pkg/dist/kit.min.css"}
    (tmp_path / "staticfiles" / "kit" / "css").mkdir(parents=True)
    (tmp_path / "staticfiles" / "kit" / "css" / "kit.min.css").write_text("body{}")
    assert NpmFinder().check() == []
