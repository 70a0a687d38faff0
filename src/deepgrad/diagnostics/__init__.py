"""Diagnostics: a gradient checker for your own ops (:mod:`.gradcheck`) and a
gradient-flow monitor (:mod:`.gradient_flow`)."""
from .gradcheck import GradcheckError, gradcheck
from .gradient_flow import GradientFlowMonitor

__all__ = ["GradcheckError", "gradcheck", "GradientFlowMonitor"]
