"""The registered JT/T 808 terminals, held in memory for the gateway.

Lookups (every register, authenticate and location frame) are dictionary hits on the event
loop; the database is read in a worker thread: everything at start and every
``reload_s`` (so a new secret, a removed device, a new load item are seen), and one terminal
on demand when a register or authenticate frame names an id not yet known (remembered as
unknown for ``miss_ttl_s``, so a stream of made-up ids costs few queries).

The authentication code is derived from the device's secret and its terminal id, so any
number of gateway processes, sharing nothing but the database, hand out and accept the same
code, and a restart invalidates nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from mqtt_bridge.gateways.jt808.session import Terminal
from mqtt_bridge.gateways.jt808.translate import LoadItem
from wasteflow.database import utcnow
from wasteflow.registry import device_secrets
from wasteflow.registry.models import Device
from wasteflow.sealing import Sealer, sealer_for

log = logging.getLogger("wasteflow.gateway.jt808")

AUTH_CODE_CHARS = 16
"""64 bits of HMAC, as uppercase hex: short enough for every terminal's code field, and a
connection is closed at the first wrong code, so it cannot be guessed online."""


def auth_code(secret: str, terminal_id: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), f"jt808-auth:{terminal_id}".encode("ascii"), hashlib.sha256)
    return digest.hexdigest()[:AUTH_CODE_CHARS].upper()


def terminal_of(device: Device, sealer: Sealer, now: datetime | None = None) -> Terminal | None:
    """The terminal as the gateway knows it; None for a disabled device (answered as unknown)."""
    if not device.terminal_id or device.disabled_at is not None:
        return None
    try:
        load_item = LoadItem.from_registry(device.load_item)
    except (KeyError, TypeError, ValueError):
        log.warning("device %s has an unreadable load_item %r: ignored", device.id, device.load_item)
        load_item = None
    secrets = device_secrets.valid_secrets(device, sealer, now or utcnow())
    previous = auth_code(secrets[1], device.terminal_id) if len(secrets) > 1 else None
    return Terminal(device.id, device.terminal_id, auth_code(secrets[0], device.terminal_id), load_item,
                    previous_auth_code=previous, previous_until=device.previous_secret_until if previous else None)


class TerminalDirectory:
    def __init__(self, engine: Engine, reload_s: float = 60.0, miss_ttl_s: float = 5.0, sealer: Sealer | None = None):
        self.engine = engine
        self.sealer = sealer or sealer_for(engine.url)
        self.reload_s = reload_s
        self.miss_ttl_s = miss_ttl_s
        self._terminals: dict[str, Terminal] = {}
        self._misses: dict[str, float] = {}
        self._lookups = asyncio.Semaphore(2)  # on-demand queries at once: a flood waits, the database does not

    def __call__(self, terminal_id: str) -> Terminal | None:
        return self._terminals.get(terminal_id)

    def __len__(self) -> int:
        return len(self._terminals)

    def load_all(self) -> int:
        with Session(self.engine) as session:
            devices = session.exec(select(Device).where(Device.protocol == "jt808")).all()
            terminals = [t for t in (terminal_of(d, self.sealer) for d in devices) if t is not None]
        self._terminals = {t.terminal_id: t for t in terminals}
        self._misses.clear()
        return len(terminals)

    def _load_one(self, terminal_id: str) -> Terminal | None:
        with Session(self.engine) as session:
            device = session.exec(select(Device).where(Device.protocol == "jt808",
                                                       Device.terminal_id == terminal_id)).first()
            return terminal_of(device, self.sealer) if device is not None else None

    async def ensure(self, terminal_id: str) -> None:
        """Make sure a terminal registered since the last reload is known (a register or authenticate frame)."""
        if terminal_id in self._terminals or not terminal_id:
            return
        now = time.monotonic()
        if self._misses.get(terminal_id, 0.0) > now:
            return
        async with self._lookups:
            try:
                terminal = await asyncio.to_thread(self._load_one, terminal_id)
            except Exception as exc:  # the database is away: the terminal is answered as unknown, and retries
                log.warning("terminal lookup for %s failed: %s", terminal_id, exc)
                return
        if terminal is None:
            if len(self._misses) > 100_000:
                self._misses.clear()
            self._misses[terminal_id] = now + self.miss_ttl_s
        else:
            self._terminals[terminal_id] = terminal

    async def keep_fresh(self) -> None:
        while True:
            await asyncio.sleep(self.reload_s)
            try:
                count = await asyncio.to_thread(self.load_all)
                log.debug("reloaded %d jt808 terminals", count)
            except Exception as exc:
                log.warning("could not reload the jt808 terminals (%s); keeping the %d known", exc, len(self))
