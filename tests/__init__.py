"""regnas tests (a package so test modules can import shared fixtures from conftest)."""
