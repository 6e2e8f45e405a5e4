"""Prometheus text exposition of what an operator watches: telemetry in, quarantine, findings."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from wasteflow.findings.models import Finding
from wasteflow.manifests.models import Manifest
from wasteflow.quarantine.models import QuarantinedMessage
from wasteflow.tracks.models import GpsFix, LoadReading


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
        family("wasteflow_gps_fixes_stored", "GPS fixes stored", "gauge",
               [({}, session.exec(select(func.count()).select_from(GpsFix)).one())])
        family("wasteflow_load_readings_stored", "Load readings stored", "gauge",
               [({}, session.exec(select(func.count()).select_from(LoadReading)).one())])
        family("wasteflow_quarantined_messages", "Messages quarantined, by reason", "gauge",
               [({"reason": r}, c) for r, c in session.exec(select(QuarantinedMessage.reason, func.count())
                                                            .group_by(QuarantinedMessage.reason)).all()])
        family("wasteflow_findings", "Findings raised, by code and status", "gauge",
               [({"code": code, "status": status}, c) for code, status, c in session.exec(
                   select(Finding.code, Finding.status, func.count()).group_by(Finding.code, Finding.status)).all()])
        family("wasteflow_manifests", "Manifests by status", "gauge",
               [({"status": s}, c) for s, c in session.exec(select(Manifest.status, func.count())
                                                            .group_by(Manifest.status)).all()])
    return "\n".join(lines) + "\n"
