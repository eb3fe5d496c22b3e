"""Contract test: schemathesis against the v2 schema of a live daphne.

A bounded set of endpoints and a few examples each keep it quick for CI; every
response must be non-5xx and match the schema (status, content type, body).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import key_client
from tests.servers import running_daphne, test_database_url

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# Endpoints that exist for every deployment and have no destructive side
# effects on the key the test itself uses.
CONTRACT_PATHS = r"^/api/v2/(me|tenant|api-keys)$"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_v2_answers_match_the_v2_schema(postgres, owner_a, tenant_a):
    client = key_client(tenant_a, owner_a, ["read", "write", "admin"])
    headers = {"Authorization": f"Api-Key {client.plaintext}"}
    env = {"DATABASE_URL": test_database_url(), "CADML_RATELIMIT_ENABLED": "0"}
    with running_daphne(env) as server:
        schema = schemathesis.openapi.from_url(
            f"{server.url}/api/v2/schema/?format=json"
        ).include(path_regex=CONTRACT_PATHS)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert {op.path for op in operations} == {
            "/api/v2/me",
            "/api/v2/tenant",
            "/api/v2/api-keys",
        }
        for operation in operations:

            @settings(
                max_examples=8,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy())
            def check(case: schemathesis.Case) -> None:
                case.call_and_validate(
                    base_url=server.url, headers=headers, checks=CHECKS
                )

            check()
