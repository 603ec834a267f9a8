"""Small interfaces the application depends on; adapters implement them, tests hand-write fakes."""
