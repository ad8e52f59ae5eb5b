"""From the order inbox to the workflow: fetch and store each message once, claim it, classify it
(ours, a bounce, a rep's reply, or customer mail), run it, and recover what a crash interrupted."""
