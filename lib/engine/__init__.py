"""The durable-style workflow engine (runs, steps, checkpoints, timers) on Azure Tables and Queues."""
