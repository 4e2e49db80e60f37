"""axe-core in the browser tests: WCAG 2.1 A/AA (and best-practice) checks of the page a Playwright `page` shows.

axe-core comes from the npm registry (package.json, installed by `make test` / `make js`); it is never served to
users. It is injected into every document of a browser context before the page's own scripts run (a DevTools
init script, which the portal's strict Content Security Policy does not block and need not be relaxed for).
"""

from pathlib import Path

AXE_JS = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.1 A and AA, and axe's best practices (one main landmark, all content in landmarks, heading order, table
# headers with text, ...), which a screen reader user relies on as much.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]

RUN_AXE = """async (tags) => {
  const results = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
  return results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map((node) => {
      const contrast = node.any.map((check) => check.data).find((data) => data && data.contrastRatio);
      const why = contrast ? ` [${contrast.fgColor} on ${contrast.bgColor}: ${contrast.contrastRatio}:1,`
        + ` needs ${contrast.expectedContrastRatio}]` : "";
      return node.target.join(" ") + why;
    }),
  }));
}"""


def with_axe(context, axe_script: str) -> None:
    """Every document this context loads from now on has `window.axe`."""
    context.add_init_script(script=axe_script)


def axe_violations(page, tags=AXE_TAGS) -> list[dict]:
    """The violations axe-core finds in the page as it is now: [{id, impact, help, targets: [selector]}]."""
    return page.evaluate(RUN_AXE, tags)


def describe(found: dict[str, list[dict]]) -> str:
    """One line per violated rule per page: where, the rule, its impact, how many elements, which ones."""
    lines = []
    for where, violations in found.items():
        for v in violations:
            shown = ", ".join(v["targets"][:6]) + (f" … (+{len(v['targets']) - 6})" if len(v["targets"]) > 6 else "")
            lines.append(f"{where}: {v['id']} ({v['impact']}, {len(v['targets'])}×) {v['help']}: {shown}")
    return "\n".join(lines)
