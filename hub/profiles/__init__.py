"""Customer profiles: every stored event attached to one customer, resolved across sources.

`identity` turns an event into its identifiers (pure), `resolver` attaches pending events in
a worker after the 202, `hub.store.profiles` holds the transactions. docs/customers.md has
the rules.
"""
