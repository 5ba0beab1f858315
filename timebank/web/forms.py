"""The web front's forms. They check shape only (required, lengths); the use cases apply the rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, Form, FormField, IntegerField, PasswordField, SelectChoice, SelectMultipleField
from wtforms.validators import EqualTo, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from timebank import passwords

EMAIL_MAX_LENGTH = 254


def email_field(*, autocomplete: str = "email") -> EmailField:
    """A required email address of at most 254 characters (``autocomplete="username"`` where one logs in)."""
    return EmailField(
        _l("Email address"),
        validators=[
            InputRequired(message=_l("Fill in your email address.")),
            Length(max=EMAIL_MAX_LENGTH, message=_l("An email address is at most 254 characters.")),
        ],
        render_kw={"autocomplete": autocomplete},
    )


def new_password_fields(
    name: str = "password",
    *,
    label=None,
    again_label=None,
    missing=None,
    missing_again=None,
    not_the_same=None,
) -> tuple[PasswordField, PasswordField]:
    """A new password and the same again, for a form's fields ``<name>`` and ``<name>_again``:
    ``password, password_again = new_password_fields()``. A page may say it in words of its own."""
    password = PasswordField(
        _l("New password") if label is None else label,
        validators=[
            InputRequired(message=_l("Choose a password.") if missing is None else missing),
            Length(max=passwords.MAX_LENGTH, message=_l("A password is at most 1024 characters.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    again = PasswordField(
        _l("The same password again") if again_label is None else again_label,
        validators=[
            InputRequired(message=_l("Type the password a second time.") if missing_again is None else missing_again),
            EqualTo(name, message=_l("The two passwords are not the same.") if not_the_same is None else not_the_same),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    return password, again


def select_choices(*pairs) -> list[SelectChoice]:
    """A select's or radio buttons' choices, from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


class CheckboxesField(SelectMultipleField):
    """Several choices as checkboxes (the template draws them in a fieldset)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class LoginForm(FlaskForm):
    email = email_field(autocomplete="username")
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


class ZeroOrMoreDurationForm(DurationForm):
    """Hours and minutes where nothing at all (zero) is a fine answer: a bound, or a time that only one choice of
    the form needs."""

    def validate(self, extra_validators=None) -> bool:
        return Form.validate(self, extra_validators)  # not DurationForm's check that it is more than zero
