"""TLS Workbench: see TLS handshakes, records, keys and tickets as they happen."""

__version__ = "0.1.0"


def __getattr__(name: str):
    # `from workbench import Workbench` loads the notebook front end (ipywidgets) only when asked for,
    # so importing the engine, the capture layer or the CLI stays light.
    if name == "Workbench":
        from workbench.ui import Workbench
        return Workbench
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
