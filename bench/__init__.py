"""Benchmarks against the plain libraries: `python -m bench` runs them all (see `__main__.py`);
`python -m bench.ack` (or .cold_start, .delivery, .render, .cost) runs one section."""
