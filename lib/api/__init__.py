"""The HTTP API's logic, independent of any web framework: request/response types, one handler per operation,
error mapping, who may do what, the run view and the OpenAPI document. ``functions/`` adapts it to the host."""
