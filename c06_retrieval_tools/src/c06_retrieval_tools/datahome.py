"""The data home: where data sets live, how they are verified, and where caches go.

Every data file this module reads is named relative to one folder, the *data
home*: the environment variable ``CURRICULUM_DATA_HOME`` when it is set and not
empty, else a user cache folder (``$XDG_CACHE_HOME/curriculum``, by default
``~/.cache/curriculum``). A file is found at ``<home>/<data set>/<file>``.

A data file is only trusted after its sha256 matches the checksum this module
knows (copied from the data sets' ``SHA256SUMS``): a truncated download or an
edited file would otherwise give quietly different evaluation numbers. A file
that is missing is downloaded from the data set's public source into the data
home, normalised the same way the shared copy was (CRLF to LF), and verified
before it is moved into place; a file with no known source gives an error that
names the file and every place it was looked for.

Derived data that is expensive to recompute (document embeddings) goes to the
*cache home*, ``CURRICULUM_CACHE_HOME`` or ``~/.cache/curriculum/cache``: the
data home may be read-only (CI mounts it so), the cache home must be writable.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

DATA_HOME_ENV = "CURRICULUM_DATA_HOME"
CACHE_HOME_ENV = "CURRICULUM_CACHE_HOME"
DOWNLOAD_TIMEOUT_S = 60.0

# The Cranfield snapshot the shared copy was made from (see cranfield/PROVENANCE.txt): files at the
# repository root with CRLF line endings, normalised to LF here.
CRANFIELD_SOURCE = (
    "https://raw.githubusercontent.com/noramtboraas/information-retrieval/"
    "4ea1b8e02da1db64b68b0364d50620b3c95528dc/"
)


class DataFileError(RuntimeError):
    """A data file is missing, cannot be fetched, or does not match its checksum."""


@dataclass(frozen=True)
class DataFile:
    """One file of a data set: its path under the data home, checksum and public source."""

    relpath: str  # e.g. "cranfield/cran.qry"
    sha256: str
    url: str | None = None  # None: no public source; a missing file is an error
    crlf_to_lf: bool = False  # the published file has CRLF line endings; the verified one has LF


CRANFIELD_FILES: dict[str, DataFile] = {
    name: DataFile(f"cranfield/{name}", digest, CRANFIELD_SOURCE + name, crlf_to_lf=True)
    for name, digest in {
        "cran.all.1400": "b234544b6ceccd131520df4a3cb6d42aee6576eb577933d047e722bbfe7b0b09",
        "cran.qry": "dd9b1419f678874daf66d5239ca372193722d74f5ea749f3b0f46a6b37cd9274",
        "cranqrel": "92e54b58dac0b980152178f350d892fae66c8a239b8a11715b835fb8d2f6bc0e",
    }.items()
}

Fetcher = Callable[[str, Path], None]  # (url, destination file) -> None


def _user_cache() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    return Path(xdg).expanduser() if xdg else Path.home() / ".cache"


def data_home() -> Path:
    """The data home: ``$CURRICULUM_DATA_HOME`` if set and not empty, else ``~/.cache/curriculum``."""
    # BEGIN SOLUTION c06.1: the variable if set and not empty, else the default under the user cache
    configured = os.environ.get(DATA_HOME_ENV, "").strip()
    return Path(configured).expanduser() if configured else _user_cache() / "curriculum"
    # END SOLUTION


def cache_home() -> Path:
    """A writable folder for derived data: ``$CURRICULUM_CACHE_HOME`` or ``~/.cache/curriculum/cache``."""
    # BEGIN SOLUTION c06.1: the variable if set and not empty, else the default under the user cache
    configured = os.environ.get(CACHE_HOME_ENV, "").strip()
    return Path(configured).expanduser() if configured else _user_cache() / "curriculum" / "cache"
    # END SOLUTION


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def urllib_fetch(url: str, destination: Path) -> None:
    """Download ``url`` to ``destination`` (any scheme urllib knows: https, file)."""
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response, destination.open("wb") as out:
        while chunk := response.read(1 << 20):
            out.write(chunk)


def verify(path: Path, spec: DataFile) -> None:
    """Raise DataFileError unless ``path`` has the checksum of ``spec``."""
    # BEGIN SOLUTION c06.1: compare the file's sha256 with the known one; say which file and both digests
    actual = sha256_of(path)
    if actual != spec.sha256:
        raise DataFileError(
            f"{path} does not match its checksum: expected sha256 {spec.sha256}, got {actual}. "
            f"The file is corrupt or not the published {spec.relpath}; delete it to download it again."
        )
    # END SOLUTION


def fetch_file(spec: DataFile, home: Path | None = None, fetch: Fetcher = urllib_fetch) -> Path:
    """The verified local path of ``spec``, downloading it into the data home if it is missing.

    Args:
        spec: the file, its checksum and source.
        home: the data home (default :func:`data_home`).
        fetch: downloads a URL to a file; tests pass a fake or use a ``file://`` URL.

    Raises:
        DataFileError: the file is missing and has no source, the download fails, or a
            checksum does not match (the message names the file and where it was looked for).
    """
    # BEGIN SOLUTION c06.1: look in the home, verify; else download to a temp file, normalise, verify, move
    home = data_home() if home is None else home
    path = home / spec.relpath
    if path.is_file():
        verify(path, spec)
        return path
    if spec.url is None:
        raise DataFileError(
            f"data file {spec.relpath} not found: looked for {path} (data home {home}, "
            f"set {DATA_HOME_ENV} to change it), and it has no public source to download from"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp_name = tempfile.mkstemp(prefix=path.name + ".", suffix=".part", dir=path.parent)
        os.close(handle)
    except OSError as err:
        raise DataFileError(f"data file {spec.relpath} not found at {path}, and {home} is not writable: {err}") from err
    tmp = Path(tmp_name)
    try:
        try:
            fetch(spec.url, tmp)
        except Exception as err:
            raise DataFileError(
                f"data file {spec.relpath} not found at {path}; downloading it from {spec.url} failed: {err}"
            ) from err
        if spec.crlf_to_lf:
            tmp.write_bytes(tmp.read_bytes().replace(b"\r\n", b"\n"))
        verify(tmp, spec)
        os.replace(tmp, path)  # atomic: readers never see a half-written file
    finally:
        tmp.unlink(missing_ok=True)
    return path
    # END SOLUTION
