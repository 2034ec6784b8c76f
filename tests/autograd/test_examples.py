"""The examples run and do what they say (the function fit on a short schedule)."""
from tests.plugins import load_plugin


def test_newton_iterates_are_newtons_and_reach_one():
    newton = load_plugin("newton.py")
    xs = newton.newton()
    for a, b in zip(xs, xs[1:]):          # x − f'/f'' with f' = 4x³ − 4x, f'' = 12x² − 4
        assert abs(b - (a - (4 * a ** 3 - 4 * a) / (12 * a ** 2 - 4))) < 1e-15
    assert abs(xs[7] - 1.0) < 1e-15 and abs(xs[6] - 1.0) > 1e-13


def test_fit_function_learns_on_a_short_schedule():
    """The full 15,000 steps reach a test MSE of 1.6e-4 (README); 2,000 already reach < 0.05
    (the targets have variance ≈ 1)."""
    fit = load_plugin("fit_function.py")
    assert fit.main(steps=2000) < 0.05
