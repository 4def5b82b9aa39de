"""The HTTP API's one route table: the dispatcher (`handle`), the routes `infra/api.py` declares (and so the
embedded gateway serves) and the OpenAPI document (`workers/api/openapi.py`) all read `ROUTES`, so a route
added here exists everywhere at once.

Besides each route, every path gets an `ANY` route: API Gateway prefers the route with the method, so
`ANY` catches only the methods the path does not have, and the function answers them 405 with `Allow`
(API Gateway alone would say 404). Preflight `OPTIONS` never reaches the function: API Gateway's CORS
configuration answers it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import BaseModel

from models.api import (
    BookcaseCreated,
    CatalogBooks,
    CreateBookcaseRequest,
    CreateJobRequest,
    ErrorBody,
    JobCreated,
    JobDeleted,
    JobList,
    JobView,
    ReviewRequest,
)
from workers.api.bookcases import create_bookcase
from workers.api.logic import (
    MAX_PAGE,
    MAX_SEARCH_RESULTS,
    ApiDeps,
    ApiError,
    ApiRequest,
    ApiResponse,
    create_job,
    delete_job,
    error,
    export_job,
    get_job,
    list_jobs,
    review_books,
    search_catalog,
)
from workers.common.exports import EXPORT_FORMATS

ANY = "ANY"


@dataclass(frozen=True)
class Param:
    """A query or path parameter, as OpenAPI describes it."""

    name: str
    where: str  # query | path
    description: str
    schema: dict = field(default_factory=lambda: {"type": "string"})
    required: bool = False


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    operation: Callable[[ApiRequest, ApiDeps], ApiResponse]
    summary: str
    responses: dict[int, tuple[str, type[BaseModel] | None]]
    request_body: type[BaseModel] | None = None
    params: tuple[Param, ...] = ()
    caller_auth: bool = True
    """False: anyone may call it (the API's own description); no authorizer, no API key."""
    job_token: bool = False
    """The job's own token opens it (Authorization: Bearer, X-Job-Token or ?token=)."""

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def operation_id(self) -> str:
        return self.operation.__name__


def serve_openapi(request: ApiRequest, deps: ApiDeps) -> ApiResponse:
    from workers.api.openapi import openapi_document  # only this route pays for building it

    return ApiResponse(200, openapi_document(), {"Cache-Control": "public, max-age=300"})


JOB_ID = Param("id", "path", "The job's id, as POST /jobs returned it", {"type": "string"}, required=True)

UNAUTHORIZED = (401, ("The stack's API key or JWT is missing or wrong", ErrorBody))

ROUTES: tuple[Route, ...] = (
    Route(
        "POST",
        "/jobs",
        create_job,
        "Create a job: its id, its token (once) and the presigned POST that uploads its photo",
        {
            201: ("The job, waiting for its upload", JobCreated),
            400: ("The body is not a JSON object of the request's shape", ErrorBody),
            UNAUTHORIZED[0]: UNAUTHORIZED[1],
            409: ("The new job's id already exists; retry", ErrorBody),
            413: ("The body is larger than 4 KB", ErrorBody),
        },
        request_body=CreateJobRequest,
    ),
    Route(
        "GET",
        "/jobs",
        list_jobs,
        "The caller's jobs, newest first, a page at a time",
        {
            200: ("A page of jobs", JobList),
            400: ("A bad limit or cursor", ErrorBody),
            UNAUTHORIZED[0]: UNAUTHORIZED[1],
        },
        params=(
            Param("limit", "query", "Jobs per page", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}),
            Param("cursor", "query", "next_cursor of the previous page"),
        ),
    ),
    Route(
        "GET",
        "/jobs/{id}",
        get_job,
        "A job's status, stage times, cost, error and, once it ended, its books",
        {
            200: ("The job", JobView),
            400: ("Not a job id", ErrorBody),
            401: ("No job token (or, for the stack's API key or JWT, a wrong one)", ErrorBody),
            403: ("The token does not open this job", ErrorBody),
            404: ("No such job", ErrorBody),
        },
        params=(JOB_ID,),
        job_token=True,
    ),
    Route(
        "DELETE",
        "/jobs/{id}",
        delete_job,
        "Delete a job: its record, its upload and its results; asked again, the same answer",
        {
            200: ("The job is gone", JobDeleted),
            400: ("Not a job id", ErrorBody),
            401: ("No job token (or, for the stack's API key or JWT, a wrong one)", ErrorBody),
            403: ("The token does not open this job", ErrorBody),
            404: ("No such job, nor one deleted", ErrorBody),
        },
        params=(JOB_ID,),
        job_token=True,
    ),
    Route(
        "PATCH",
        "/jobs/{id}/books",
        review_books,
        "Review a finished job's books: confirm one, replace it by a catalog book, or say it is not there",
        {
            200: ("The job, its result as reviewed", JobView),
            400: ("A review that does not fit the job's result, or a body not of the request's shape", ErrorBody),
            401: ("No job token (or, for the stack's API key or JWT, a wrong one)", ErrorBody),
            403: ("The token does not open this job, or the caller is not its owner", ErrorBody),
            404: ("No such job", ErrorBody),
            409: ("The job has no books yet, or another review landed meanwhile", ErrorBody),
            413: ("The body is larger than 64 KB", ErrorBody),
        },
        request_body=ReviewRequest,
        params=(JOB_ID,),
        job_token=True,
    ),
    Route(
        "GET",
        "/jobs/{id}/export",
        export_job,
        "A finished job's books, as reviewed, as a file another book tool imports",
        {
            200: ("The file (CSV or JSON); X-BookImg-Without-Isbn counts the books it names without an ISBN", None),
            400: ("A missing or unknown format", ErrorBody),
            401: ("No job token (or, for the stack's API key or JWT, a wrong one)", ErrorBody),
            403: ("The token does not open this job", ErrorBody),
            404: ("No such job", ErrorBody),
            409: ("The job has no result yet", ErrorBody),
        },
        params=(JOB_ID, Param("format", "query", "goodreads, librarything, libib, csv or json",
                              {"type": "string", "enum": list(EXPORT_FORMATS)}, required=True)),
        job_token=True,
    ),
    Route(
        "POST",
        "/bookcases",
        create_bookcase,
        "Create a bookcase: several photos, left to right, as one job whose result merges their books",
        {
            201: ("The bookcase and a job per photo, each with the presigned POST that uploads it", BookcaseCreated),
            400: ("The body is not a JSON object of the request's shape", ErrorBody),
            UNAUTHORIZED[0]: UNAUTHORIZED[1],
            409: ("A new job's id already exists; retry", ErrorBody),
            413: ("The body is larger than 16 KB", ErrorBody),
        },
        request_body=CreateBookcaseRequest,
    ),
    Route(
        "GET",
        "/catalog/books",
        search_catalog,
        "Search the stack's catalog (title, author, ISBN or call number), to replace a book in review",
        {
            200: ("The catalog's books, best first", CatalogBooks),
            400: ("A query shorter than 2 or longer than 200 characters, or a bad limit", ErrorBody),
            UNAUTHORIZED[0]: UNAUTHORIZED[1],
            503: ("The stack has no catalog to search", ErrorBody),
        },
        params=(
            Param("q", "query", "Words of the title or author, an ISBN or a call number",
                  {"type": "string", "minLength": 2, "maxLength": 200}, required=True),
            Param("limit", "query", "Books at most",
                  {"type": "integer", "minimum": 1, "maximum": MAX_SEARCH_RESULTS}),
        ),
    ),
    Route(
        "GET",
        "/openapi.json",
        serve_openapi,
        "This API's OpenAPI 3.1 description",
        {200: ("The OpenAPI document", None)},
        caller_auth=False,
    ),
)
"""Every route of the HTTP API. A path parameter named in a path must be described in `params`."""


