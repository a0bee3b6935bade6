"""cxhub's built-in plugins: one sub-package per integration, each registered through the
`cxhub.plugins` entry point exactly like a third-party plugin."""
