"""Reading an order email: triage, the deterministic extractor, the model path (tool-calling agent,
prompts, rate limits), and aliases learned from reps' corrections."""
