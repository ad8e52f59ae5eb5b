"""A rep's reply to a summary: match it to its draft, authorise it, read the decision and edits,
and resume the draft's thread. The wire formats (subject tag, edit block) live in `wire`."""
