"""Local development host pieces (not deployed): Azurite launcher, local runner."""
