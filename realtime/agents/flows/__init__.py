"""Conversation flows: the embedded, model-free agent brain and its agent definitions.

- `schema`: what a definition is: variables, nodes, transitions, tools (YAML or JSON).
- `engine`: `FlowBrain`, which walks a definition turn by turn.
- `conditions`: whether a transition's `when` holds, and if not, why.
- `templates`: utterance templates and how variables are read.
- `tools`: the tools a flow calls, arguments validated.
- `disclosure`: the collection words nothing said before identity may hold.
- `phrases`: the engine's own words, per language.
- `llm_mode`, `guided`: a flow whose moves a model chooses while the graph decides.

Definitions are loaded by `realtime.agents.loader`; LLM-driven flows are run by
`realtime.agents.llm.flow_brain`.

May import: what `realtime.agents` may (`session` and below, `centralita`); never
`realtime.agents.llm`, `loader` or `setup` (an import-linter contract).
"""

from realtime.agents.flows.engine import FlowBrain, FlowError
from realtime.agents.flows.schema import AgentDefinition, FlowDefinitionError
from realtime.agents.flows.templates import VariableError

__all__ = [
    "AgentDefinition",
    "FlowBrain",
    "FlowDefinitionError",
    "FlowError",
    "VariableError",
]
