"""A device's secrets as its readers need them: issued, rotated with a grace period, opened.

Every reader of a device secret (the bridge checking signatures, the JT/T 808 gateway deriving
authentication codes, the broker's password file) goes through :func:`valid_secrets`, so the
grace period after a rotation is one rule, and a secret is only ever in clear in memory.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from wasteflow.registry.models import Device
from wasteflow.sealing import Sealer


def new_secret() -> str:
    return secrets.token_hex(32)


def set_first_secret(device: Device, sealer: Sealer) -> str:
    """Give a new device its secret (sealed on the row); the secret is returned to be shown once."""
    secret = new_secret()
    device.sealed_secret = sealer.seal(secret, device.id)
    return secret


def rotate(device: Device, sealer: Sealer, now: datetime, grace: timedelta) -> str:
    """A new secret; the current one stays valid for ``grace`` (a still-valid older one is dropped:
    only the secret just replaced gets a grace period)."""
    secret = new_secret()
    device.previous_sealed_secret = device.sealed_secret if grace > timedelta(0) else None
    device.previous_secret_until = now + grace if grace > timedelta(0) else None
    device.sealed_secret = sealer.seal(secret, device.id)
    return secret


def valid_secrets(device: Device, sealer: Sealer, now: datetime) -> tuple[str, ...]:
    """The current secret first, then the previous one while its grace period lasts."""
    current = sealer.open(device.sealed_secret, device.id)
    if device.previous_sealed_secret is not None and grace_ends(device, now) is not None:
        return current, sealer.open(device.previous_sealed_secret, device.id)
    return (current,)


def grace_ends(device: Device, now: datetime) -> datetime | None:
    """When the previous secret stops verifying, if it still does at ``now``."""
    until = device.previous_secret_until
    if device.previous_sealed_secret is None or until is None or now >= until:
        return None
    return until


def current_secret(device: Device, sealer: Sealer) -> str:
    return sealer.open(device.sealed_secret, device.id)
