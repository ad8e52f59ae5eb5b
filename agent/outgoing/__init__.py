"""Everything the agent sends: the outbox (stored intent, at-least-once delivery), the summary,
confirmation and notice emails, bounces of our own mail, reminders and the morning digest."""
