"""The demo's manifest workflow, after the day: one multi-leg transport, one partial refusal with its
follow-up, one revision, and webhooks delivered by the webhook worker to a local endpoint.

Everything goes through the public API over HTTP, as the firms' own systems would; the webhook
worker runs in-process here (in production it is ``wasteflow webhooks``) and delivers to a small HTTP
server on 127.0.0.1 that checks each ``Wasteflow-Signature`` (the demo's settings allow private
addresses: it is all on one machine).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from simulators.region import Region
from simulators.runner import Api, Registry

REFUSED_KG = 4000


@dataclass
class WorkflowOutcome:
    multi_leg: str = ""
    partial_refusal: str = ""
    follow_up: str = ""
    revision_id: int = 0
    revision_status: str = ""
    deliveries: list[dict] = field(default_factory=list)
    bad_signatures: int = 0

    @property
    def ok(self) -> bool:
        return bool(self.multi_leg and self.follow_up and self.revision_status == "applied" and self.deliveries
                    and not self.bad_signatures)


class Sink:
    """A firm's endpoint: keeps each delivery and whether its signature verified with the secret."""

    def __init__(self):
        self.secrets: dict[str, str] = {}
        self.received: list[tuple[str, dict, bool]] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                from wasteflow.webhooks.signing import verify

                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                secret = sink.secrets.get(self.path, "")
                good = verify(secret, self.headers.get("Wasteflow-Signature", ""), body, int(time.time()))
                sink.received.append((self.path, json.loads(body), good))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="demo-webhook-sink", daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _parties(region: Region, registry: Registry):
    flow = next(f for f in region.flows if region.sites[f.receiver].kind != "storage")
    generator_site, receiver_site = region.sites[flow.generator], region.sites[flow.receiver]
    first = region.vehicles[0]
    second = next(v for v in region.vehicles if v.transporter != first.transporter)
    yard = next(s for s in region.sites.values() if s.kind == "storage")
    declared = min(flow.nominal_kg, first.max_load_kg, second.max_load_kg) // 1000 * 1000
    body = {"generator_site_id": registry.site_ids[generator_site.key], "transporter_id":
            registry.enterprise_ids[first.transporter], "vehicle_plate": first.plate,
            "receiver_site_id": registry.site_ids[receiver_site.key], "waste_code": flow.waste_code,
            "declared_kg": declared}
    keys = {"generator": registry.keys[generator_site.enterprise], "receiver": registry.keys[receiver_site.enterprise],
            "first": registry.keys[first.transporter], "second": registry.keys[second.transporter]}
    return body, keys, second, registry.site_ids[yard.key]


def play_workflow(api: Api, registry: Registry, region: Region, deliver) -> WorkflowOutcome:
    """Run the paperwork; ``deliver()`` runs the webhook worker until nothing is due."""
    outcome = WorkflowOutcome()
    body, keys, second, yard_id = _parties(region, registry)
    sink = Sink()
    try:
        for who, events in (("receiver", ["manifest.received", "revision.proposed", "revision.applied"]),
                            ("regulator", ["finding.raised"])):
            key = registry.regulator_key if who == "regulator" else keys[who]
            created = api.post("/v1/webhooks", {"url": f"{sink.base}/{who}", "events": events,
                                                "min_severity": "warning"}, key)
            sink.secrets[f"/{who}"] = created["secret"]

        legs = [{"transporter_id": registry.enterprise_ids[second.transporter], "vehicle_plate": second.plate}]
        outcome.multi_leg = api.post("/v1/manifests", {**body, "legs": legs}, keys["generator"])["manifest_no"]
        api.post(f"/v1/manifests/{outcome.multi_leg}/dispatch", {}, keys["generator"])
        api.post(f"/v1/manifests/{outcome.multi_leg}/handover", {"leg": 2, "site_id": yard_id}, keys["second"])
        api.post(f"/v1/manifests/{outcome.multi_leg}/receive", {"accepted_kg": body["declared_kg"]}, keys["receiver"])

        no = outcome.partial_refusal = api.post("/v1/manifests", body, keys["generator"])["manifest_no"]
        api.post(f"/v1/manifests/{no}/dispatch", {}, keys["generator"])
        api.post(f"/v1/manifests/{no}/receive", {"accepted_kg": body["declared_kg"] - REFUSED_KG,
                                                 "refused_kg": REFUSED_KG,
                                                 "refusal_reason": "demo: part of the load was wet"}, keys["receiver"])
        follow_up = {**body, "generator_site_id": body["receiver_site_id"], "declared_kg": REFUSED_KG - 1000,
                     "receiver_site_id": body["generator_site_id"], "parent_manifest_no": no, "kind": "return"}
        outcome.follow_up = api.post("/v1/manifests", follow_up, keys["receiver"])["manifest_no"]

        revision = api.post(f"/v1/manifests/{no}/revisions", {"changes": {"refused_kg": REFUSED_KG - 200},
                                                               "reason": "demo: the refused part re-weighed"},
                            keys["receiver"])
        for who in ("generator", "first"):
            revision = api.post(f"/v1/revisions/{revision['id']}/approve", {"note": "agreed"}, keys[who])
        outcome.revision_id, outcome.revision_status = revision["id"], revision["status"]

        deliver()
        outcome.deliveries = [{"to": path, **payload, "signature_ok": good} for path, payload, good in sink.received]
        outcome.bad_signatures = sum(1 for _, _, good in sink.received if not good)
    finally:
        sink.close()
    return outcome
