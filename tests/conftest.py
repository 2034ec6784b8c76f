import pytest

from .prerequisites import require_shared


@pytest.fixture
def shared_data():
    """../shared/data (CI has it beside the clone); skipped without it, a failure under CI=true."""
    return require_shared()


@pytest.fixture
def fast_kernels():
    """Run the fast kernels (nnpy.kernels) even when the suite runs in reference mode
    (NNPY_REFERENCE=1): for the tests whose subject is a fast kernel itself."""
    from nnpy.kernels import reference_mode

    with reference_mode(False):
        yield
