"""The Gateway login: username and API key from the environment or the secrets directory."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import SecretStr

from risk_manager.brokers.base import BrokerAuthFailed
from risk_manager.brokers.projectx.config import ProjectXOptions
from risk_manager.brokers.projectx.rest import Credentials

USERNAME_ENV = "PROJECTX_USERNAME"
API_KEY_ENV = "PROJECTX_API_KEY"


def load_credentials(options: ProjectXOptions, secrets_dir: Path) -> Credentials:
    """Environment first, then `secrets/<api_key_file>`; BrokerAuthFailed says what is missing."""
    username = os.environ.get(USERNAME_ENV) or options.username
    if not username:
        raise BrokerAuthFailed(
            f"no ProjectX username: set [broker.projectx] username or {USERNAME_ENV}"
        )
    key = os.environ.get(API_KEY_ENV, "")
    path = secrets_dir / options.api_key_file
    if not key:
        try:
            key = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            key = ""
        except OSError as error:
            raise BrokerAuthFailed(
                f"cannot read the API key file {path.name}: {error.strerror}"
            ) from None
    if not key:
        raise BrokerAuthFailed(
            f"no ProjectX API key: put it in secrets/{path.name} or {API_KEY_ENV}"
        )
    return Credentials(username, SecretStr(key))
