"""The API's Prometheus metrics, read from the store so every uvicorn worker answers alike.

Message-level counters (messages in, readings stored, duplicates, lag histogram) are the
bridge's own, on its metrics endpoint (:mod:`mqtt_bridge.metrics`).
"""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from wasteflow.database import utcnow
from wasteflow.findings.models import Finding
from wasteflow.manifests.models import Manifest
from wasteflow.quarantine.models import QuarantinedMessage
from wasteflow.tracks.models import GpsFix


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def render(engine: Engine) -> str:
    lines: list[str] = []

    def family(name: str, help_text: str, kind: str, samples: list[tuple[dict, float]]) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            rendered = ",".join(f'{k}="{_label(str(v))}"' for k, v in labels.items())
            lines.append(f"{name}{{{rendered}}} {value}" if rendered else f"{name} {value}")

    with Session(engine) as session:
        last = session.exec(select(func.max(GpsFix.received_at))).one()
        age = (utcnow() - last).total_seconds() if last else float("nan")
        family("wasteflow_telemetry_last_stored_age_seconds",
               "Seconds since the bridge last stored a fix (bridge lag as seen from the store)", "gauge",
               [({}, round(age, 3))])
        family("wasteflow_quarantined_messages", "Messages quarantined, by reason", "gauge",
               [({"reason": r}, c) for r, c in session.exec(select(QuarantinedMessage.reason, func.count())
                                                            .group_by(QuarantinedMessage.reason)).all()])
        family("wasteflow_findings_raised", "Findings raised (withdrawn ones never count), by code and severity",
               "gauge", [({"code": code, "severity": sev}, c) for code, sev, c in session.exec(
                   select(Finding.code, Finding.severity, func.count()).where(Finding.status != "withdrawn")
                   .group_by(Finding.code, Finding.severity)).all()])
        family("wasteflow_findings_by_status", "Findings by workflow status", "gauge",
               [({"status": s}, c) for s, c in session.exec(select(Finding.status, func.count())
                                                            .group_by(Finding.status)).all()])
        family("wasteflow_manifests", "Manifests by status", "gauge",
               [({"status": s}, c) for s, c in session.exec(select(Manifest.status, func.count())
                                                            .group_by(Manifest.status)).all()])
    return "\n".join(lines) + "\n"
