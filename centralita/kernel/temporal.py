"""The one place a Temporal client is built: data converter and tracing are set here only.

Every payload is encrypted with the settings' key ring (`centralita.kernel.payload_codec`).
"""

from __future__ import annotations

from temporalio.client import Client, Plugin
from temporalio.contrib.opentelemetry import OpenTelemetryPlugin

from centralita.kernel.payload_codec import data_converter_for, process_key_ring
from centralita.kernel.settings import Settings
from centralita.kernel.telemetry import replay_safe_provider


async def connect_temporal(settings: Settings, *, address: str | None = None) -> Client:
    """Connect to the configured (or embedded) Temporal frontend.

    Workers built from this client inherit its converter and plugins, so workflows,
    activities, the API and tests all speak Pydantic models, encrypt every payload with
    the settings' key ring and carry trace context.

    Args:
        settings: where Temporal is and which namespace to use.
        address: override the address (tests point this at their own server).
    """
    return await Client.connect(
        address or settings.effective_temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter_for(settings.key_ring()),
        plugins=temporal_plugins(),
    )


# Test environments (`WorkflowEnvironment.start_*`), test worker processes and the
# benchmark build their own clients: they take these two so that they run with exactly
# what production runs. The ring is this process's settings' (read on first use, never
# at import); tests/conftest.py gives every process of the tests the same one.
DATA_CONVERTER = data_converter_for(process_key_ring)


def temporal_plugins() -> list[Plugin]:
    """The client plugins every Centralita client carries (tracing).

    The plugin is a worker plugin too: every `Worker` built on the client gets its
    interceptors. With `add_temporal_spans` each start and run of a workflow, child and
    activity is a span (`StartWorkflow:CampaignWorkflow`, `RunWorkflow:...`,
    `RunActivity:place_call`...), so a call's trace shows the whole chain from the API's
    request, not only the spans our own code makes; without it the plugin would only
    carry the context in headers.
    """
    replay_safe_provider()  # the plugin needs one installed before any worker starts
    return [OpenTelemetryPlugin(add_temporal_spans=True)]
