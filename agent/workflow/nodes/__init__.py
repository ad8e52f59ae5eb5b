"""One module per graph node. Nodes take their clients from runtime.context
(agent.workflow.context.Services)."""
