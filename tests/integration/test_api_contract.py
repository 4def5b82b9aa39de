"""The HTTP API on the embedded stack against its own OpenAPI document: the document served at
`/openapi.json` is valid and is the one in the repository, Schemathesis drives every operation and checks
every answer conforms (status, headers, body schema, 405s for methods a path lacks), and CORS is answered
as the program configures it."""

from __future__ import annotations

import json

import httpx
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis.checks import positive_data_acceptance

from embedded.embedded_stack import DEMO_PHOTO
from models.schemas import OPENAPI_FILE, SCHEMA_DIR
from tests.integration.waiting import wait_for

MAX_EXAMPLES = 12
"""Per operation and phase: enough to reach every documented status, few enough for a busy 2-core machine."""


contract = schemathesis.openapi.from_path(SCHEMA_DIR / OPENAPI_FILE)
"""The checked-in document, which the first test shows is the one the stack serves (and which a unit test
shows is the one the models and the route table generate)."""


def test_the_served_openapi_document_is_valid_and_the_one_in_the_repository(stack):
    response = httpx.get(f"{stack.api_url}/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    document = response.json()
    validate(document)  # OpenAPI 3.1, raises on any violation
    assert document == json.loads((SCHEMA_DIR / OPENAPI_FILE).read_text())


@contract.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_answer_of_the_api_conforms_to_its_openapi_document(case, stack):
    # a cursor is valid only if the API issued it (for that caller): a made-up one is rightly a 400, though
    # no schema can tell it from a real one
    made_up_cursor = case.operation.path == "/jobs" and "cursor" in (case.query or {})
    case.call_and_validate(
        base_url=stack.api_url, excluded_checks=[positive_data_acceptance] if made_up_cursor else None
    )


def test_a_job_read_with_its_token_conforms_while_it_waits_and_once_it_has_its_books(stack):
    # Generated requests cannot know a job's token: this follows one job as a client does
    created = httpx.post(f"{stack.api_url}/jobs", json={"content_type": "image/jpeg", "filename": "shelf.jpg"})
    contract["/jobs"]["POST"].validate_response(created)
    job = created.json()
    url, token = f"{stack.api_url}/jobs/{job['job_id']}", {"X-Job-Token": job["token"]}
    waiting = httpx.get(url, headers=token)
    contract["/jobs/{id}"]["GET"].validate_response(waiting)
    assert (waiting.json()["status"], waiting.json()["result"]) == ("created", None)
    with DEMO_PHOTO.open("rb") as photo:
        upload = httpx.post(job["upload"]["url"], data=job["upload"]["fields"], files={"file": photo})
    assert upload.status_code in (200, 204), upload.text

    def finished():
        response = httpx.get(url, headers=token)
        return response if response.json()["status"] in ("completed", "failed") else None

    done = wait_for(finished, timeout_s=240)
    assert done is not None, "the job did not finish"
    contract["/jobs/{id}"]["GET"].validate_response(done)
    assert done.json()["result"]["books"]
    contract["/jobs"]["GET"].validate_response(httpx.get(f"{stack.api_url}/jobs", params={"limit": 2}))


def test_a_method_a_known_path_lacks_is_405_with_allow(stack):
    put = httpx.put(f"{stack.api_url}/jobs", json={})
    assert put.status_code == 405
    assert [m.strip() for m in put.headers["allow"].split(",")] == ["POST", "GET"]
    assert put.json()["message"]
    delete = httpx.delete(f"{stack.api_url}/openapi.json")
    assert (delete.status_code, delete.headers["allow"]) == (405, "GET")
    assert httpx.get(f"{stack.api_url}/no-such-path").status_code == 404


def test_a_web_app_on_another_origin_may_call_the_api_as_the_cors_configuration_says(stack):
    # Given a page served from some other origin (the stack allows every origin, as the cloud default does)
    origin = "http://127.0.0.1:9"
    # When its browser sends the preflight of a JSON POST
    preflight = httpx.options(
        f"{stack.api_url}/jobs",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    # Then the gateway allows it, and the POST's answer is readable by that page
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "POST" in preflight.headers["access-control-allow-methods"].split(",")
    assert "content-type" in preflight.headers["access-control-allow-headers"].split(",")
    created = httpx.post(f"{stack.api_url}/jobs", json={"content_type": "image/png"}, headers={"Origin": origin})
    assert created.status_code == 201
    assert created.headers["access-control-allow-origin"] == "*"
