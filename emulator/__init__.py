"""Local Azure Site Recovery (A2A) ARM endpoint over HTTPS for tests, the demo and benchmarks. Not deployed."""
