"""Progress bars for long CLI work: one tqdm bar per stage, fed by the pipeline's progress callback."""

from __future__ import annotations

import sys

from tqdm import tqdm


class TqdmProgress:
    """Callable as progress(stage, done, total); a new stage closes the previous bar."""

    def __init__(self, *, disable: bool = False) -> None:
        self.disable = disable
        self._stage: str | None = None
        self._bar: tqdm | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.disable:
            return
        if stage != self._stage:
            self.close()
            self._stage = stage
            self._bar = tqdm(total=total, desc=f"{stage:<10}", unit="file" if stage != "mail" else "msg",
                             file=sys.stderr, leave=True)
        assert self._bar is not None
        if total != self._bar.total:
            self._bar.total = total
        self._bar.n = done
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> TqdmProgress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
