"""The built-in tasks' declarations (one module each), until each task has its folder."""
