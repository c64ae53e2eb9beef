"""Property-based contract testing: schemathesis generates requests from the committed contract
(openapi/openapi.json), valid and invalid, sends them to a real `iamcap serve` process and runs every
built-in check on each answer: no 5xx, only documented status codes, content types and headers,
bodies conforming to the documented schemas, valid data accepted, invalid data rejected.

One deliberate refinement, `positive_data_acceptance_except_unknown_service`: a service prefix can be
well formed (`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`) and still name no service; the contract documents
that 400 (problem type `unknown-service`), which is the only 400 a schema-valid request may get.

Requests longer than aiohttp's HTTP parser limits never reach the service: the parser refuses them
with its own plain-text 400 (see docs/testing.md). `test_every_valid_request_fits_the_parser_limits`
proves that no request the contract allows is that long, so such a request is always invalid data; for
those the test asserts the parser's refusal instead of the contract checks.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from service.web.app import MAX_FIELD_SIZE, MAX_LINE_SIZE

CONTRACT = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"
MAX_EXAMPLES = 60  # per operation
STATEFUL_EXAMPLES = 15  # scenarios of up to 5 calls
UNKNOWN_SERVICE = "urn:iamcap:problem:unknown-service"


# The base URL is the session's live server, given to each call (a lazy fixture-made schema does not
# work with pytest 9: schemathesis' `from_fixture` sets a private node attribute pytest 9 dropped).
schema = schemathesis.openapi.from_path(
    CONTRACT,
    config=schemathesis.Config.from_dict({"generation": {"max-examples": MAX_EXAMPLES, "database": "none"}}),
)


def _problem_type(response) -> str | None:
    try:
        return json.loads(response.content).get("type")
    except (ValueError, AttributeError):
        return None


def positive_data_acceptance_except_unknown_service(ctx, response, case):
    if (
        response.status_code == 400
        and (case.query or {}).get("service")
        and _problem_type(response) == UNKNOWN_SERVICE
    ):
        return None  # documented: a well-formed prefix that names no service
    return positive_data_acceptance(ctx, response, case)


def _request_line_too_long(response) -> bool:
    split = urlsplit(response.request.url)
    return len((split.path + (f"?{split.query}" if split.query else "")).encode()) > MAX_LINE_SIZE


def _header_too_long(response) -> bool:
    return any(len(str(value).encode()) > MAX_FIELD_SIZE for value in response.request.headers.values())


def _worst_length(name: str, schema: dict) -> int:
    """Bytes `name=value` can take in a URL at most, every character percent-encoded (3 bytes)."""
    if schema.get("type") == "array":
        assert "maxItems" in schema, f"{name}: an unbounded list has no longest URL"
        return schema["maxItems"] * (_worst_length(name, schema["items"]) + 1)
    if "enum" in schema:
        longest = max(len(str(v)) for v in schema["enum"])
    else:
        assert "maxLength" in schema, f"{name}: an unbounded string has no longest URL"
        longest = schema["maxLength"]
    return len(name) + 1 + 3 * longest


def test_every_valid_request_fits_the_parser_limits():
    """The longest request target the contract allows fits aiohttp's request-line limit, so the parser
    refuses only invalid requests (and `check` may treat over-long requests as invalid data)."""
    contract = json.loads(CONTRACT.read_text())
    shared = contract["components"]["parameters"]
    for path, item in contract["paths"].items():
        for method, operation in item.items():
            params = [shared[p["$ref"].rsplit("/", 1)[1]] if "$ref" in p else p for p in operation["parameters"]]
            target = len(path)
            for param in params:
                if param["in"] == "path":
                    target += 3 * param["schema"]["maxLength"] - len(param["name"]) - 2
                elif param["in"] == "query":
                    target += _worst_length(param["name"], param["schema"])
            assert target <= MAX_LINE_SIZE, f"{method.upper()} {path}: up to {target} bytes"


def check(case, response) -> None:
    if _request_line_too_long(response) or _header_too_long(response):
        # aiohttp's parser refused it before the service ran: a 4xx, never a traceback. Only invalid data
        # can be that long (the contract bounds every parameter of the request line).
        assert not (_request_line_too_long(response) and case.meta.generation.mode.is_positive), case.as_curl_command()
        assert 400 <= response.status_code < 500, response.status_code
        assert b"Traceback" not in response.content
        return
    case.validate_response(
        response,
        excluded_checks=[positive_data_acceptance],
        additional_checks=[positive_data_acceptance_except_unknown_service],
    )


# Health checks off: some answers are large (`?pattern=*` is 10 MB of JSON to validate), which Hypothesis
# would call too slow; the examples are what matter here.
@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), max_examples=MAX_EXAMPLES)
def test_contract(case, live_server):
    """Examples, coverage (boundary and invalid values, wrong methods) and fuzzing, per operation."""
    check(case, case.call(base_url=live_server, timeout=30))


def test_stateful(live_server):
    """Sequences of calls, each answer feeding the next request where the contract links them."""

    class Machine(schema.as_state_machine()):
        def get_call_kwargs(self, case):
            return {"base_url": live_server, "timeout": 30}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            check(case, response)

    Machine.run(
        settings=settings(
            max_examples=STATEFUL_EXAMPLES,
            stateful_step_count=5,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )
