import pytest

from .prerequisites import require_shared


@pytest.fixture
def shared_data():
    """../shared/data (CI has it beside the clone); skipped without it, a failure under CI=true."""
    return require_shared()
