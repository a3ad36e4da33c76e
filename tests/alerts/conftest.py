from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from .support import ScriptedServer


@pytest.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    srv = ScriptedServer()
    await srv.start()
    yield srv
    await srv.stop()
