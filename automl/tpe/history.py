"""The sampler's memory: one growing matrix of observed rows per group of the space.

Each trial (observed or pending) gets an integer id, in the order trials are first
recorded; a :class:`Rows` holds, for one group, the rows of the trials where that group
was active, in increasing trial id, so the trials of a group can be found with a binary
search.

Examples
--------
>>> import numpy as np
>>> rows = Rows(2)
>>> rows.append(0, np.array([0.5, 1.0]))
>>> rows.append(3, np.array([0.2, 0.0]), tag=7)
>>> rows.ids.tolist(), rows.values.tolist(), rows.tags.tolist()
([0, 3], [[0.5, 1.0], [0.2, 0.0]], [0, 7])
>>> rows.remove(0)
True
>>> rows.ids.tolist()
[3]
"""

from __future__ import annotations

import numpy as np

__all__ = ["Rows"]


class Rows:
    """A growing matrix of observations with the trial id of each row (ids increase).

    Parameters
    ----------
    width : int
        Number of columns (the group's searched parameters).
    """

    def __init__(self, width: int) -> None:
        self.n = 0
        self._ids = np.empty(16, dtype=np.int64)
        self._tags = np.empty(16, dtype=np.int64)
        self._values = np.empty((16, width))

    def append(self, trial_id: int, row: np.ndarray, tag: int = 0) -> None:
        """Add the row of a trial newer than every trial already held (``tag``: an
        integer kept with it, e.g. the row's combination of options)."""
        if self.n == len(self._ids):
            self._ids = np.concatenate([self._ids, np.empty_like(self._ids)])
            self._tags = np.concatenate([self._tags, np.empty_like(self._tags)])
            self._values = np.concatenate([self._values, np.empty_like(self._values)])
        self._ids[self.n] = trial_id
        self._tags[self.n] = tag
        self._values[self.n] = row
        self.n += 1

    def remove(self, trial_id: int) -> bool:
        """Forget the row of ``trial_id``; False if this group holds none."""
        at = int(np.searchsorted(self.ids, trial_id))
        if at == self.n or self._ids[at] != trial_id:
            return False
        for kept in (self._ids, self._tags, self._values):
            kept[at:self.n - 1] = kept[at + 1:self.n]
        self.n -= 1
        return True

    @property
    def ids(self) -> np.ndarray:
        """Trial ids of the rows, increasing."""
        return self._ids[:self.n]

    @property
    def tags(self) -> np.ndarray:
        """The integer kept with each row."""
        return self._tags[:self.n]

    @property
    def values(self) -> np.ndarray:
        """The rows, shape ``(n, width)``."""
        return self._values[:self.n]
