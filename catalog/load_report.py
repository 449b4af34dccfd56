"""What loading a catalog file did, or would do: each provider's state and why, every
row created, updated or disabled, and the models no enabled provider serves yet."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ProviderStatus:
    name: str
    enabled: bool
    reason: str


@dataclass(frozen=True)
class Change:
    kind: str  # provider | model | deployment
    label: str
    action: str  # created | updated | disabled
    fields: tuple[str, ...] = ()


@dataclass
class LoadReport:
    providers: list[ProviderStatus] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0
    unroutable: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def count(self, action: str, kind: str | None = None) -> int:
        return sum(1 for c in self.changes if c.action == action and kind in (None, c.kind))

    def lines(self, *, verbose: bool = False) -> list[str]:
        width = max((len(p.name) for p in self.providers), default=0)
        lines = ["Providers:"]
        lines += [
            f"  {p.name:<{width}}  {'enabled ' if p.enabled else 'disabled'}  {p.reason}"
            for p in self.providers
        ]
        for change in self.changes:
            if verbose or change.action != "created":
                detail = f" ({', '.join(change.fields)})" if change.fields else ""
                lines.append(f"  {change.action} {change.kind} {change.label}{detail}")
        lines.append(
            f"{'Would change' if self.dry_run else 'Catalog'}: {self.count('created')} created, "
            f"{self.count('updated')} updated, {self.count('disabled')} disabled (pruned), "
            f"{self.unchanged} unchanged."
        )
        if self.unroutable:
            lines.append(
                f"No enabled provider yet for {len(self.unroutable)} model(s): "
                + ", ".join(self.unroutable)
            )
        if self.dry_run:
            lines.append("Dry run: nothing was saved.")
        return lines
