"""The fault suite (its catalogue: CATALOGUE.md beside this file): one test per hostile input
or fault, each failing before its fix. Fixtures come from the suites the cases extend, so every
case runs against the same real sandbox and cache as the rest of the tests.
"""

from __future__ import annotations

from tests.sandbox.conftest import sb, server  # noqa: F401  (pytest fixtures)
from tests.services.conftest import (  # noqa: F401  (pytest fixtures)
    client,
    clock,
    data_dir,
    db,
    keyring,
    sandbox,
    sandbox_server,
    settings,
    settings_with,
    sleeps,
)
