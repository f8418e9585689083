"""The Deployment controller: ``util`` (pure arithmetic) and ``controller`` (the sync)."""

from .controller import DEPLOYMENTS, DeploymentController

__all__ = ["DEPLOYMENTS", "DeploymentController"]
