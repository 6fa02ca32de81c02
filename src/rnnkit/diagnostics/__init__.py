"""rnnkit.diagnostics: measuring what a recurrent model remembers (gradient flow
through time)."""

from .gradients import GradientFlow, effective_memory, gradient_flow

__all__ = ["GradientFlow", "gradient_flow", "effective_memory"]
