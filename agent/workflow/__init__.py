"""The order workflow as a LangGraph graph: triage → extract → draft → notify → review (interrupt)
→ post → confirm, with the context (clients, sessions, clock) every node is handed."""
