"""A workflow definition drawn for people: plain text or a Mermaid state diagram."""

from __future__ import annotations

from workflow.domain.definition import WorkflowDefinition


def definition_text(d: WorkflowDefinition) -> str:
    lines = [
        f"{d.key} version {d.version}: {d.title}",
        "parties: " + ", ".join(f"{p.key} ({p.role})" for p in d.parties),
        "states:",
    ]
    for s in d.states.values():
        extra = f"  role {s.role}, SLA {s.sla_days} business days" if s.role else ""
        lines.append(f"  {s.name:<20} {s.type}{extra}")
    lines.append("transitions:")
    for t in d.transitions:
        guard = f"  when {t.when}" if t.when else f"  unless {t.unless}" if t.unless else ""
        lines.append(
            f"  {t.trigger:<16} {', '.join(t.sources)} -> {t.dest}  "
            f"by {t.actor}, records {t.records}{guard}"
        )
    return "\n".join(lines)


def definition_mermaid(d: WorkflowDefinition, current: str | None = None) -> str:
    """``current``: the state to highlight (a program's)."""
    lines = ["stateDiagram-v2", f"    [*] --> {d.initial}"]
    for t in d.transitions:
        guard = f" [{t.when}]" if t.when else f" [not {t.unless}]" if t.unless else ""
        for source in t.sources:
            lines.append(f"    {source} --> {t.dest}: {t.trigger}{guard}")
    lines += [f"    {s.name} --> [*]" for s in d.states.values() if s.type == "final"]
    if current in d.states:
        lines += ["    classDef current fill:#ffd54f,stroke:#5d4037,stroke-width:3px",
                  f"    class {current} current"]  # fmt: skip
    return "\n".join(lines)
