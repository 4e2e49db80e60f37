"""Select boxes whose options are written in Python instead of one template include per option.

Django renders each `<option>` of a select through two template includes (select_option.html, attrs.html): about
0.1 ms of CPU an option, so a list of every user of an organisation (hundreds) cost the eDiscovery and legal-hold
pages more than everything else on them (benchmarks/page_cpu.py). These widgets write the same HTML, byte for byte
(tests/portal/test_widgets.py compares them with Django's), with conditional_escape.
"""

from collections.abc import Iterable

from django import forms
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe


def attributes(attrs: dict) -> str:
    """The attributes as Django's attrs.html writes them: ` name="value"`, ` name` for True, nothing for False."""
    return "".join(
        f" {conditional_escape(name)}" + ("" if value is True else f'="{conditional_escape(value)}"')
        for name, value in attrs.items()
        if value is not False
    )


def options(choices: Iterable[tuple], selected: set[str]) -> SafeString:
    """`<option>`s of (value, label) pairs, those whose value (as text) is in `selected` selected."""
    return mark_safe(
        "".join(
            f'<option value="{conditional_escape(value)}"{" selected" if str(value) in selected else ""}>'
            f"{conditional_escape(label)}</option>"
            for value, label in choices
        )
    )


class FastOptionsMixin:
    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        html = [f'<select name="{conditional_escape(widget["name"])}"{attributes(widget["attrs"])}>']
        for group_name, group, _index in widget["optgroups"]:
            if group_name:
                html.append(f'\n  <optgroup label="{conditional_escape(group_name)}">')
            for option in group:
                html.append(
                    f'\n  <option value="{conditional_escape(option["value"])}"{attributes(option["attrs"])}>'
                    f"{conditional_escape(option['label'])}</option>\n"  # select_option.html ends with a newline
                )
            if group_name:
                html.append("\n  </optgroup>")
        html.append("\n</select>")
        return mark_safe("".join(html).strip())  # as Django's template renderer strips


class FastSelect(FastOptionsMixin, forms.Select):
    pass


class FastSelectMultiple(FastOptionsMixin, forms.SelectMultiple):
    pass
