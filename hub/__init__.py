"""cxhub: vendor webhooks in, canonical customer events, routed actions out."""

__version__ = "0.1.0"
