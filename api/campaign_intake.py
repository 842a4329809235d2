"""Reading a campaign creation request: JSON with contacts inline, or a CSV upload.

Both arrive at `POST /campaigns`; the content type decides. Size limits are enforced
before anything is parsed (413), and every CSV line that cannot become a row is
carried through as a rejected row with its number, never dropped. CSV rows travel as
`NumberedRow`s, so that every answer about them names the file's line.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import HTTPException, Request, status
from pydantic import ValidationError
from starlette.datastructures import UploadFile  # what request.form() yields

from api.csv_contacts import CsvError, CsvTooLargeError, numbered_rows, read_contacts_csv
from api.schemas import CampaignCreate
from centralita.kernel.settings import Settings

_FORM_FIELDS = ("name", "timezone", "default_region", "start")

# Documented by hand: the route reads the body itself to accept two content types.
OPENAPI_REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/CampaignCreate"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["name", "file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": "CSV"},
                        "name": {"type": "string"},
                        "timezone": {"type": "string"},
                        "default_region": {"type": "string"},
                        "start": {"type": "boolean"},
                        "policy": {"type": "string", "description": "CampaignPolicy as JSON"},
                    },
                }
            },
        },
    }
}


def _too_large(what: str) -> HTTPException:
    return HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, detail=what)


def _unprocessable(detail: Any) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=detail)


async def read_campaign_request(request: Request, settings: Settings) -> CampaignCreate:
    """Parse either content type into one `CampaignCreate`.

    Raises:
        HTTPException: 413 too large, 415 other content type, 422 malformed.
    """
    # The whole body is bounded before this reads it (`max_body_size` on the campaigns
    # router: max_upload_bytes and room for a multipart envelope, api/limits.py); here
    # the JSON itself and the CSV file get their own, clearer checks.
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        body = await request.body()
        if len(body) > settings.max_upload_bytes:
            raise _too_large(
                f"the request is over the limit of {settings.max_upload_bytes} bytes "
                "(max_upload_bytes)"
            )
        try:
            campaign = CampaignCreate.model_validate_json(body)
        except ValidationError as exc:
            raise _unprocessable(
                exc.errors(include_url=False, include_context=False, include_input=False)
            ) from exc
    elif content_type == "multipart/form-data":
        campaign = await _read_multipart(request, settings)
    else:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            detail="send application/json, or multipart/form-data with a CSV `file`",
        )
    if len(campaign.contacts) > settings.max_contacts_per_campaign:
        raise _too_large(f"more than {settings.max_contacts_per_campaign} contacts")
    return campaign


async def _read_multipart(request: Request, settings: Settings) -> CampaignCreate:
    form = await request.form(max_files=1, max_fields=len(_FORM_FIELDS) + 2)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise _unprocessable("multipart upload needs a CSV file in the `file` field")
    data = await upload.read(settings.max_upload_bytes + 1)
    fields: dict[str, Any] = {k: form[k] for k in _FORM_FIELDS if isinstance(form.get(k), str)}
    policy = form.get("policy")
    if isinstance(policy, str) and policy.strip():
        try:
            fields["policy"] = json.loads(policy)
        except json.JSONDecodeError as exc:
            raise _unprocessable(f"`policy` is not JSON: {exc}") from exc
    return campaign_from_csv(data, fields, settings)


def campaign_from_csv(data: bytes, fields: dict[str, Any], settings: Settings) -> CampaignCreate:
    """A CSV file and the other fields of a campaign (name, policy as a dict, ...) as one
    `CampaignCreate`, its rows numbered by their line in the file.

    Shared by the multipart upload and the MCP tool `create_campaign_from_csv`, so both
    refuse and number rows the same way.

    Raises:
        HTTPException: 413 over the size or row limit, 422 unreadable or malformed.
    """
    if len(data) > settings.max_upload_bytes:
        raise _too_large(
            f"the CSV file is over the limit of {settings.max_upload_bytes} bytes "
            "(max_upload_bytes); split it into several campaigns"
        )
    try:
        records = read_contacts_csv(data, max_rows=settings.max_contacts_per_campaign)
    except CsvTooLargeError as exc:
        raise _too_large(str(exc)) from exc
    except CsvError as exc:
        raise _unprocessable(f"unreadable CSV: {exc}") from exc
    try:
        return CampaignCreate.model_validate({**fields, "contacts": numbered_rows(records)})
    except ValidationError as exc:
        raise _unprocessable(
            exc.errors(include_url=False, include_context=False, include_input=False)
        ) from exc
