"""The order workflow, compiled in one place.

triage → extract → draft → notify_rep → review (interrupt) → post_erp → confirm
                              ↑             ↑   ↘ reject   │
                              └ apply_edits ┘              └─ ERP refused/unavailable: back to review
"""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Checkpointer, Command

from mailorder.agent.workflow import routing
from mailorder.agent.workflow.context import Services
from mailorder.agent.workflow.nodes.apply_edits import edit_node
from mailorder.agent.workflow.nodes.confirm import confirm_node
from mailorder.agent.workflow.nodes.draft import draft_node
from mailorder.agent.workflow.nodes.extract import extract_node
from mailorder.agent.workflow.nodes.notify import notify_node
from mailorder.agent.workflow.nodes.post import post_node
from mailorder.agent.workflow.nodes.reject import reject_node
from mailorder.agent.workflow.nodes.review import review_node
from mailorder.agent.workflow.nodes.triage import triage_node
from mailorder.agent.workflow.state import InputState, State

OrderGraph = CompiledStateGraph[State, Services, InputState, State]


def build_graph(checkpointer: Checkpointer = None) -> OrderGraph:
    graph = StateGraph(State, context_schema=Services, input_schema=InputState)
    graph.add_node("triage", triage_node)
    graph.add_node("extract", extract_node)
    graph.add_node("draft", draft_node)
    graph.add_node("notify_rep", notify_node)
    graph.add_node("review", review_node)
    graph.add_node("post_erp", post_node)
    graph.add_node("reject", reject_node)
    graph.add_node("apply_edits", edit_node)
    graph.add_node("confirm", confirm_node)

    graph.add_edge(START, "triage")
    graph.add_conditional_edges("triage", routing.after_triage)
    graph.add_edge("extract", "draft")
    graph.add_edge("draft", "notify_rep")
    graph.add_edge("notify_rep", "review")
    graph.add_conditional_edges("review", routing.after_review)
    graph.add_conditional_edges("apply_edits", routing.after_edits)
    graph.add_conditional_edges("post_erp", routing.after_post)
    graph.add_edge("reject", END)
    graph.add_edge("confirm", END)
    return graph.compile(checkpointer=checkpointer)


def thread_config(email_id: int) -> RunnableConfig:
    return {"configurable": {"thread_id": f"email-{email_id}"}}


async def run_thread(
    graph: OrderGraph, services: Services, email_id: int, payload: InputState | Command[Any] | None
) -> None:
    """Run (or resume, with a Command or None) one email's thread until it ends or interrupts.

    Durability "sync": every step's checkpoint is written before the next step starts. LangGraph's
    default ("async") writes them in the background, so a crash could lose a thread's checkpoints
    although its side effects (draft row, outbox row) are stored, and recovery would find nothing
    to resume; with "sync" each step boundary is a durable restart point."""
    await graph.ainvoke(payload, thread_config(email_id), context=services, durability="sync")
