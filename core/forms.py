"""Form plumbing shared by every app's pages."""

from django import forms


class FilterForm(forms.Form):
    """A GET filter of a list page: an invalid field shows its error and is ignored, the valid
    ones still apply (`values()`).

    Rendered field by field with Bootstrap's classes set here, not by django-bootstrap5, which
    would paint every field of a bound filter green."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, (forms.CheckboxInput, forms.CheckboxSelectMultiple)):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = css

    def values(self) -> dict:
        """The valid fields' values, empty ones left out."""
        self.is_valid()
        return {k: v for k, v in getattr(self, "cleaned_data", {}).items() if v not in ("", None)}
