"""rnnkit.io: writing files safely.

* :mod:`rnnkit.io.atomic`: the one atomic writer (:func:`~rnnkit.io.atomic.write_atomic`,
  :func:`~rnnkit.io.atomic.atomic_open`) and the check every command runs on an output
  path before it writes (:func:`~rnnkit.io.atomic.check_output_path`);
* :mod:`rnnkit.io.lock`: the lock a process holds on a run directory while it writes it.

Nothing here imports torch.
"""

from .atomic import atomic_open, check_output_path, write_atomic
from .lock import DirectoryLock

__all__ = ["write_atomic", "atomic_open", "check_output_path", "DirectoryLock"]
