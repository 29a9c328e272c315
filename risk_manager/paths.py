"""Where the daemon keeps its files: one home directory with config/, state/, logs/, secrets/."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

HOME_ENV = "RISK_MANAGER_HOME"


def default_home() -> Path:
    """The home directory: $RISK_MANAGER_HOME, else the platform default of SPEC §5."""
    if env := os.environ.get(HOME_ENV):
        return Path(env).expanduser()
    if sys.platform == "win32":
        return Path(os.environ.get("PROGRAMDATA", r"C:\ProgramData")) / "RiskManager"
    return Path.home() / ".risk_manager"


@dataclass(frozen=True, slots=True)
class HomePaths:
    """Every path the daemon reads or writes, derived from the home directory."""

    home: Path

    @property
    def config_dir(self) -> Path:
        return self.home / "config"

    @property
    def config_file(self) -> Path:
        return self.config_dir / "risk_manager.toml"

    @property
    def state_dir(self) -> Path:
        return self.home / "state"

    @property
    def database(self) -> Path:
        return self.state_dir / "risk_manager.sqlite3"

    @property
    def backups_dir(self) -> Path:
        return self.state_dir / "backups"

    @property
    def history_marker(self) -> Path:
        """Present once a daemon has run on this home: its state is never silently new."""
        return self.state_dir / "history"

    @property
    def pid_file(self) -> Path:
        return self.state_dir / "daemon.pid"

    @property
    def url_file(self) -> Path:
        return self.state_dir / "daemon.url"

    @property
    def running_marker(self) -> Path:
        """Present while a daemon runs; left behind by a crash."""
        return self.state_dir / "running.marker"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def secrets_dir(self) -> Path:
        return self.home / "secrets"

    @property
    def admin_secret(self) -> Path:
        return self.secrets_dir / "admin.json"

    def ensure(self) -> None:
        """Create the directory tree if it is missing."""
        for directory in (self.config_dir, self.state_dir, self.logs_dir, self.secrets_dir):
            directory.mkdir(parents=True, exist_ok=True)
