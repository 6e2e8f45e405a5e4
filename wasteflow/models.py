"""Every table, imported in one place so the metadata (and Alembic) sees them all."""

from sqlmodel import SQLModel

from wasteflow.auth.models import ApiKey, Regulator
from wasteflow.findings.models import Finding, FindingEvent
from wasteflow.ledger.models import LedgerEntry, LedgerHead
from wasteflow.manifests.models import Manifest, ManifestCounter, ManifestLeg, ManifestVersion
from wasteflow.quarantine.models import QuarantinedMessage
from wasteflow.registry.models import Device, Enterprise, Site, Vehicle, WasteCategory, Zone
from wasteflow.revisions.models import Revision, RevisionApproval
from wasteflow.tickets.models import WeighTicket
from wasteflow.tracks.models import DeviceStatus, GpsFix, LoadReading
from wasteflow.webhooks.models import Webhook, WebhookDelivery, WebhookEvent

metadata = SQLModel.metadata

__all__ = [
    "ApiKey", "Device", "DeviceStatus", "Enterprise", "Finding", "FindingEvent", "GpsFix",
    "LedgerEntry", "LedgerHead", "LoadReading", "Manifest", "ManifestCounter", "ManifestLeg", "ManifestVersion",
    "QuarantinedMessage", "Regulator", "Revision", "RevisionApproval", "Site", "Vehicle", "WasteCategory",
    "Webhook", "WebhookDelivery", "WebhookEvent", "WeighTicket", "Zone",
    "metadata",
]
