"""The fast select widgets write exactly the HTML Django's own do: a page cannot tell them apart."""

import pytest
from django import forms

from portal.models import Organisation
from portal.widgets import FastSelect, FastSelectMultiple, options
from tests.factories import make_org

CHOICES = [
    ("", "All"),
    (1, "Ann <ann@example.com>"),
    ("b&c", 'Quote " and ampersand &'),
    ("Group & co", [(10, "ten"), (11, "eleven")]),
    (12, "twelve"),
]


def pair(stock, fast, **kwargs):
    class Stock(forms.Form):
        field = stock(**kwargs)

    class Fast(forms.Form):
        field = stock(**kwargs)

    Fast.base_fields["field"].widget = fast(attrs=Fast.base_fields["field"].widget.attrs)
    Fast.base_fields["field"].widget.choices = Fast.base_fields["field"].choices
    return Stock, Fast


@pytest.mark.parametrize(
    "field, fast, data",
    [
        (forms.ChoiceField, FastSelect, {"field": "b&c"}),
        (forms.ChoiceField, FastSelect, {"field": "11"}),
        (forms.ChoiceField, FastSelect, None),
        (forms.MultipleChoiceField, FastSelectMultiple, {"field": ["1", "10", "12"]}),
        (forms.MultipleChoiceField, FastSelectMultiple, None),
    ],
)
def test_the_same_html_as_djangos_select(field, fast, data):
    stock_form, fast_form = pair(field, fast, choices=CHOICES, required=False)
    stock_form.base_fields["field"].widget.attrs.update(size=4, disabled=False, autofocus=True)
    fast_form.base_fields["field"].widget.attrs.update(size=4, disabled=False, autofocus=True)
    stock, quick = str(stock_form(data)["field"]), str(fast_form(data)["field"])
    assert quick == stock
    assert "&lt;ann@example.com&gt;" in quick and "b&amp;c" in quick and "selected" in quick or data is None


@pytest.mark.django_db
def test_the_same_html_for_a_model_choice():
    orgs = [make_org(name) for name in ("Acme & Sons", "Maple <Health>")]

    class Stock(forms.Form):
        organisation = forms.ModelChoiceField(queryset=Organisation.objects.order_by("name"), empty_label="All")

    class Fast(forms.Form):
        organisation = forms.ModelChoiceField(
            queryset=Organisation.objects.order_by("name"), empty_label="All", widget=FastSelect
        )

    data = {"organisation": str(orgs[1].pk)}
    assert str(Fast(data)["organisation"]) == str(Stock(data)["organisation"])


def test_options_escape_and_select():
    html = options([(1, "A <b>"), ("x", "Y")], {"1"})
    assert html == '<option value="1" selected>A &lt;b&gt;</option><option value="x">Y</option>'


def test_a_portal_forms_selects_render_as_djangos_and_the_class_fields_stay_untouched():
    from portal.forms import PortalForm

    fields = {
        "one": forms.ChoiceField(choices=CHOICES, required=False),
        "many": forms.MultipleChoiceField(choices=CHOICES, required=False),
    }
    Portal = type("Portal", (PortalForm,), dict(fields))
    Plain = type("Plain", (forms.Form,), {name: field for name, field in fields.items()})
    data = {"one": "b&c", "many": ["10", "12"]}
    portal, plain = Portal(data), Plain(data, label_suffix="")
    assert str(portal["one"]) == str(plain["one"]) and str(portal["many"]) == str(plain["many"])
    assert type(portal.fields["one"].widget) is FastSelect and type(portal.fields["many"].widget) is FastSelectMultiple
    # The swap is the form's own copy: the class's fields (and any other form sharing them) keep Django's widgets.
    assert type(Portal.base_fields["one"].widget) is forms.Select
    assert type(Portal.base_fields["many"].widget) is forms.SelectMultiple
