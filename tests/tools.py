"""The scripts of tools/ (not a package) imported as modules, and the data the shipped configs
need made first, for the tests that use them."""
import importlib.util
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[1] / "tools"


def load_tool(name: str):
    """``tools/<name>.py`` as a module."""
    spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def made_data(config: Path, folder: Path) -> list:
    """``--set`` overrides for a shipped config whose dataset a tool makes first
    (``configs/shapes.yaml``: a tiny shapes folder made in ``folder``); [] for the others."""
    if Path(config).stem != "shapes":
        return []
    load_tool("make_shapes").make_shapes(Path(folder) / "shapes", train=1, test=1, size=8)
    return [f"data.root={Path(folder) / 'shapes'}"]
