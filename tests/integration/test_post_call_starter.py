"""Inbound calls get their post-call workflow from the media worker, once, or a log line."""

from __future__ import annotations

import uuid

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from workers.post_call_starter import PostCallStarter
from workflows.post_call import post_call_workflow_id

pytestmark = pytest.mark.integration


async def test_an_inbound_calls_workflow_is_started_once(dev_env: WorkflowEnvironment) -> None:
    connects = 0

    async def connect() -> Client:
        nonlocal connects
        connects += 1
        return dev_env.client

    queue = f"post-call-inbound-{uuid.uuid4().hex[:8]}"
    starter = PostCallStarter(connect, queue)
    key = f"inbound-{uuid.uuid4().hex[:8]}"
    assert await starter.start(key)
    assert await starter.start(key)  # a retried store: the same workflow, not a second
    described = await dev_env.client.get_workflow_handle(post_call_workflow_id(key)).describe()
    assert described.task_queue == queue
    assert described.workflow_type == "PostCallWorkflow"
    assert connects == 1  # one client for every call
    await dev_env.client.get_workflow_handle(post_call_workflow_id(key)).terminate("test over")


async def test_an_unreachable_temporal_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def connect() -> Client:
        return await Client.connect("127.0.0.1:1")  # nothing listens there

    starter = PostCallStarter(connect, "post-call")
    assert not await starter.start("inbound-lost")
    assert "inbound-lost" in caplog.text
