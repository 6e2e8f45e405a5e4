"""Every table, imported in one place so the metadata (and Alembic) sees them all."""

from sqlmodel import SQLModel

from wasteflow.auth.models import ApiKey, Regulator
from wasteflow.findings.models import Finding, FindingEvent
from wasteflow.ledger.models import LedgerEntry, LedgerHead
from wasteflow.manifests.models import Manifest, ManifestCounter
from wasteflow.quarantine.models import QuarantinedMessage
from wasteflow.registry.models import Device, Enterprise, Site, Vehicle, WasteCategory, Zone
from wasteflow.tickets.models import WeighTicket
from wasteflow.tracks.models import DeviceStatus, GpsFix, LoadReading

metadata = SQLModel.metadata

__all__ = [
    "ApiKey", "Device", "DeviceStatus", "Enterprise", "Finding", "FindingEvent", "GpsFix",
    "LedgerEntry", "LedgerHead", "LoadReading", "Manifest", "ManifestCounter",
    "QuarantinedMessage", "Regulator", "Site", "Vehicle", "WasteCategory", "WeighTicket", "Zone",
    "metadata",
]
