"""Pictures of what a model computes (``deepgrad.viz``): :func:`graph` draws the
recorded graph, with the gradient norms of a backward pass, as SVG."""
from .graph import Graph, graph

__all__ = ["Graph", "graph"]
