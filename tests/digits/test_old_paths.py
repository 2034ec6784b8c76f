"""The modules that moved into nnpy.digits (and next to their users) still import from their
old paths, giving the very same objects: users and old READMEs import ``nnpy.data.digits``,
``nnpy.serve``, ``from nnpy.data import to_mnist``."""
import importlib
import subprocess
import sys

import pytest

MOVED = {
    "nnpy.data.digits": "nnpy.digits.preprocess",
    "nnpy.data.segment": "nnpy.digits.segment",
    "nnpy.data.cutpaths": "nnpy.digits.cutpaths",
    "nnpy.data.components": "nnpy.digits.components",
    "nnpy.engine.demo": "nnpy.digits.reader",
    "nnpy.viz.explain": "nnpy.digits.explain",
    "nnpy.serve": "nnpy.digits.server",
    "nnpy.serve.server": "nnpy.digits.server",
    "nnpy.serve.http": "nnpy.localweb",
    "nnpy.data.batch_part": "nnpy.engine.parallel.batch_part",
    "nnpy.data.progress": "nnpy.terminal",
    "nnpy.engine.terminal": "nnpy.terminal",
}


@pytest.mark.parametrize("old, new", MOVED.items())
def test_old_module_gives_the_new_modules_objects(old, new):
    old_module, new_module = importlib.import_module(old), importlib.import_module(new)
    assert old_module.__all__, old
    for name in old_module.__all__:
        assert getattr(old_module, name) is getattr(new_module, name), f"{old}.{name}"


def test_old_names_of_nnpy_data_are_the_digit_readers():
    import nnpy.data
    import nnpy.digits
    from nnpy.data import load_digit, segment_row, to_mnist
    from nnpy.data.images import load_digit as load_digit_from_images

    assert (load_digit, segment_row, to_mnist) == (nnpy.digits.load_digit, nnpy.digits.segment_row,
                                                   nnpy.digits.to_mnist)
    assert load_digit_from_images is nnpy.digits.load_digit
    for name in nnpy.data.MOVED_TO_DIGITS:
        assert getattr(nnpy.data, name) is getattr(nnpy.digits, name)
    assert nnpy.data.digits.to_mnist is nnpy.digits.to_mnist      # the old module, as an attribute


def test_importing_the_data_package_loads_neither_the_digit_reader_nor_the_engine():
    """nnpy.digits builds on nnpy.data, not the other way round; the data loader needs the
    data-parallel batch part only when training hands it one."""
    code = ("import sys, nnpy.data; "
            "print(sorted(m for m in sys.modules if m.startswith(('nnpy.digits', 'nnpy.engine'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
