"""rnnkit.diagnostics: measuring what a recurrent model remembers (gradient flow
through time, recurrent spectra, gate saturation)."""

from .gradients import GradientFlow, effective_memory, gradient_flow
from .weights import gate_saturation, recurrent_spectrum

__all__ = ["GradientFlow", "gradient_flow", "effective_memory", "recurrent_spectrum", "gate_saturation"]
