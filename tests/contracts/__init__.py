"""Contracts every adapter of a port must keep, written once and run against each adapter.

A contract is a class named ``...Contract`` (pytest does not collect it); a test module subclasses it as
``Test...`` and provides the fixture the contract asks for. The unit tier runs them on the in-memory
adapters, the integration tier on Azurite.
"""
