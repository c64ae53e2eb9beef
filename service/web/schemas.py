"""Marshmallow schemas: query parameters (validated by aiohttp-apigami) and responses (documented in the
OpenAPI contract and checked against real answers in the tests)."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from ..capabilities import CAPABILITY_NAMES
from ..patterns import MAX_PATTERN_LENGTH, PATTERN_SYNTAX

MAX_FILTER_VALUES = 50
# Six capabilities: a longer list only repeats; the bound keeps every valid URL under the request-line limit.
MAX_CAPABILITY_VALUES = len(CAPABILITY_NAMES)
# Every catalog action name has this shape (documented; the handler answers 400 or 404 otherwise).
ACTION_NAME_SYNTAX = r"^[A-Za-z0-9_.\-]+:[A-Za-z0-9_.\-]+$"
_capability = fields.String(validate=validate.OneOf(CAPABILITY_NAMES))
_SERVICE_PREFIX = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$", error="not a service prefix")


class StrictQuery(Schema):
    class Meta:
        unknown = RAISE  # a misspelt filter must not silently widen the answer


class CapabilityMapQuery(StrictQuery):
    service = fields.List(
        fields.String(validate=[_SERVICE_PREFIX, validate.Length(max=64)]),
        validate=validate.Length(max=MAX_FILTER_VALUES),
        metadata={"description": "Service prefix, e.g. `iam`; repeat for several.", "example": ["iam", "sts"]},
    )
    capability = fields.List(
        _capability,
        validate=validate.Length(max=MAX_CAPABILITY_VALUES),
        metadata={"description": "Capability; repeat for several.", "example": ["administer-resource"]},
    )


class ActionSearchQuery(StrictQuery):
    pattern = fields.List(
        fields.String(validate=validate.Length(min=1, max=MAX_PATTERN_LENGTH), metadata={"pattern": PATTERN_SYNTAX}),
        required=True,
        validate=validate.Length(min=1, max=20),
        metadata={
            "description": "IAM action pattern, `*` and `?` wildcards, e.g. `iam:Create*`; repeat for several.",
            "example": ["iam:Create*", "s3:*Object*"],
        },
    )
    capability = fields.List(
        _capability,
        validate=validate.Length(max=MAX_CAPABILITY_VALUES),
        metadata={"description": "Keep only actions holding one of these capabilities.", "example": ["write-data"]},
    )


class ActionPath(Schema):
    action = fields.String(
        required=True,
        validate=validate.Length(min=1, max=MAX_PATTERN_LENGTH),
        metadata={
            "description": "`service:Action`, any case, e.g. `iam:PassRole`.",
            "pattern": ACTION_NAME_SYNTAX,
            "example": "iam:PassRole",
        },
    )


# --- responses -------------------------------------------------------------------------------------
class Problem(Schema):
    type = fields.String(required=True, metadata={"description": "URI naming the kind of problem"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    instance = fields.String(metadata={"description": "the request path"})
    requestId = fields.String(metadata={"description": "the request's X-Request-ID"})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(),
        metadata={"description": "per-parameter messages, for invalid parameters"},
    )
    validValues = fields.List(fields.String(), metadata={"description": "the accepted values, where they are few"})


class Reason(Schema):
    capability = fields.String(required=True, validate=validate.OneOf(CAPABILITY_NAMES))
    source = fields.String(required=True, validate=validate.OneOf(("rule", "exception", "fallback")))
    rule = fields.String(required=True, metadata={"description": "the rule id (docs/classification.md) or `exception`"})
    explanation = fields.String(required=True)


class ActionDetail(Schema):
    action = fields.String(required=True, metadata={"example": "iam:PassRole"})
    service = fields.String(required=True, metadata={"description": "service prefix"})
    serviceName = fields.String(required=True)
    accessLevel = fields.String(
        required=True, validate=validate.OneOf(("List", "Read", "Write", "Permissions management", "Tagging"))
    )
    description = fields.String(required=True)
    resourceTypes = fields.List(fields.String(), required=True)
    capabilities = fields.List(fields.String(validate=validate.OneOf(CAPABILITY_NAMES)), required=True)
    reasons = fields.List(fields.Nested(Reason), required=True)


class ActionMatches(Schema):
    patterns = fields.List(fields.String(), required=True)
    count = fields.Integer(required=True)
    actions = fields.List(fields.Nested(ActionDetail), required=True)


class CapabilityCounts(Schema):
    class Meta:
        # the six capability names are not Python identifiers
        include = {name: fields.Integer(required=True, data_key=name) for name in CAPABILITY_NAMES}


class ServiceSummary(Schema):
    prefix = fields.String(required=True)
    name = fields.String(required=True)
    actionCount = fields.Integer(required=True)
    capabilityCounts = fields.Nested(CapabilityCounts, required=True)


class ServiceList(Schema):
    count = fields.Integer(required=True)
    services = fields.List(fields.Nested(ServiceSummary), required=True)


class PolicyStatement(Schema):
    Sid = fields.String(required=True)
    Effect = fields.String(required=True, validate=validate.OneOf(("Allow", "Deny")))
    Action = fields.Raw(
        required=True,
        metadata={
            "description": "an action list, or `*`",
            "oneOf": [{"type": "string", "enum": ["*"]}, {"type": "array", "items": {"type": "string"}}],
        },
    )
    Resource = fields.String(required=True)


class PolicyDocument(Schema):
    Version = fields.String(required=True, validate=validate.Equal("2012-10-17"))
    Statement = fields.List(fields.Nested(PolicyStatement), required=True)


class CatalogInfo(Schema):
    source = fields.String(required=True)
    version = fields.String(required=True)
    updatedAt = fields.String(required=True)


class About(Schema):
    service = fields.String(required=True)
    version = fields.String(required=True)
    catalog = fields.Nested(CatalogInfo, required=True)
    classifierVersion = fields.String(required=True)
    serviceCount = fields.Integer(required=True)
    actionCount = fields.Integer(required=True)
    capabilities = fields.List(fields.String(), required=True)
    links = fields.Dict(keys=fields.String(), values=fields.String(), required=True)


class Health(Schema):
    status = fields.String(required=True, metadata={"example": "ok"})


class Readiness(Schema):
    status = fields.String(required=True, validate=validate.OneOf(("ready", "loading", "draining")))
    catalogVersion = fields.String()
    actionCount = fields.Integer()


# The whole map: {service name: {capability: [actions]}}; a map, so it is documented as one field.
CAPABILITY_MAP_FIELD = fields.Dict(
    keys=fields.String(),
    values=fields.Dict(keys=fields.String(validate=validate.OneOf(CAPABILITY_NAMES)), values=fields.List(fields.String())),
)
