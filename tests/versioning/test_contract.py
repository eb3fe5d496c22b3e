"""Contract test: schemathesis against each version's schema on a live daphne.

Every operation of the schema is called: with generated inputs, and with the ids
of real objects (a drawing, a batch job, a spare API key) so the success bodies
are checked too, not only the 404s. Every response must be non-5xx and match the
schema (status, content type, body). Then every operation is sent inputs the
schema forbids: each must be a 4xx, never a 5xx. A few examples per operation
keep it quick; the examples are derandomized so that CI runs are repeatable.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from apps.accounts.services import api_key_create
from tests.conftest import CORPUS_DIR, key_client
from tests.servers import running_daphne, test_database_url

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = {"v2": 6, "v1": 3}
BAD_INPUT_EXAMPLES = 10
SAMPLE = CORPUS_DIR / "ezdxf" / "examples_dxf" / "multi_insert_with_attribs.dxf"


def _seed(base: str, headers: dict[str, str], version: str) -> dict[str, object]:
    """Real objects for the path parameters: a drawing and a job."""
    with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
        upload = http.post(
            f"/api/{version}/drawings",
            files={"file": (SAMPLE.name, Path(SAMPLE).read_bytes())},
        )
        assert upload.status_code in (200, 201, 202), upload.text
        body = upload.json()
        drawing = (body.get("data") or body)["id"]
        job = http.post(f"/api/{version}/jobs", json={"drawings": [drawing]})
        assert job.status_code in (200, 202), job.text
        body = job.json()
        return {"drawing_id": drawing, "job_id": (body.get("data") or body)["id"]}


def _has_input_to_break(operation: schemathesis.APIOperation) -> bool:
    """Whether inputs the schema forbids exist for ``operation``: a body, or a
    parameter that is not a credential (schemathesis never breaks those).
    Without one, hypothesis would only find that out after some hundred
    attempts (``Unsatisfiable``), the better part of a second an operation."""
    parameters = [
        *operation.path_parameters,
        *operation.query,
        *operation.headers,
        *operation.cookies,
    ]
    return len(operation.body) > 0 or any(
        "x-original-security-type" not in parameter.definition
        for parameter in parameters
    )


def _exercise(
    server_url: str,
    headers: dict[str, str],
    version: str,
    known: dict[str, object],
    *,
    mode: GenerationMode,
    examples: int,
    checks: list,
) -> list[str]:
    """Run every operation of ``version``'s schema; return the failures."""
    schema = schemathesis.openapi.from_url(
        f"{server_url}/api/{version}/schema/?format=json"
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    # Deletions last, so the other operations still find the real objects.
    operations.sort(key=lambda op: op.method.upper() == "DELETE")
    assert len(operations) >= 35
    assert {"/drawings", "/jobs"} <= {
        op.path.removeprefix(f"/api/{version}") for op in operations
    }
    failures = []
    for operation in operations:
        if mode == GenerationMode.NEGATIVE and not _has_input_to_break(operation):
            continue  # nothing to send in this mode (no parameters, no body)
        names = {p.name for p in operation.path_parameters}
        pinned = {n: known[n] for n in names if n in known}
        strategy = operation.as_strategy(mode)
        if pinned:
            strategy = st.one_of(
                operation.as_strategy(mode, path_parameters=pinned), strategy
            )

        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=server_url, headers=headers, checks=checks)

        try:
            check()
        except Unsatisfiable:
            # No input of this operation can break its schema (no parameters,
            # no body): nothing to send in this mode.
            continue
        except Exception as exc:  # noqa: BLE001 - reported all together below
            failures.append(f"{operation.method.upper()} {operation.path}:\n{exc}")
    return failures


@pytest.fixture(scope="module")
def daphne(django_db_setup, tmp_path_factory):  # type: ignore[no-untyped-def]
    """One daphne on the test database for the module: it keeps no state of
    its own between tests (the rows are the tests', the limiter is off)."""
    if not SAMPLE.is_file():
        pytest.skip(f"the shared DXF corpus is absent ({CORPUS_DIR})")
    env = {
        "DATABASE_URL": test_database_url(),
        "CADML_RATELIMIT_ENABLED": "0",
        "MEDIA_ROOT": str(tmp_path_factory.mktemp("contract") / "media"),
    }
    with running_daphne(env) as server:
        yield server


@pytest.fixture
def live(postgres, owner_a, tenant_a, daphne):  # type: ignore[no-untyped-def]
    """The daphne, a key with every scope, a spare key."""
    client = key_client(tenant_a, owner_a, ["read", "write", "admin"])
    headers = {"Authorization": f"Api-Key {client.plaintext}"}
    # Revoke and rotate act on this key, never on the one the test calls with.
    spare = api_key_create(
        tenant=tenant_a, name="spare", scopes=["read"], created_by=owner_a
    )
    return daphne.url, headers, {"key_id": spare.api_key.pk}


@pytest.mark.parametrize("version", ["v2", "v1"])
def test_every_operation_answers_as_its_schema_says(live, version):
    url, headers, known = live
    known = known | _seed(url, headers, version)
    failures = _exercise(
        url,
        headers,
        version,
        known,
        mode=GenerationMode.POSITIVE,
        examples=EXAMPLES[version],
        checks=CHECKS,
    )
    assert not failures, "\n\n".join(failures)


def test_input_the_schema_forbids_is_a_4xx_never_a_5xx(live):
    url, headers, known = live
    known = known | _seed(url, headers, "v2")
    failures = _exercise(
        url,
        headers,
        "v2",
        known,
        mode=GenerationMode.NEGATIVE,
        examples=BAD_INPUT_EXAMPLES,
        checks=[not_a_server_error],
    )
    assert not failures, "\n\n".join(failures)
