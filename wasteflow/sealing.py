"""Device secrets sealed at rest: AES-256-GCM under ``WASTEFLOW_SECRET_KEY`` (operations.md).

A device secret must be read back (it checks HMAC signatures, derives JT/T 808 authentication
codes, becomes the broker password), so it cannot be hashed like an API key; a copy of the
database alone must still not hand out working device credentials. A sealed value is
``wf1:`` and the URL-safe base64 of a 12-byte nonce and the ciphertext with its tag; the
device id is bound in as associated data, so a sealed secret copied onto another device's row
does not open.

The key: ``WASTEFLOW_SECRET_KEY`` (any string of at least 32 characters, e.g. the output of
``openssl rand -base64 32``; its SHA-256 is the AES key). A SQLite demo database without it gets
a random key in a file beside it (``<db>.key``, mode 0600), made the first time it is needed;
PostgreSQL without it is refused (:class:`SecretKeyMissing`), since a key file beside a server
database would sit where the database is not.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import threading
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.engine import URL, make_url

PREFIX = "wf1:"
MIN_KEY_CHARS = 32
NONCE_BYTES = 12
HOW_TO_SET = ("generate one with `openssl rand -base64 32` and set WASTEFLOW_SECRET_KEY to it for every "
              "wasteflow process (API, bridge, gateways, broker-config, migrate); keep it: without it the "
              "registered devices' secrets cannot be read")


class SealingError(Exception):
    """The secret key is missing or unusable, or a sealed value does not open under it."""


class SecretKeyMissing(SealingError):
    pass


class Sealer:
    """Seals and opens device secrets under one key."""

    def __init__(self, key_material: str) -> None:
        if len(key_material) < MIN_KEY_CHARS:
            raise SealingError(f"WASTEFLOW_SECRET_KEY must be at least {MIN_KEY_CHARS} characters; {HOW_TO_SET}")
        self._aead = AESGCM(hashlib.sha256(key_material.encode("utf-8")).digest())

    def seal(self, secret: str, device_id: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, secret.encode("utf-8"), device_id.encode("utf-8"))
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def open(self, sealed: str, device_id: str) -> str:
        if not is_sealed(sealed):
            raise SealingError(f"the secret of device {device_id!r} is not sealed (run `wasteflow migrate`)")
        try:
            blob = base64.urlsafe_b64decode(sealed[len(PREFIX):])
            plain = self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], device_id.encode("utf-8"))
        except (InvalidTag, ValueError) as exc:
            raise SealingError(f"the secret of device {device_id!r} does not open under this "
                               f"WASTEFLOW_SECRET_KEY (another key sealed it?)") from exc
        return plain.decode("utf-8")


def is_sealed(value: str) -> bool:
    return value.startswith(PREFIX)


_sealers: dict[tuple[str, str], Sealer] = {}
_lock = threading.Lock()


def sealer_for(database_url: str | URL, secret_key: str | None = None) -> Sealer:
    """The sealer for a database: ``secret_key`` (default: ``WASTEFLOW_SECRET_KEY`` from the
    settings), else for SQLite the key file beside the database; PostgreSQL without a key raises
    :class:`SecretKeyMissing` with what to do."""
    url = make_url(database_url) if isinstance(database_url, str) else database_url
    if secret_key is None:
        from wasteflow.config import Settings

        secret_key = Settings().secret_key
    cache_key = (url.render_as_string(hide_password=False), secret_key)
    with _lock:
        if cache_key not in _sealers:
            _sealers[cache_key] = Sealer(secret_key or _demo_key(url))
        return _sealers[cache_key]


def _demo_key(url: URL) -> str:
    if not url.drivername.startswith("sqlite"):
        raise SecretKeyMissing(f"WASTEFLOW_SECRET_KEY is not set, and a {url.get_backend_name()} database "
                               f"keeps device secrets sealed under it: {HOW_TO_SET}")
    if not url.database or url.database == ":memory:":
        return secrets.token_urlsafe(32)
    return _key_file(Path(url.database + ".key"))


def _key_file(path: Path) -> str:
    """Read the demo key beside a SQLite database, making it (0600) the first time; written
    aside and linked into place, so a process starting alongside never reads half a key."""
    if not path.exists():
        draft = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_urlsafe(32) + "\n")
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text(encoding="ascii").strip()
