"""How an endpoint reads its request and pages its answer.

``ApiRequest`` (one /api/ call: method, path parameters, query, body) with
``Query`` (typed query parameters, 400 when malformed), and the helpers the
endpoint modules (``api``, ``api_offers``) share: ``_window`` (inclusive
date windows) and the seek paging of ST11, ST12, TL02 and SBC11
(``_encode_token``, ``_decode_token``, ``_dates_of``, ``_seek_page``).
"""

import base64
import binascii
import json
from dataclasses import dataclass

from .common import SandboxError, bad_request, parse_datetime, validation_error

MAX_LIST_VALUES = 100


@dataclass
class ApiRequest:
    """What a handler needs to know about one /api/ call."""

    method: str
    path: str
    params: dict  # path parameters, decoded
    query: "Query"
    body: bytes
    content_type: str

    def json(self):
        """The JSON body; 415 / 400 VALIDATION_ERROR when it is not one."""
        media_type = self.content_type.split(";")[0].strip().lower()
        if self.body.strip() and media_type != "application/json":
            raise SandboxError(415, "The body must be sent as application/json")
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise validation_error("The body is not valid JSON") from exc


class Query:
    """Typed access to query parameters (400 when a value is malformed)."""

    def __init__(self, raw):
        self.raw = raw  # {name: [values]}, blank values kept

    def text(self, name):
        values = self.raw.get(name)
        return values[0] if values and values[0] != "" else None

    def integer(self, name, default, minimum=None, maximum=None):
        value = self.text(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError as exc:
            raise bad_request("%s must be an integer" % name) from exc
        if minimum is not None and number < minimum:
            raise bad_request("%s must be at least %d" % (name, minimum))
        if maximum is not None and number > maximum:
            raise bad_request("%s must be at most %d" % (name, maximum))
        return number

    def boolean(self, name, default=None):
        value = self.text(name)
        if value is None:
            return default
        if value.lower() not in ("true", "false"):
            raise bad_request("%s must be true or false" % name)
        return value.lower() == "true"

    def date(self, name):
        value = self.text(name)
        if value is None:
            return None
        try:
            return parse_datetime(value)
        except ValueError as exc:
            raise bad_request("%s is not an ISO-8601 date-time" % name) from exc

    def choice(self, name, choices, default):
        value = self.text(name)
        if value is None:
            return default
        if value not in choices:
            raise bad_request("%s must be one of %s" % (name, ", ".join(choices)))
        return value

    def seek_sort(self, fields, default_field, default_direction="ASC"):
        """``sort=<field>,<ASC|DESC>`` of a seek endpoint: ``(field, desc)``;
        400 for another field or direction."""
        value = self.text("sort") or "%s,%s" % (default_field, default_direction)
        field, _sep, direction = value.partition(",")
        direction = (direction or default_direction).upper()
        if field not in fields or direction not in ("ASC", "DESC"):
            raise bad_request(
                "sort must be %s, then ,ASC or ,DESC" % " or ".join(fields)
            )
        return field, direction == "DESC"

    def csv(self, name, choices=None):
        """Comma-separated list (repeated parameters are joined), or None."""
        values = [v for v in self.raw.get(name, ()) if v != ""]
        if not values:
            return None
        items = [item.strip() for item in ",".join(values).split(",") if item.strip()]
        return self._checked_list(name, items, choices)

    def repeated(self, name):
        """Repeated parameter (``a=1&a=2``), or None."""
        items = [v for v in self.raw.get(name, ()) if v != ""]
        return self._checked_list(name, items, None) if items else None

    @staticmethod
    def _checked_list(name, items, choices):
        if len(items) > MAX_LIST_VALUES:
            raise bad_request("%s accepts at most %d values" % (name, MAX_LIST_VALUES))
        if choices is not None:
            wrong = [item for item in items if item not in choices]
            if wrong:
                raise bad_request("Unknown %s: %s" % (name, ", ".join(wrong)))
        return items


def _window(start, end, moment):
    return (start is None or moment >= start) and (end is None or moment <= end)


def _encode_token(payload):
    raw = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token):
    try:
        padded = token + "=" * (-len(token) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
        offset = payload["offset"]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise bad_request("Invalid page_token") from exc
    if not isinstance(offset, int) or offset < 0:
        raise bad_request("Invalid page_token")
    return payload


def _dates_of(seek, *keys):
    """The ISO dates ``keys`` of a seek state (None when absent); a date
    that does not parse (a forged page token) answers 400."""
    try:
        return [parse_datetime(seek[k]) if seek.get(k) else None for k in keys]
    except (ValueError, TypeError) as exc:
        raise bad_request("Invalid page_token") from exc


def _seek_page(items, seek, limit, render):
    """One seek page of ``items`` (already filtered and sorted)."""
    offset = seek["offset"]
    body = {"data": [render(item) for item in items[offset : offset + limit]]}
    if offset + limit < len(items):
        body["next_page_token"] = _encode_token(dict(seek, offset=offset + limit))
    if offset > 0:
        body["previous_page_token"] = _encode_token(
            dict(seek, offset=max(0, offset - limit))
        )
    return body
