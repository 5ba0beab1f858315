"""The web front's forms. They check shape only (required, lengths); the use cases apply the rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, Form, FormField, IntegerField, PasswordField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from timebank import passwords

EMAIL_MAX_LENGTH = 254


class LoginForm(FlaskForm):
    email = EmailField(
        _l("Email address"),
        validators=[
            InputRequired(message=_l("Fill in your email address.")),
            Length(max=EMAIL_MAX_LENGTH, message=_l("An email address is at most 254 characters.")),
        ],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[
            InputRequired(message=_l("Fill in your password.")),
            Length(max=passwords.MAX_LENGTH, message=_l("A password is at most 1024 characters.")),
        ],
        render_kw={"autocomplete": "current-password"},
    )


class LogoutForm(FlaskForm):
    """Only the CSRF token: logging out changes state, so it is a POST with a token."""


class LanguageForm(FlaskForm):
    """The language switch: its CSRF token (the language itself is the button pressed)."""


class DurationForm(Form):
    """A length of time as people say it: hours and minutes, two whole numbers (never a decimal)."""

    hours = IntegerField(
        _l("Hours"),
        validators=[Optional(), NumberRange(min=0, max=999, message=_l("Between 0 and 999 hours."))],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    minutes = IntegerField(
        _l("Minutes"),
        validators=[Optional(), NumberRange(min=0, max=59, message=_l("Between 0 and 59 minutes."))],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        if self.total_minutes() <= 0:
            self.hours.errors = [*self.hours.errors, _l("Fill in how long: hours, minutes or both.")]
            return False
        return True

    def total_minutes(self) -> int:
        return (self.hours.data or 0) * 60 + (self.minutes.data or 0)


def duration_field(label) -> FormField:
    """A required length of time in a form: ``form.<name>.total_minutes()`` once it validated.

    Rendered with the ``duration`` macro of ``_forms.html``; its inputs are named ``<name>-hours`` and
    ``<name>-minutes``."""
    return FormField(DurationForm, label=label)
