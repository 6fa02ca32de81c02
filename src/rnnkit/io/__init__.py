"""rnnkit.io: writing files safely.

* :mod:`rnnkit.io.atomic`: the one atomic writer (:func:`~rnnkit.io.atomic.write_atomic`,
  :func:`~rnnkit.io.atomic.atomic_open`, :func:`~rnnkit.io.atomic.save_torch_atomic`,
  :func:`~rnnkit.io.atomic.copy_atomic`, :func:`~rnnkit.io.atomic.write_files_atomic`) and the check every command runs on an output
  path before it writes (:func:`~rnnkit.io.atomic.check_output_path`);
* :mod:`rnnkit.io.predictions`: the one prediction writer (every task's ``predict``);
* :mod:`rnnkit.io.figures`: figures as PNG files, written atomically;
* :mod:`rnnkit.io.lock`: the lock a process holds on a run directory while it writes it.

Nothing here imports torch.
"""

from .atomic import atomic_open, check_output_path, copy_atomic, save_torch_atomic, write_atomic, write_files_atomic
from .lock import DirectoryLock

__all__ = ["write_atomic", "atomic_open", "save_torch_atomic", "copy_atomic", "write_files_atomic",
           "check_output_path", "DirectoryLock"]
