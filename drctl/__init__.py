"""Break-glass CLI: drive DR workflows from a terminal with your own Azure login."""
