"""Google's list paging (AIP-158): page_size (0: the API's default), an opaque page_token, and
next_page_token empty on the last page, which is where the clients' pagers stop."""
from __future__ import annotations

import base64
import binascii
import json

from labkit.cloud.gcp import errors


def page(items: list, page_size: int, page_token: str, *, default: int = 100, maximum: int = 1000
         ) -> tuple[list, str]:
    if page_size < 0:
        raise errors.InvalidArgument("The page size must not be negative.")  # assumed wording
    start = 0
    if page_token:
        try:
            start = int(json.loads(base64.urlsafe_b64decode(page_token.encode()))["offset"])
        except (ValueError, TypeError, KeyError, binascii.Error):
            raise errors.InvalidArgument("The page token is invalid.") from None  # assumed wording
    end = start + min(page_size or default, maximum)
    token = base64.urlsafe_b64encode(json.dumps({"offset": end}).encode()).decode() if end < len(items) else ""
    return items[start:end], token
