"""A small bookshop: Python tools whose type hints become TypeScript types (see ../../README.md)."""
