"""digitscan: read handwritten digits from scanned cheques and forms, with calibrated confidences.

The library works without the CLI::

    from digitscan import ProcessOptions, process
    run = process([Path("scans/")], ProcessOptions(pdf_dpi=300))
"""

from __future__ import annotations

__version__ = "0.1.0"

from digitscan.pipeline import ProcessOptions, process
from digitscan.results import RunResult

__all__ = ["ProcessOptions", "RunResult", "__version__", "process"]
