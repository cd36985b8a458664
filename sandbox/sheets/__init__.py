"""A small, stateful fake of the Google Sheets v4 API and Google's OAuth token endpoint.

Served by the sandbox's own HTTP server (`/v4/spreadsheets/…`, `/token`), with control routes
and a read-only HTML view under `/_sandbox/sheets/`. See sandbox/README.md ("Google Sheets").
"""

from sandbox.sheets.api import SheetsFake

__all__ = ["SheetsFake"]
