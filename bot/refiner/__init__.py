"""Refiner port adapters: `offline` (the local default) and `bedrock` (Claude through Converse)."""
