"""cxhub's benchmark harness: `python -m bench [--quick]`. See bench/README.md."""
