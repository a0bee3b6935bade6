"""CX metrics (NPS, CSAT, CES, review rating, response counts), counted once per response.

    definitions  what each metric counts and how a score on any scale maps to it
    answers      the response row an event makes (the take-in stores it with the event)
    buckets      days, weeks and months in the admin's timezone; windows and their limits
    query        a metric by bucket and group, from the counts the store keeps
    rules        `alerts:` rules, compiled from the config

docs/metrics.md says why each part is the way it is.
"""
