"""``python -m tests.ingest.slowingest ARGS``: the real ``mvkl ingest`` CLI in a process of its own,
held after each journal commit for as long as the file ``$MVKL_TEST_GATE`` exists, so that a test
can start a second run while the first is certainly in the middle of its work, and then let the
first one finish by removing the file."""

from __future__ import annotations

import os
import time
from typing import Any

from mvkl.ingest.writer import WorkDir

_real_commit = WorkDir.commit


def _held_commit(self: WorkDir, entry: dict[str, Any], pixels: Any) -> None:
    _real_commit(self, entry, pixels)
    gate = os.environ.get("MVKL_TEST_GATE", "")
    deadline = time.monotonic() + 300
    while gate and os.path.exists(gate) and time.monotonic() < deadline:
        time.sleep(0.02)


WorkDir.commit = _held_commit  # type: ignore[method-assign]

if __name__ == "__main__":
    from mvkl.cli.main import run

    run()
