"""rnnkit.lab: experiments that show where plain RNNs forget and gated cells remember."""

from .long_range import LabConfig, format_table, plot_results, run_lab

__all__ = ["LabConfig", "run_lab", "format_table", "plot_results"]