def paths() -> dict[str, tuple[str, ...]]:
    """Each path with the methods it has, in table order."""
    found: dict[str, tuple[str, ...]] = {}
    for route in ROUTES:
        found[route.path] = (*found.get(route.path, ()), route.method)
    return found


def method_not_allowed_key(path: str) -> str:
    return f"{ANY} {path}"


def route_keys() -> tuple[str, ...]:
    """What API Gateway is given: each route, then each path's `ANY` (405) route."""
    return (*(route.key for route in ROUTES), *(method_not_allowed_key(path) for path in paths()))


_BY_KEY = {route.key: route for route in ROUTES}


def allow_header(path: str) -> str:
    return ", ".join(paths().get(path, ()))


def handle(route_key: str, request: ApiRequest, deps: ApiDeps) -> ApiResponse:
    """Dispatch on API Gateway's route key (`GET /jobs/{id}`); errors become JSON `{message}`."""
    method, _, template = route_key.partition(" ")
    if method == ANY and template in paths():
        return ApiResponse(
            405, {"message": f"{request.method} is not allowed here"}, {"Allow": allow_header(template)}
        )
    route = _BY_KEY.get(route_key)
    if route is None:
        return error(404, "Not Found")
    try:
        return route.operation(request, deps)
    except ApiError as exc:
        return error(exc.status, exc.message)
